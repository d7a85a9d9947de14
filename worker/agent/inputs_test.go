package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/workunits"
)

func TestFetchInput(t *testing.T) {
	const blob = "0123456789abcdefghij"
	ref := api.InputRef{Blob: workunits.Hash([]byte(blob)), Offset: 5, Length: 10, SHA256: workunits.Hash([]byte(blob[5:15]))}
	tests := []struct {
		name    string
		serve   string // what the coordinator sends; "" answers 404
		onDisk  string // the input file before; "" none
		wantErr string
		want    string // the input file after
		fetches int32
	}{
		{"fetched and checked", blob[5:15], "", "", blob[5:15], 1},
		{"tampered range refused", "56789XXXXX", "", "input hash mismatch", "", 1},
		{"short range refused", blob[5:10], "", "input hash mismatch", "", 1},
		{"long range refused", blob[5:16], "", "input hash mismatch", "", 1},
		{"kept input reused", "", blob[5:15], "", blob[5:15], 0},
		{"stale input replaced", blob[5:15], "null", "", blob[5:15], 1},
		{"coordinator refuses", "", "null", "404", "null", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fetches atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fetches.Add(1)
				if want := "/api/v1/blobs/" + ref.Blob + "/range"; r.URL.Path != want || r.URL.Query().Get("offset") != "5" || r.URL.Query().Get("length") != "10" {
					t.Errorf("fetched %s, want %s?offset=5&length=10", r.URL, want)
				}
				if tt.serve == "" {
					http.Error(w, `{"error":{"code":"not_found","message":"blob not found"}}`, http.StatusNotFound)
					return
				}
				_, _ = w.Write([]byte(tt.serve))
			}))
			defer srv.Close()
			a := &Agent{cfg: Config{Client: client.New(srv.URL, "nsh_test", nil)}}
			j := Job{Dir: t.TempDir()}
			if tt.onDisk != "" {
				if err := os.WriteFile(j.inputPath(), []byte(tt.onDisk), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := a.fetchInput(context.Background(), api.Task{ID: 1, InputRef: &ref}, j)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("fetchInput = %v, want error %q", err, tt.wantErr)
			}
			got, _ := os.ReadFile(j.inputPath())
			if string(got) != tt.want {
				t.Errorf("input file = %q, want %q", got, tt.want)
			}
			if n := fetches.Load(); n != tt.fetches {
				t.Errorf("%d fetches, want %d", n, tt.fetches)
			}
			if _, err := os.Stat(j.inputPath() + ".part"); !os.IsNotExist(err) {
				t.Errorf("partial download left behind: %v", err)
			}
		})
	}
	// A task with an inline input fetches nothing.
	a := &Agent{cfg: Config{Client: client.New("http://127.0.0.1:1", "nsh_test", nil)}}
	if err := a.fetchInput(context.Background(), api.Task{ID: 2, Input: []byte(`{}`)}, Job{Dir: t.TempDir()}); err != nil {
		t.Errorf("inline task: %v", err)
	}
}
