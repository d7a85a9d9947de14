package service

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Webhook is where a job's end is announced, and the secret the
// announcements are signed with.
type Webhook struct {
	URL    string
	Secret string
}

// Limits on a webhook.
const (
	MaxWebhookURL       = 2048
	MinWebhookSecret    = 16
	MaxWebhookSecret    = 256
	WebhookMaxAttempts  = 12               // then the delivery is failed
	WebhookFirstBackoff = 10 * time.Second // doubling after each failure
	WebhookMaxBackoff   = time.Hour
	WebhookTimeout      = 10 * time.Second // for one POST
)

// Validate refuses a webhook that cannot be delivered or signed safely.
func (w Webhook) Validate() error {
	if len(w.URL) > MaxWebhookURL {
		return workunits.Errorf(workunits.EINVALID, "webhook.url is over %d bytes", MaxWebhookURL)
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return workunits.Errorf(workunits.EINVALID, "webhook.url must be an http:// or https:// URL with a host and no credentials, got %q", w.URL)
	}
	if n := utf8.RuneCountInString(w.Secret); n < MinWebhookSecret || n > MaxWebhookSecret || !utf8.ValidString(w.Secret) {
		return workunits.Errorf(workunits.EINVALID, "webhook.secret must be %d to %d characters, got %d", MinWebhookSecret, MaxWebhookSecret, n)
	}
	return nil
}

// WebhookBackoff is how long a delivery waits after its n-th failed
// attempt: 10 s, doubling, at most an hour.
func WebhookBackoff(n int) time.Duration {
	d := WebhookFirstBackoff
	for i := 1; i < n && d < WebhookMaxBackoff; i++ {
		d *= 2
	}
	return min(d, WebhookMaxBackoff)
}

// WebhookAttempted is what one attempt leaves a delivery as: delivered
// when sendErr is nil, otherwise pending until the backoff has passed or,
// after the last attempt, failed.
func WebhookAttempted(d store.WebhookDelivery, sendErr error, now time.Time) store.WebhookDeliveryUpdate {
	u := store.WebhookDeliveryUpdate{ID: d.ID, Attempts: d.Attempts + 1, NextAttemptAt: now}
	switch {
	case sendErr == nil:
		u.State, u.DeliveredAt = store.WebhookDelivered, now
	case u.Attempts >= WebhookMaxAttempts:
		u.State, u.LastError = store.WebhookFailed, truncate(sendErr.Error(), maxWebhookError)
	default:
		u.State, u.LastError = store.WebhookPending, truncate(sendErr.Error(), maxWebhookError)
		u.NextAttemptAt = now.Add(WebhookBackoff(u.Attempts))
	}
	return u
}

const maxWebhookError = 512

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// WebhookSender posts one signed event body to a webhook; an error means
// the receiver did not take it (no answer, or not 2xx).
type WebhookSender interface {
	SendWebhook(ctx context.Context, url, secret string, body []byte) error
}

// WebhookBody renders the body of an event about a job: the HTTP layer
// owns the JSON shape of a job.
type WebhookBody func(event string, st JobStatus) ([]byte, error)

// Webhooks is what delivering webhooks needs from the edges.
type Webhooks struct {
	Sender WebhookSender
	Body   WebhookBody
}

// Claims on deliveries: how many one pass takes, how many are sent at
// once, and how long a claim keeps other coordinators off (a sender that
// died mid-send is retried after it).
const (
	webhookBatch       = 64
	webhookConcurrency = 8
	webhookClaimLease  = time.Minute
)

// DeliverWebhooks sends the deliveries due now, each from whichever
// coordinator claims it first, and stores how each attempt went. It
// returns how many it attempted.
func (s *Service) DeliverWebhooks(ctx context.Context, w Webhooks) (int, error) {
	var due []store.WebhookDelivery
	err := s.store.InTx(ctx, func(tx store.Tx) (err error) {
		now := s.now()
		due, err = tx.WebhookDeliveryClaim(ctx, now, now.Add(webhookClaimLease), webhookBatch)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("claiming webhook deliveries: %w", err)
	}
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, webhookConcurrency)
		mu   sync.Mutex
		errs []error
	)
	for _, d := range due {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := s.deliver(ctx, w, d); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return len(due), fmt.Errorf("delivering webhooks: %w (and %d more)", errs[0], len(errs)-1)
	}
	return len(due), nil
}

// deliver makes one attempt at d and stores its outcome.
func (s *Service) deliver(ctx context.Context, w Webhooks, d store.WebhookDelivery) error {
	var st JobStatus
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		if st.Job, err = tx.JobGet(ctx, d.JobID); err != nil {
			return err
		}
		st.Escrow, st.Progress, st.Lifecycle, err = jobDetails(ctx, tx, d.JobID)
		return err
	})
	if err != nil {
		return fmt.Errorf("loading job %d for its webhook: %w", d.JobID, err)
	}
	body, err := w.Body(d.Event, st)
	if err != nil {
		return fmt.Errorf("rendering %s of job %d: %w", d.Event, d.JobID, err)
	}
	sendCtx, cancel := context.WithTimeout(ctx, WebhookTimeout)
	sendErr := w.Sender.SendWebhook(sendCtx, d.URL, d.Secret, body)
	cancel()
	if ctx.Err() != nil {
		return nil // stopping: the claim runs out and the delivery is retried
	}
	u := WebhookAttempted(d, sendErr, s.now())
	if err := s.store.InTx(ctx, func(tx store.Tx) error { return tx.WebhookDeliveryUpdate(ctx, u) }); err != nil {
		return fmt.Errorf("storing the attempt at delivery %d: %w", d.ID, err)
	}
	switch u.State {
	case store.WebhookFailed:
		s.log.Warn("webhook failed for good", "job", d.JobID, "event", d.Event, "attempts", u.Attempts, "err", u.LastError)
	case store.WebhookPending:
		s.log.Info("webhook attempt failed; will retry", "job", d.JobID, "event", d.Event, "attempts", u.Attempts,
			"retry_at", u.NextAttemptAt, "err", u.LastError)
	}
	return nil
}

// RunWebhooks delivers due webhooks every interval until ctx ends. Every
// coordinator runs it; each delivery is claimed by one of them.
func (s *Service) RunWebhooks(ctx context.Context, w Webhooks, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.DeliverWebhooks(ctx, w); err != nil && ctx.Err() == nil {
				s.log.Error("delivering webhooks failed", "err", err)
			}
		}
	}
}
