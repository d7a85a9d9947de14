package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func blobJSON(b store.InputBlob) api.Blob {
	return api.Blob{SHA256: b.SHA256, Size: b.Size, CreatedAt: b.CreatedAt}
}

// handleBlobUpload stores the body, of any type, as an input blob; the
// service streams it to disk, so it is never held in memory.
func (s *server) handleBlobUpload() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, created, err := s.svc.UploadBlob(r.Context(), projectOf(r).ID, r.Body)
		if err != nil {
			s.error(w, r, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		writeJSON(w, status, blobJSON(b))
	}
}

// handleBlobList lists the project's blobs in hash order; ?cursor= (the
// previous page's next_cursor) continues, ?limit=N shortens a page.
func (s *server) handleBlobList() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, err := queryLimit(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		blobs, err := s.svc.Blobs(r.Context(), projectOf(r).ID, r.URL.Query().Get("cursor"), limit)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := api.BlobList{Blobs: make([]api.Blob, len(blobs))}
		for i, b := range blobs {
			out.Blobs[i] = blobJSON(b)
		}
		if len(blobs) > 0 && len(blobs) == limit {
			out.NextCursor = blobs[len(blobs)-1].SHA256
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// handleBlobGet streams one of the project's blobs, a stored part at a time.
func (s *server) handleBlobGet() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sha := chi.URLParam(r, "sha256")
		b, content, err := s.svc.Blob(r.Context(), projectOf(r).ID, sha)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.stream(w, r, sha, b.Size, content)
	}
}

// handleBlobRange serves a host the range of a blob its task's input is.
func (s *server) handleBlobRange() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sha := chi.URLParam(r, "sha256")
		offset, err := queryInt64(r, "offset")
		if err != nil {
			s.error(w, r, err)
			return
		}
		length, err := queryInt64(r, "length")
		if err != nil {
			s.error(w, r, err)
			return
		}
		content, err := s.svc.HostBlobRange(r.Context(), hostOf(r).ID, sha, offset, length)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.stream(w, r, sha, length, content)
	}
}

// stream sends size bytes of content. Once the headers are out, a failure
// can only cut the body short, which Content-Length lets the client see.
func (s *server) stream(w http.ResponseWriter, r *http.Request, sha string, size int64, content io.Reader) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("ETag", `"`+sha+`"`)
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, content); err != nil && r.Context().Err() == nil {
		s.log.Error("streaming blob", "sha256", sha, "err", err)
	}
}

// queryInt64 reads a required non-negative integer query parameter.
func queryInt64(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, workunits.Errorf(workunits.EINVALID, "query parameter %s must be a non-negative integer, got %q", name, v)
	}
	return n, nil
}

// hashingBody makes r's body feed h as it is read, so the submission's
// hash is of exactly the bytes decoded.
func hashingBody(r *http.Request) func() string {
	h := sha256.New()
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(r.Body, h), r.Body}
	return func() string { return hex.EncodeToString(h.Sum(nil)) }
}

// splitJob expands the request's units with the splitter it names or, if
// it names none, the one whose field it gives. Chunks are cut later, by
// the service, which reads the blob.
func splitJob(req api.SubmitJobRequest) ([][]byte, *workunits.ChunkSpec, error) {
	if strings.TrimSpace(req.App) == "" {
		return nil, nil, workunits.Errorf(workunits.EINVALID, "app is required")
	}
	var given []string
	if req.Units != nil {
		given = append(given, api.SplitterList)
	}
	if req.Sweep != nil {
		given = append(given, api.SplitterSweep)
	}
	if req.Chunks != nil {
		given = append(given, api.SplitterChunks)
	}
	splitter := req.Splitter
	switch {
	case splitter != "" && splitter != api.SplitterList && splitter != api.SplitterSweep && splitter != api.SplitterChunks:
		return nil, nil, workunits.Errorf(workunits.EINVALID, "splitter must be %q, %q or %q, got %q",
			api.SplitterList, api.SplitterSweep, api.SplitterChunks, splitter)
	case len(given) == 0:
		return nil, nil, workunits.Errorf(workunits.EINVALID, "give the units: units (a list), sweep or chunks")
	case len(given) > 1:
		return nil, nil, workunits.Errorf(workunits.EINVALID, "give only one of units, sweep and chunks, got %s", strings.Join(given, " and "))
	case splitter == "":
		splitter = given[0]
	case splitter != given[0]:
		return nil, nil, workunits.Errorf(workunits.EINVALID, "splitter %q does not match the %s given", splitter, given[0])
	}
	switch splitter {
	case api.SplitterSweep:
		inputs, err := workunits.ExpandSweep(req.Sweep)
		return inputs, nil, err
	case api.SplitterChunks:
		c := req.Chunks
		return nil, &workunits.ChunkSpec{Blob: c.Blob, By: workunits.ChunkBy(c.By), Size: c.Size, Separator: c.Separator}, nil
	default:
		inputs, err := workunits.ListInputs(req.Units)
		return inputs, nil, err
	}
}

// inputRefJSON is a ref as the API shows it, nil for an inline input.
func inputRefJSON(r *workunits.InputRef) *api.InputRef {
	if r == nil {
		return nil
	}
	return &api.InputRef{Blob: r.Blob, Offset: r.Offset, Length: r.Length, SHA256: r.SHA256}
}
