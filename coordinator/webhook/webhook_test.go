package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSign(t *testing.T) {
	// From: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'secret-0123456789'
	const want = "sha256=692511b180bbcd561410894fd2bedac27a99690e45169490ea808f433b5d0097"
	got := Sign("secret-0123456789", "1700000000", []byte(`{"a":1}`))
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
	if Sign("secret-0123456789", "1700000001", []byte(`{"a":1}`)) == got ||
		Sign("secret-0123456780", "1700000000", []byte(`{"a":1}`)) == got ||
		Sign("secret-0123456789", "1700000000", []byte(`{"a":2}`)) == got {
		t.Errorf("the signature does not depend on the timestamp, secret and body")
	}
}

func TestSendWebhook(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		wantErr string // "" for success
	}{
		{"200", func(w http.ResponseWriter, r *http.Request) {}, ""},
		{"204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }, ""},
		{"500 names the status and the answer", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "database down", http.StatusInternalServerError)
		}, "HTTP 500: database down"},
		{"a redirect is not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
		}, "HTTP 302"},
		{"too slow", func(w http.ResponseWriter, r *http.Request) { time.Sleep(300 * time.Millisecond) }, "deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotSig, gotTS, gotCT string
			var gotBody []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotSig, gotTS, gotCT = r.Header.Get(SignatureHeader), r.Header.Get(TimestampHeader), r.Header.Get("Content-Type")
				gotBody, _ = io.ReadAll(r.Body)
				tc.handler(w, r)
			}))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			body := []byte(`{"event":"job.done"}`)
			err := Sender{Now: func() time.Time { return now }}.SendWebhook(ctx, srv.URL, "secret-0123456789", body)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("SendWebhook = %v, want error containing %q", err, tc.wantErr)
			}
			if gotTS != "1700000000" || gotSig != Sign("secret-0123456789", "1700000000", body) || string(gotBody) != string(body) || gotCT != "application/json" {
				t.Errorf("received timestamp %q signature %q body %q content type %q", gotTS, gotSig, gotBody, gotCT)
			}
		})
	}
}
