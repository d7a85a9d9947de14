package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/httpapi"
	"github.com/nightshift-platform/nightshift/coordinator/service"
)

// spaces is n bytes of JSON whitespace (valid CSV padding too), streamed
// rather than held: a body that is too large only by its size.
func spaces(n int64) io.Reader {
	return io.LimitReader(repeatByte(' '), n)
}

type repeatByte byte

func (b repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// Every route class that reads a body refuses one over its limit with 413
// and says so, before reading it all.
func TestBodyLimits(t *testing.T) {
	const maxBlob = 4 << 10
	a := setupLimited(t, httpapi.Limits{}, service.Options{MaxBlobSize: maxBlob})
	ctx := t.Context()
	operator := client.New(a.url, operatorKey, nil)
	project, err := operator.CreateProject(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	contributor, err := operator.WithKey("").CreateContributor(ctx, "Ada")
	if err != nil {
		t.Fatal(err)
	}
	host, err := operator.WithKey(contributor.AccountKey).RegisterHost(ctx, api.RegisterHostRequest{Name: "pc", Platform: "test", Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, key, contentType string
		size                                 int64 // the body's size: one byte over the route's limit
	}{
		{"JSON request", "POST", "/api/v1/contributors", "", "application/json", 1<<20 + 1},
		{"job submission", "POST", "/api/v1/jobs", project.APIKey, "application/json", 16<<20 + 1},
		{"reports", "POST", "/api/v1/reports", host.HostToken, "application/json", 32<<20 + 1},
		{"blob upload", "POST", "/api/v1/blobs", project.APIKey, "application/octet-stream", maxBlob + 1},
		{"app version upload", "POST", "/api/v1/apps/app/versions", project.APIKey, "application/wasm", service.MaxModuleSize + 1},
		{"payout results import", "POST", "/api/v1/payout-runs/1/results", operatorKey, "text/csv", 16<<20 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, raw := a.send(t, "198.51.100.1", tt.method, tt.path, tt.key, tt.contentType, spaces(tt.size))
			var e api.ErrorResponse
			if resp.StatusCode != http.StatusRequestEntityTooLarge || json.Unmarshal(raw, &e) != nil || e.Error.Code != "too_large" {
				t.Errorf("%s %s with %d bytes: %d %.300s; want 413 too_large", tt.method, tt.path, tt.size, resp.StatusCode, raw)
			}
			// One byte under is not refused for its size.
			resp, raw = a.send(t, "198.51.100.1", tt.method, tt.path, tt.key, tt.contentType, spaces(tt.size-2))
			if resp.StatusCode == http.StatusRequestEntityTooLarge {
				t.Errorf("%s %s with %d bytes, under the limit: %d %.300s", tt.method, tt.path, tt.size-2, resp.StatusCode, raw)
			}
		})
	}
	t.Run("dashboard form", func(t *testing.T) {
		form := "name=" + strings.Repeat("a", 64<<10)
		resp, raw := a.send(t, "198.51.100.1", "POST", "/signup", "", "application/x-www-form-urlencoded", strings.NewReader(form))
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !bytes.Contains(raw, []byte("Form too large")) {
			t.Errorf("a form over 64 KiB: %d %.300s; want 413 and the error page", resp.StatusCode, raw)
		}
	})
}
