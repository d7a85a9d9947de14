package api

import "time"

// Blob is an uploaded input file as its project sees it.
type Blob struct {
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created_at"` // when the project uploaded it
}

// BlobList is a page of a project's blobs; NextCursor, when set, fetches
// the next page (pass it as ?cursor=).
type BlobList struct {
	Blobs      []Blob `json:"blobs"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Chunks asks the chunks splitter to cut an uploaded blob into units of
// Size lines, records (each starting at Separator; default "\n>", FASTA)
// or bytes.
type Chunks struct {
	Blob      string `json:"blob"`
	By        string `json:"by"`
	Size      int64  `json:"size"`
	Separator string `json:"separator,omitempty"`
}

// Splitters a job submission may name.
const (
	SplitterList   = "list"
	SplitterSweep  = "sweep"
	SplitterChunks = "chunks"
)

// InputRef is a unit's input kept as a range of a blob: a worker fetches
// GET /api/v1/blobs/{blob}/range?offset=&length= and checks it against SHA256.
type InputRef struct {
	Blob   string `json:"blob"`
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	SHA256 string `json:"sha256"`
}
