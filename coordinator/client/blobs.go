package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

// UploadBlob streams r to the coordinator as an input blob. created is
// false if the project already had these bytes.
func (c *Client) UploadBlob(ctx context.Context, r io.Reader) (b api.Blob, created bool, err error) {
	resp, err := c.send(ctx, http.MethodPost, "/api/v1/blobs", "application/octet-stream", r)
	if err != nil {
		return b, false, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		return b, false, fmt.Errorf("POST /api/v1/blobs: decoding response: %w", err)
	}
	return b, resp.StatusCode == http.StatusCreated, nil
}

// Blobs lists a page of the project's blobs from cursor ("" for the first
// page; then the previous page's NextCursor), at most limit (0: the
// server's default).
func (c *Client) Blobs(ctx context.Context, cursor string, limit int) (api.BlobList, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/api/v1/blobs"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out api.BlobList
	err := c.do(ctx, http.MethodGet, path, "", nil, &out)
	return out, err
}

// Blob opens one of the project's blobs; the caller closes it.
func (c *Client) Blob(ctx context.Context, sha256 string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, "/api/v1/blobs/"+url.PathEscape(sha256), "", nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// BlobRange opens the input range of a task of this host (host token);
// the caller closes it and checks the bytes against the ref's hash.
func (c *Client) BlobRange(ctx context.Context, ref api.InputRef) (io.ReadCloser, error) {
	path := fmt.Sprintf("/api/v1/blobs/%s/range?offset=%d&length=%d", url.PathEscape(ref.Blob), ref.Offset, ref.Length)
	resp, err := c.send(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// SubmitJobOnce submits a job under an Idempotency-Key: a repeat with the
// same key and request returns the first job with created false; the same
// key with another request is refused (409).
func (c *Client) SubmitJobOnce(ctx context.Context, key string, req api.SubmitJobRequest) (j api.Job, created bool, err error) {
	hc := *c.http
	hc.Transport = headerTransport{base: c.http.Transport, name: "Idempotency-Key", value: key}
	once := &Client{baseURL: c.baseURL, key: c.key, http: &hc}
	body, err := json.Marshal(req)
	if err != nil {
		return j, false, fmt.Errorf("POST /api/v1/jobs: encoding request: %w", err)
	}
	resp, err := once.send(ctx, http.MethodPost, "/api/v1/jobs", "application/json", bytes.NewReader(body))
	if err != nil {
		return j, false, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		return j, false, fmt.Errorf("POST /api/v1/jobs: decoding response: %w", err)
	}
	return j, resp.StatusCode == http.StatusCreated, nil
}

// headerTransport adds one header to every request.
type headerTransport struct {
	base        http.RoundTripper
	name, value string
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(t.name, t.value)
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}
