package api

import "time"

// WebhookConfig asks, when submitting a job, to be told when it ends. The
// secret signs each event (see client.VerifyWebhook) and is never shown
// again.
type WebhookConfig struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// WebhookStatus is how the announcement of a job's end is going. State is
// idle (no event yet), pending (sent at next_attempt_at), delivered or
// failed (given up after the last attempt).
type WebhookStatus struct {
	URL           string     `json:"url"`
	Event         string     `json:"event,omitempty"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
}

// WebhookEvent is the body POSTed to a job's webhook.
type WebhookEvent struct {
	Event string `json:"event"` // job.done, job.failed or job.cancelled
	Job   Job    `json:"job"`
}
