package api

import "time"

// Blob is an uploaded input file as its project sees it.
type Blob struct {
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created_at"` // when the project uploaded it
}

// BlobList is a page of a project's blobs; Next, when set, is the after
// cursor of the next page.
type BlobList struct {
	Blobs []Blob `json:"blobs"`
	Next  string `json:"next,omitempty"`
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
