package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/signing"
)

// An app version's validator is set at upload, shown on the version and
// on every job submitted to it; a bad one is refused with nothing stored.
func TestUploadValidator(t *testing.T) {
	b := setupFair(t)
	ctx := context.Background()
	signer, err := b.operator.EnrollSigner(ctx, b.project.ID)
	if err != nil {
		t.Fatal(err)
	}
	module := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	sig := signing.Sign(signer.Key, module)

	for _, tt := range []struct {
		query, msg string
	}{
		{"validator=fuzzy", `got "fuzzy"`},
		{"validator=numeric&rel_tol=-0.1", "rel_tol"},
		{"validator=numeric&abs_tol=NaN", "abs_tol must be a finite number"},
		{"validator=numeric&abs_tol=small", "abs_tol must be a number"},
		{"validator=numeric&rel_tol=2", "rel_tol must be at most"},
		{"abs_tol=1e-9", "takes no tolerances"},
		{"validator=bitwise&rel_tol=1e-9", "takes no tolerances"},
	} {
		req, err := http.NewRequest(http.MethodPost, b.url+"/api/v1/apps/md/versions?"+tt.query, strings.NewReader(string(module)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/wasm")
		req.Header.Set("Authorization", "Bearer "+b.project.APIKey)
		req.Header.Set(api.SignatureHeader, signing.Encode(sig))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body api.ErrorResponse
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || err != nil || body.Error.Code != "invalid" || !strings.Contains(body.Error.Message, tt.msg) {
			t.Errorf("upload ?%s: %d %+v (%v), want 400 invalid mentioning %q", tt.query, resp.StatusCode, body, err, tt.msg)
		}
	}
	var cerr *client.Error
	if _, err := b.research.AppVersions(ctx, "md"); !errors.As(err, &cerr) || cerr.Status != http.StatusNotFound {
		t.Errorf("after refused uploads, app md: %v, want 404 (nothing stored)", err)
	}

	numeric := api.Validator{Kind: "numeric", AbsTol: 1e-12, RelTol: 2.5e-6}
	v, err := b.research.UploadAppVersion(ctx, "md", client.AppUpload{Module: module, Signature: sig, Validator: numeric})
	if err != nil {
		t.Fatal(err)
	}
	if v.Validator != numeric {
		t.Errorf("uploaded version's validator = %+v, want %+v", v.Validator, numeric)
	}
	if got, err := b.research.AppVersion(ctx, "md", v.Version); err != nil || got.Validator != numeric {
		t.Errorf("GET version: validator %+v (%v), want %+v", got.Validator, err, numeric)
	}
	if got, err := b.research.AppVersion(ctx, "app", 1); err != nil || got.Validator != (api.Validator{Kind: "bitwise"}) {
		t.Errorf("a version uploaded without a validator shows %+v (%v), want bitwise", got.Validator, err)
	}

	job, err := b.research.SubmitJob(ctx, api.SubmitJobRequest{App: "md", Units: []json.RawMessage{json.RawMessage(`{"x":1}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if job.Validator != numeric {
		t.Errorf("submitted job's validator = %+v, want the version's %+v", job.Validator, numeric)
	}
	if got, err := b.research.Job(ctx, job.ID); err != nil || got.Validator != numeric {
		t.Errorf("GET job: validator %+v (%v), want %+v", got.Validator, err, numeric)
	}
}
