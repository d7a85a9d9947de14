package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

// tooManyThenOK answers 429 with retryAfter to the first refusals requests
// and then serves the work request, checking its body arrives whole each
// time.
func tooManyThenOK(t *testing.T, refusals int32, retryAfter string) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if string(body) != `{"max_tasks":3}`+"\n" && string(body) != `{"max_tasks":3}` {
			t.Errorf("request %d carried body %q", calls.Load()+1, body)
		}
		if calls.Add(1) <= refusals {
			w.Header().Set("Retry-After", retryAfter)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"code":"too_many_requests","message":"slow down"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"tasks":[]}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestTooManyRequestsIsRetried(t *testing.T) {
	tests := []struct {
		name       string
		refusals   int32
		wantErr    bool
		wantCalls  int32
		retryAfter string
	}{
		{"served after two refusals", 2, false, 3, "0"},
		{"gives up after its retries", 100, true, maxRetries + 1, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := tooManyThenOK(t, tt.refusals, tt.retryAfter)
			_, err := New(srv.URL, "nsh_token", nil).Work(t.Context(), api.WorkRequest{MaxTasks: 3})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Work: err = %v, want error %v", err, tt.wantErr)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("the coordinator was asked %d times, want %d", got, tt.wantCalls)
			}
			if tt.wantErr && StatusOf(err) != http.StatusTooManyRequests {
				t.Errorf("the error's status is %d, want 429: %v", StatusOf(err), err)
			}
		})
	}
}

func TestTooManyRequestsWaitEndsWithContext(t *testing.T) {
	srv, calls := tooManyThenOK(t, 100, "30")
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := New(srv.URL, "nsh_token", nil).Work(ctx, api.WorkRequest{MaxTasks: 3})
	if StatusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("Work: err = %v, want the 429", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.RetryAfter != 30*time.Second {
		t.Errorf("RetryAfter = %v, want 30s", e)
	}
	if d := time.Since(start); d > 5*time.Second || calls.Load() != 1 {
		t.Errorf("waited %v and asked %d times: the wait did not end with the context", d, calls.Load())
	}
}

func TestRetryAfter(t *testing.T) {
	tests := map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"7":                             7 * time.Second,
		" 12 ":                          12 * time.Second,
		"-3":                            time.Second,
		"Wed, 21 Oct 2026 07:28:00 GMT": time.Second,
		"99999999":                      24 * time.Hour,
	}
	for in, want := range tests {
		if got := retryAfter(in); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
