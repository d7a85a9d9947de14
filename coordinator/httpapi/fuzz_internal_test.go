package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/workunits"
)

// FuzzDecode: the one request decoder takes exactly one JSON value of the
// request type, or fails with a typed EINVALID or ETOOLARGE error; what it
// takes survives being written and decoded again.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"app":"markers","units":[{"k":3}],"reward_micros":100,"policy":{"quorum":2}}`,
		`{"app":"x","sweep":{"k":{"from":1,"to":3}}}`, `{}`, ``, `{`, `{} {}`, `{"app":1}`, `{"nope":1}`, `[]`, `null`,
		`{"app":"x"}  `, `{"reward_micros":1e99}`, "\xef\xbb\xbf{}"} {
		f.Add([]byte(s), "application/json")
	}
	f.Add([]byte(`{}`), "text/plain")
	f.Add([]byte(`{}`), "")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		const limit = 4096
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		var v api.SubmitJobRequest
		err := decode(httptest.NewRecorder(), req, limit, &v)
		if err != nil {
			if c := workunits.ErrorCode(err); c != workunits.EINVALID && c != workunits.ETOOLARGE {
				t.Fatalf("decode(%q) error %v has code %q", body, err, c)
			}
			return
		}
		if len(body) > limit {
			t.Fatalf("decoded a body of %d bytes over the limit %d", len(body), limit)
		}
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("decoded %+v does not marshal: %v", v, err)
		}
		req = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(raw))
		var back api.SubmitJobRequest
		if err := decode(httptest.NewRecorder(), req, 1<<20, &back); err != nil {
			t.Fatalf("%q decoded, re-encoded as %s it is refused: %v", body, raw, err)
		}
		again, _ := json.Marshal(back)
		if !bytes.Equal(raw, again) {
			t.Fatalf("round trip: %s then %s", raw, again)
		}
	})
}

// FuzzCursor: a cursor this server issued reads back to its position in
// its own listing only; anything else is refused with EINVALID.
func FuzzCursor(f *testing.F) {
	f.Add("jobs", int64(0), "", int64(42), "")
	f.Add("units", int64(7), "done", int64(0), "")
	f.Add("units", int64(7), "done", int64(-1), "eyJrIjoidW5pdHMiLCJwIjozfQ")
	f.Add("jobs", int64(0), "", int64(1), "not base64!")
	f.Fuzz(func(t *testing.T, kind string, job int64, state string, pos int64, raw string) {
		want := cursor{Kind: kind, Job: job, State: state}
		issued := cursor{Kind: kind, Job: job, State: state, Pos: pos}.encode()
		got, err := decodeCursor(issued, want, 0)
		switch {
		case !utf8.ValidString(kind) || !utf8.ValidString(state):
			// JSON would turn them into U+FFFD; the server issues cursors
			// only for listings of known (ASCII) kinds and states.
		case len(issued) > maxCursorLen || pos < 0:
			if err == nil {
				t.Fatalf("cursor %q (pos %d, %d long) accepted", issued, pos, len(issued))
			}
		case err != nil || got != pos:
			t.Fatalf("issued cursor %+v read back as %d, %v", issued, got, err)
		}
		// Any other string: a position only if it is exactly an issued cursor.
		p, err := decodeCursor(raw, want, 0)
		if err != nil {
			if workunits.ErrorCode(err) != workunits.EINVALID {
				t.Fatalf("decodeCursor(%q): %v is not EINVALID", raw, err)
			}
			return
		}
		if again := (cursor{Kind: kind, Job: job, State: state, Pos: p}).encode(); again != raw {
			t.Fatalf("accepted %q for position %d, which is issued as %q", raw, p, again)
		}
	})
}

// FuzzQueryAndPathParsers: limit, integer query parameters and unit seqs
// parse to in-range numbers that print back as given, or fail EINVALID.
func FuzzQueryAndPathParsers(f *testing.F) {
	for _, s := range []string{"10", "0", "-1", "abc", "1000000", "007", "+5", "9223372036854775808", "", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		req := httptest.NewRequest(http.MethodGet, "/?"+url.Values{"limit": {v}, "n": {v}}.Encode(), nil)
		if n, err := queryLimit(req); err != nil {
			if workunits.ErrorCode(err) != workunits.EINVALID {
				t.Fatalf("queryLimit(%q): %v", v, err)
			}
		} else if n < 1 || n > service.MaxListLimit || (v != "" && strconv.Itoa(n) != v && "+"+strconv.Itoa(n) != v && !leadingZeros(v, n)) {
			t.Fatalf("queryLimit(%q) = %d", v, n)
		}
		if n, err := queryInt(req, "n", 7); err != nil {
			if workunits.ErrorCode(err) != workunits.EINVALID {
				t.Fatalf("queryInt(%q): %v", v, err)
			}
		} else if v == "" && n != 7 {
			t.Fatalf("queryInt of nothing = %d, want the default", n)
		}
		if _, err := queryInt64(req, "n"); err != nil && workunits.ErrorCode(err) != workunits.EINVALID {
			t.Fatalf("queryInt64(%q): %v", v, err)
		}
	})
}

func leadingZeros(v string, n int) bool {
	for len(v) > 1 && (v[0] == '0' || v[0] == '+') {
		v = v[1:]
	}
	return v == strconv.Itoa(n)
}
