package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

// ListOptions select a page of a listing: zero values mean any state, the
// first page and the server's default page size.
type ListOptions struct {
	State  string
	Cursor string // a NextCursor from the page before
	Limit  int
}

func (o ListOptions) query(cursorParam string) string {
	q := url.Values{}
	if o.State != "" {
		q.Set("state", o.State)
	}
	if o.Cursor != "" {
		q.Set(cursorParam, o.Cursor)
	}
	if o.Limit != 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Jobs lists a page of the project's jobs, newest first.
func (c *Client) Jobs(ctx context.Context, o ListOptions) (api.JobPage, error) {
	var out api.JobPage
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/jobs"+o.query("cursor"), nil, &out)
	return out, err
}

// Units lists a page of a job's units in seq order.
func (c *Client) Units(ctx context.Context, jobID int64, o ListOptions) (api.UnitPage, error) {
	var out api.UnitPage
	err := c.doJSON(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/units", jobID)+o.query("cursor"), nil, &out)
	return out, err
}

// Unit returns one unit of a job with its canonical output and tasks.
func (c *Client) Unit(ctx context.Context, jobID int64, seq int) (api.Unit, error) {
	var out api.Unit
	err := c.doJSON(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/units/%d", jobID, seq), nil, &out)
	return out, err
}

// UnitOutput returns a unit's canonical output bytes; a unit not validated
// yet answers 404.
func (c *Client) UnitOutput(ctx context.Context, jobID int64, seq int) ([]byte, error) {
	path := fmt.Sprintf("/api/v1/jobs/%d/units/%d/output", jobID, seq)
	resp, err := c.send(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return b, nil
}

// ResultsArchive streams a job's results as a tar.gz archive (see the
// coordinator's handleJobResultsTarGz for its layout); the caller closes it.
func (c *Client) ResultsArchive(ctx context.Context, jobID int64) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/results?format=tar.gz", jobID), "", nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
