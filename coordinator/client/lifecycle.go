package client

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

// CancelJob stops a job: unsent tasks are withdrawn, running ones are
// stopped at their hosts' next contact, and the unspent escrow goes back to
// the budget. Cancelling twice is harmless; a done job answers 409.
func (c *Client) CancelJob(ctx context.Context, jobID int64) (api.Job, error) {
	var j api.Job
	err := c.doJSON(ctx, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/cancel", jobID), nil, &j)
	return j, err
}

// RetireJob deletes a finished job's inputs and results and gives back
// the input blobs only it used; the job and its accounts stay. Results of
// a retired job answer 410 Gone.
func (c *Client) RetireJob(ctx context.Context, jobID int64) (api.Job, error) {
	var j api.Job
	err := c.doJSON(ctx, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/retire", jobID), nil, &j)
	return j, err
}

// VerifyWebhook checks that a webhook request came from the coordinator:
// timestamp and signature are its Nightshift-Timestamp and
// Nightshift-Signature headers, body the raw request body. It does not
// judge the timestamp's age: a receiver that wants to refuse replays
// compares it with its clock and remembers what it has seen.
func VerifyWebhook(secret, timestamp string, body []byte, signature string) error {
	hexSig, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return errors.New("webhook signature: want sha256=<hex>")
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("webhook signature: %w", err)
	}
	if timestamp == "" {
		return errors.New("webhook signature: no timestamp")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "."))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New("webhook signature does not match the body")
	}
	return nil
}
