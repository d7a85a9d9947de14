package httpapi

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/workunits"
)

// cursor is where a listing resumes: after Pos, the last job id or unit
// seq of the page before. Clients get it as base64url (no padding) of its
// JSON and must treat it as opaque. It names the listing it was issued for
// (kind, job, state filter), so a cursor pasted into another listing is
// refused rather than silently skipping items, and it is accepted back only
// in exactly the form it was issued in.
type cursor struct {
	Kind  string `json:"k"`
	Job   int64  `json:"j,omitempty"`
	State string `json:"s,omitempty"`
	Pos   int64  `json:"p"`
}

const maxCursorLen = 256

func (c cursor) encode() string {
	b, _ := json.Marshal(c) // a struct of strings and integers always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

func badCursor(why string) error {
	return workunits.Errorf(workunits.EINVALID, "bad cursor: %s", why)
}

// decodeCursor reads raw back into a cursor for the listing want describes
// (want.Pos is ignored) and returns its position. minPos is the smallest
// position a cursor of that listing can hold.
func decodeCursor(raw string, want cursor, minPos int64) (int64, error) {
	if len(raw) > maxCursorLen {
		return 0, badCursor("too long")
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(raw)
	if err != nil {
		return 0, badCursor("not base64url")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c cursor
	if err := dec.Decode(&c); err != nil || dec.More() {
		return 0, badCursor("not one this server issued")
	}
	if c.encode() != raw {
		return 0, badCursor("not one this server issued")
	}
	if c.Kind != want.Kind || c.Job != want.Job || c.State != want.State {
		return 0, badCursor("it was issued for another listing (a different job or state filter)")
	}
	if c.Pos < minPos {
		return 0, badCursor("position out of range")
	}
	return c.Pos, nil
}

// queryLimit reads ?limit=, service.DefaultListLimit when absent.
func queryLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return service.DefaultListLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > service.MaxListLimit {
		return 0, workunits.Errorf(workunits.EINVALID, "query parameter limit must be an integer from 1 to %d, got %q", service.MaxListLimit, v)
	}
	return n, nil
}

// unitPath reads the {jobID} and {seq} of a unit path.
func unitPath(r *http.Request) (jobID int64, seq int, err error) {
	if jobID, err = pathID(r, "jobID"); err != nil {
		return 0, 0, err
	}
	seq, err = pathSeq(r)
	return jobID, seq, err
}

// pathSeq reads the {seq} of a unit path.
func pathSeq(r *http.Request) (int, error) {
	v := chi.URLParam(r, "seq")
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || strconv.Itoa(n) != v {
		return 0, workunits.Errorf(workunits.EINVALID, "seq must be a non-negative integer, got %q", v)
	}
	return n, nil
}

// rawJSON is an input as JSON: inline inputs are JSON already; an empty
// one (a unit whose input lives in a blob) is null, and anything else is
// given as a string rather than breaking the response.
func rawJSON(b []byte) json.RawMessage {
	switch {
	case len(b) == 0:
		return json.RawMessage("null")
	case json.Valid(b):
		return b
	default:
		s, _ := json.Marshal(string(b))
		return s
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// withStats adds pace, ETA and the latest failures to a job's progress.
func withStats(p *api.Progress, st service.ProgressStats) {
	p.UnitsPerHour, p.UnitsPerHourLifetime = st.Pace.LastHour, st.Pace.Lifetime
	if st.Pace.KnownETA {
		secs := int64(st.Pace.ETA / time.Second)
		p.ETASeconds = &secs
	}
	p.Errors = make([]api.TaskError, len(st.RecentErrors))
	for i, e := range st.RecentErrors {
		p.Errors[i] = api.TaskError{TaskID: e.TaskID, Seq: e.UnitSeq, HostID: e.HostID, ReceivedAt: e.ReceivedAt, Stderr: e.Stderr}
	}
}

// handleJobList lists the project's jobs, newest first: ?state= filters,
// ?limit= sizes the page, ?cursor= (a next_cursor) continues.
func (s *server) handleJobList() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, err := queryLimit(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		q := r.URL.Query()
		req := service.JobListRequest{State: workunits.JobState(q.Get("state")), Limit: limit}
		want := cursor{Kind: "jobs", State: q.Get("state")}
		if raw := q.Get("cursor"); raw != "" {
			if req.BeforeID, err = decodeCursor(raw, want, 2); err != nil {
				s.error(w, r, err)
				return
			}
		}
		page, err := s.svc.JobList(r.Context(), projectOf(r).ID, req)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := api.JobPage{Jobs: make([]api.Job, len(page.Jobs))}
		for i, j := range page.Jobs {
			out.Jobs[i] = jobJSON(j, nil, page.Escrows[j.ID])
		}
		if page.More {
			want.Pos = page.Jobs[len(page.Jobs)-1].ID
			out.NextCursor = want.encode()
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func unitJSON(u workunits.Unit, ref *workunits.InputRef) api.UnitSummary {
	return api.UnitSummary{Seq: u.Seq, State: string(u.State), Error: u.Error, Input: rawJSON(u.Input), InputRef: inputRefJSON(ref)}
}

// handleUnitList lists a job's units in seq order: ?state= filters,
// ?limit= sizes the page, ?cursor= (a next_cursor) continues.
func (s *server) handleUnitList() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		jobID, err := pathID(r, "jobID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		limit, err := queryLimit(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		q := r.URL.Query()
		req := service.UnitListRequest{State: workunits.UnitState(q.Get("state")), AfterSeq: -1, Limit: limit}
		want := cursor{Kind: "units", Job: jobID, State: q.Get("state")}
		if raw := q.Get("cursor"); raw != "" {
			pos, err := decodeCursor(raw, want, 0)
			if err != nil {
				s.error(w, r, err)
				return
			}
			req.AfterSeq = int(min(pos, 1<<31-1))
		}
		page, err := s.svc.UnitList(r.Context(), projectOf(r).ID, jobID, req)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := api.UnitPage{Units: make([]api.UnitSummary, len(page.Units))}
		for i, u := range page.Units {
			var ref *workunits.InputRef
			if r, ok := page.Refs[u.ID]; ok {
				ref = &r
			}
			out.Units[i] = unitJSON(u, ref)
		}
		if page.More {
			want.Pos = int64(page.Units[len(page.Units)-1].Seq)
			out.NextCursor = want.encode()
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// handleUnitGet shows one unit with its canonical output and its tasks.
func (s *server) handleUnitGet() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		jobID, seq, err := unitPath(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		d, err := s.svc.Unit(r.Context(), projectOf(r).ID, jobID, seq)
		if err != nil {
			s.error(w, r, err)
			return
		}
		u := d.Unit
		out := api.Unit{Seq: u.Seq, State: string(u.State), Error: u.Error, Input: rawJSON(u.Input), InputRef: inputRefJSON(d.InputRef),
			Output: d.Output, Tasks: make([]api.UnitTask, len(d.Tasks))}
		for i, t := range d.Tasks {
			out.Tasks[i] = api.UnitTask{ID: t.ID, State: string(t.State), Outcome: string(t.Outcome), ValidateState: string(t.ValidateState),
				HostID: t.HostID, CPUSeconds: t.CPUTime.Seconds(), SentAt: timePtr(t.SentAt), Deadline: timePtr(t.DeadlineAt),
				ReceivedAt: timePtr(t.ReceivedAt), OutputSHA256: t.OutputSHA256, Stderr: t.Stderr}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// handleUnitOutput sends a unit's canonical output as it is.
func (s *server) handleUnitOutput() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		jobID, seq, err := unitPath(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out, err := s.svc.UnitOutput(r.Context(), projectOf(r).ID, jobID, seq)
		if err != nil {
			s.error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		_, _ = w.Write(out)
	}
}

// handleJobResultsAs serves a job's results in the ?format= asked for:
// ndjson (the default) or tar.gz.
func (s *server) handleJobResultsAs() http.HandlerFunc {
	ndjson, targz := s.handleJobResults(), s.handleJobResultsTarGz()
	return func(w http.ResponseWriter, r *http.Request) {
		switch f := r.URL.Query().Get("format"); f {
		case "", "ndjson":
			ndjson(w, r)
		case "tar.gz":
			targz(w, r)
		default:
			s.error(w, r, workunits.Errorf(workunits.EINVALID, "format must be ndjson or tar.gz, got %q", f))
		}
	}
}

// tarPage is how many units the archive reads at a time: each can carry an
// output of up to workunits.MaxOutputSize, so fewer than an NDJSON page.
const tarPage = 64

// handleJobResultsTarGz streams a job as a gzipped tar archive, a page of
// units at a time, so a large job is never held in memory. It holds one
// file per finished unit, named by its seq zero-padded to six digits:
//
//	units/000000.out    a validated unit's canonical output, byte for byte
//	units/000042.error  a failed unit's reason, as text
//
// Units still open have no file. ?after=SEQ resumes after a unit, as for
// NDJSON. If the store fails once the archive has begun, the stream stops
// without the gzip trailer, so the client sees a truncated archive rather
// than a short but valid one.
func (s *server) handleJobResultsTarGz() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "jobID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		after, err := queryInt(r, "after", -1)
		if err != nil {
			s.error(w, r, err)
			return
		}
		project := projectOf(r).ID
		page, err := s.svc.JobResults(r.Context(), project, id, after, tarPage)
		if err != nil {
			s.error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/gzip")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="job-%d-results.tar.gz"`, id))
		bw := bufio.NewWriterSize(w, 64<<10)
		zw := gzip.NewWriter(bw)
		tw := tar.NewWriter(zw)
		modTime := time.Now().UTC().Truncate(time.Second)
		write := func(name string, data []byte) error {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: modTime}); err != nil {
				return err
			}
			_, err := tw.Write(data)
			return err
		}
		for len(page) > 0 {
			for _, u := range page {
				switch u.State {
				case workunits.UnitDone:
					err = write(fmt.Sprintf("units/%06d.out", u.Seq), u.Output)
				case workunits.UnitFailed:
					err = write(fmt.Sprintf("units/%06d.error", u.Seq), []byte(u.Error+"\n"))
				}
				if err != nil {
					return // the client went away
				}
			}
			if len(page) < tarPage {
				break
			}
			if page, err = s.svc.JobResults(r.Context(), project, id, page[len(page)-1].Seq, tarPage); err != nil {
				s.log.Error("streaming results archive", "job", id, "err", err)
				_ = bw.Flush()
				return
			}
		}
		if tw.Close() != nil || zw.Close() != nil {
			return // the client went away
		}
		_ = bw.Flush() // the client is gone if this fails
	}
}
