// Package client is a Go client for the coordinator's HTTP API, used by the
// worker, the demo and tests.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

// Client calls one coordinator with one credential.
type Client struct {
	baseURL string
	key     string
	http    *http.Client
}

// New returns a client for the coordinator at baseURL using key (an
// operator, project or account key, or a host token) as its bearer token.
func New(baseURL, key string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{baseURL: strings.TrimSuffix(baseURL, "/"), key: key, http: hc}
}

// WithKey returns a client for the same coordinator with another credential.
func (c *Client) WithKey(key string) *Client {
	return &Client{baseURL: c.baseURL, key: key, http: c.http}
}

// Key returns the credential the client sends.
func (c *Client) Key() string { return c.key }

// Error is a non-2xx answer from the coordinator.
type Error struct {
	Status  int
	Code    string
	Message string
	// RetryAfter is how long the coordinator asked to wait before trying
	// again (its Retry-After, in seconds); 0 when it did not say.
	RetryAfter time.Duration
}

// retryAfter reads a Retry-After header's delay in seconds; an HTTP date,
// which the coordinator never sends, or nonsense reads as a second.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(h))
	if err != nil || n < 0 {
		return time.Second
	}
	return time.Duration(min(n, 24*3600)) * time.Second
}

func (e *Error) Error() string {
	return fmt.Sprintf("coordinator answered %d %s: %s", e.Status, e.Code, e.Message)
}

// StatusOf returns the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func (c *Client) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	resp, err := c.send(ctx, method, path, contentType, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decoding response: %w", method, path, err)
	}
	return nil
}

// A 429 answer is a temporary refusal: send waits as its Retry-After says,
// at most maxRetryWait each time, and asks again, up to maxRetries times,
// when the request's body can be sent again.
const (
	maxRetries   = 5
	maxRetryWait = time.Minute
)

func (c *Client) send(ctx context.Context, method, path, contentType string, body io.Reader, header ...http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	for _, h := range header {
		maps.Copy(req.Header, h)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	for try := 0; ; try++ {
		resp, err := c.sendOnce(req, method, path)
		var e *Error
		if try == maxRetries || !errors.As(err, &e) || e.Status != http.StatusTooManyRequests ||
			(req.Body != nil && req.GetBody == nil) {
			return resp, err
		}
		t := time.NewTimer(min(e.RetryAfter, maxRetryWait))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		if req.GetBody != nil {
			if req.Body, err = req.GetBody(); err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
		}
	}
}

func (c *Client) sendOnce(req *http.Request, method, path string) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var e api.ErrorResponse
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(raw, &e) != nil || e.Error.Message == "" {
			e.Error.Message = strings.TrimSpace(string(raw))
		}
		return nil, fmt.Errorf("%s %s: %w", method, path, &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message,
			RetryAfter: retryAfter(resp.Header.Get("Retry-After"))})
	}
	return resp, nil
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encoding request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	return c.do(ctx, method, path, "application/json", body, out)
}

func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", "", nil, nil)
}

// Operator calls.

func (c *Client) CreateProject(ctx context.Context, name string) (api.Project, error) {
	var p api.Project
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/projects", api.CreateProjectRequest{Name: name}, &p)
	return p, err
}

func (c *Client) FundProject(ctx context.Context, projectID int64, req api.FundRequest) (api.FundResponse, error) {
	var out api.FundResponse
	err := c.doJSON(ctx, http.MethodPost, fmt.Sprintf("/api/v1/projects/%d/funds", projectID), req, &out)
	return out, err
}

func (c *Client) LedgerAudit(ctx context.Context) (api.LedgerAudit, error) {
	var out api.LedgerAudit
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/ledger/audit", nil, &out)
	return out, err
}

// RefusedCredits lists the rewards the ledger refused, oldest task first.
func (c *Client) RefusedCredits(ctx context.Context) ([]api.RefusedCredit, error) {
	var out []api.RefusedCredit
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/credits/refused", nil, &out)
	return out, err
}

// Research calls.

func (c *Client) Project(ctx context.Context) (api.Project, error) {
	var p api.Project
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/project", nil, &p)
	return p, err
}

func (c *Client) SubmitJob(ctx context.Context, req api.SubmitJobRequest) (api.Job, error) {
	var j api.Job
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/jobs", req, &j)
	return j, err
}

func (c *Client) Job(ctx context.Context, id int64) (api.Job, error) {
	var j api.Job
	err := c.doJSON(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d", id), nil, &j)
	return j, err
}

// Results reads every unit of a job, calling fn for each in order.
func (c *Client) Results(ctx context.Context, jobID int64, fn func(api.Result) error) error {
	resp, err := c.send(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/results", jobID), "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var r api.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("decoding result line: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading results of job %d: %w", jobID, err)
	}
	return nil
}

// Contributor calls.

func (c *Client) CreateContributor(ctx context.Context, name string) (api.Contributor, error) {
	return c.SignUp(ctx, api.CreateContributorRequest{Name: name})
}

// SignUp makes a contributor; with an email and password in req they can
// also sign in to the dashboard.
func (c *Client) SignUp(ctx context.Context, req api.CreateContributorRequest) (api.Contributor, error) {
	var out api.Contributor
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/contributors", req, &out)
	return out, err
}

func (c *Client) RegisterHost(ctx context.Context, req api.RegisterHostRequest) (api.Host, error) {
	var out api.Host
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/hosts", req, &out)
	return out, err
}

func (c *Client) Earnings(ctx context.Context) (api.Earnings, error) {
	var out api.Earnings
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/contributor/earnings", nil, &out)
	return out, err
}

// Worker calls.

// HostEarnings returns the earnings of the contributor who owns the host
// whose token the client holds.
func (c *Client) HostEarnings(ctx context.Context) (api.Earnings, error) {
	var out api.Earnings
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/host/earnings", nil, &out)
	return out, err
}

// RequestWork leases up to maxTasks tasks, none of the jobs in skipJobs.
func (c *Client) RequestWork(ctx context.Context, maxTasks int, skipJobs ...int64) (api.WorkResponse, error) {
	return c.Work(ctx, api.WorkRequest{MaxTasks: maxTasks, SkipJobs: skipJobs})
}

// Work sends a whole work request: with the host's benchmark, say.
func (c *Client) Work(ctx context.Context, req api.WorkRequest) (api.WorkResponse, error) {
	var out api.WorkResponse
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/work", req, &out)
	return out, err
}

func (c *Client) Report(ctx context.Context, reports []api.Report) (api.ReportResponse, error) {
	var out api.ReportResponse
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/reports", api.ReportRequest{Reports: reports}, &out)
	return out, err
}

// Module downloads a WebAssembly module by its SHA-256.
func (c *Client) Module(ctx context.Context, sha256 string) ([]byte, error) {
	resp, err := c.send(ctx, http.MethodGet, "/api/v1/modules/"+sha256, "", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("downloading module %s: %w", sha256, err)
	}
	return b, nil
}
