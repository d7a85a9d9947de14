package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/signing"
)

// AppUpload is a new app version: the module, its signature (see
// signing.Sign) and resource estimates for one unit, zero ones taking the
// coordinator's defaults.
type AppUpload struct {
	Module          []byte
	Signature       []byte
	Ops             int64
	MemoryMiB       int
	DiskMiB         int
	DeadlineSeconds int
	// Validator compares the outputs of replicas; the zero one is bitwise.
	Validator api.Validator
}

// UploadAppVersion uploads a signed module as the next version of app.
func (c *Client) UploadAppVersion(ctx context.Context, app string, up AppUpload) (api.AppVersion, error) {
	q := url.Values{}
	for name, n := range map[string]int64{"ops": up.Ops, "memory_mib": int64(up.MemoryMiB),
		"disk_mib": int64(up.DiskMiB), "deadline_seconds": int64(up.DeadlineSeconds)} {
		if n != 0 {
			q.Set(name, strconv.FormatInt(n, 10))
		}
	}
	if v := up.Validator; v.Kind != "" || v.AbsTol != 0 || v.RelTol != 0 {
		q.Set("validator", v.Kind)
		for name, f := range map[string]float64{"abs_tol": v.AbsTol, "rel_tol": v.RelTol} {
			if f != 0 {
				q.Set(name, strconv.FormatFloat(f, 'g', -1, 64))
			}
		}
	}
	path := "/api/v1/apps/" + url.PathEscape(app) + "/versions"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	h := http.Header{}
	if len(up.Signature) > 0 {
		h.Set(api.SignatureHeader, signing.Encode(up.Signature))
	}
	resp, err := c.send(ctx, http.MethodPost, path, "application/wasm", bytes.NewReader(up.Module), h)
	if err != nil {
		return api.AppVersion{}, err
	}
	defer resp.Body.Close()
	var v api.AppVersion
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return v, fmt.Errorf("POST %s: decoding response: %w", path, err)
	}
	return v, nil
}

// Apps lists the project's apps.
func (c *Client) Apps(ctx context.Context) ([]api.App, error) {
	var out []api.App
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/apps", nil, &out)
	return out, err
}

// AppVersions lists every version of an app, oldest first.
func (c *Client) AppVersions(ctx context.Context, app string) ([]api.AppVersion, error) {
	var out []api.AppVersion
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/apps/"+url.PathEscape(app)+"/versions", nil, &out)
	return out, err
}

// AppVersion returns one version of an app.
func (c *Client) AppVersion(ctx context.Context, app string, version int) (api.AppVersion, error) {
	var out api.AppVersion
	err := c.doJSON(ctx, http.MethodGet, fmt.Sprintf("/api/v1/apps/%s/versions/%d", url.PathEscape(app), version), nil, &out)
	return out, err
}

// DeprecateAppVersion keeps new jobs off a version; running jobs carry on.
func (c *Client) DeprecateAppVersion(ctx context.Context, app string, version int) (api.AppVersion, error) {
	var out api.AppVersion
	err := c.doJSON(ctx, http.MethodPost, fmt.Sprintf("/api/v1/apps/%s/versions/%d/deprecate", url.PathEscape(app), version), nil, &out)
	return out, err
}

// Operator calls.

// SetSigningKey sets the ed25519 public key (base64) that a project's app
// versions must be signed with.
func (c *Client) SetSigningKey(ctx context.Context, projectID int64, publicKey string) (api.Project, error) {
	var out api.Project
	err := c.doJSON(ctx, http.MethodPut, fmt.Sprintf("/api/v1/projects/%d/signing-key", projectID),
		api.SigningKeyRequest{PublicKey: publicKey}, &out)
	return out, err
}

// Signer is a project's private signing key, for programs (the demo, the
// load generator, tests) that make their own key instead of signing
// offline with 'coordinator sign'.
type Signer struct {
	Key ed25519.PrivateKey
}

// EnrollSigner makes a new key pair and, with the operator's credential c
// holds, sets its public half as the project's signing key.
func (c *Client) EnrollSigner(ctx context.Context, projectID int64) (*Signer, error) {
	priv, err := signing.GenerateKey()
	if err != nil {
		return nil, err
	}
	if _, err := c.SetSigningKey(ctx, projectID, signing.Encode(signing.PublicKey(priv))); err != nil {
		return nil, err
	}
	return &Signer{Key: priv}, nil
}

// Upload signs module and uploads it as the next version of app, through
// research (a client holding the project's key).
func (s *Signer) Upload(ctx context.Context, research *Client, app string, module []byte) (api.AppVersion, error) {
	return research.UploadAppVersion(ctx, app, AppUpload{Module: module, Signature: signing.Sign(s.Key, module)})
}
