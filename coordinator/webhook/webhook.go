// Package webhook posts signed job events to researchers' webhooks: the
// HTTP edge of service.WebhookSender.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a webhook request.
const (
	TimestampHeader = "Nightshift-Timestamp" // Unix seconds when it was signed
	SignatureHeader = "Nightshift-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
)

// Sign returns the signature header value of body sent at timestamp (Unix
// seconds, as sent in TimestampHeader).
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Sender posts events over HTTP. The zero value uses its own client
// that follows no redirect and the real clock.
type Sender struct {
	Client *http.Client
	Now    func() time.Time
}

// noRedirects keeps a webhook at the URL the researcher gave: a redirect
// is an answer that is not 2xx, and so a failed attempt.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// SendWebhook posts body, signed, to url; any answer but 2xx is an error
// naming the status and the start of the answer.
func (s Sender) SendWebhook(ctx context.Context, url, secret string, body []byte) error {
	hc, now := s.Client, s.Now
	if hc == nil {
		hc = noRedirects
	}
	if now == nil {
		now = time.Now
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building the request: %w", err)
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Nightshift-Webhook/1")
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, Sign(secret, ts, body))
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("posting: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.ToValidUTF8(strings.TrimSpace(string(snippet)), ""))
	}
	return nil
}
