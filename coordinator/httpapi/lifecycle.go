package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/store"
)

// handleJobCancel stops a job; cancelling a cancelled job answers as the
// first time did.
func (s *server) handleJobCancel() http.HandlerFunc {
	return s.jobAction(func(r *http.Request, projectID, jobID int64) (service.JobStatus, error) {
		return s.svc.CancelJob(r.Context(), projectID, jobID)
	})
}

// handleJobRetire deletes a finished job's inputs and results.
func (s *server) handleJobRetire() http.HandlerFunc {
	return s.jobAction(func(r *http.Request, projectID, jobID int64) (service.JobStatus, error) {
		return s.svc.RetireJob(r.Context(), projectID, jobID)
	})
}

// jobAction serves a bodiless POST on one of the project's jobs, answering
// with the job as it is afterwards.
func (s *server) jobAction(act func(r *http.Request, projectID, jobID int64) (service.JobStatus, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "jobID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		st, err := act(r, projectOf(r).ID, id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, jobStatusJSON(st))
	}
}

// jobStatusJSON is a job with its progress, retirement and webhook.
func jobStatusJSON(st service.JobStatus) api.Job {
	out := jobJSON(st.Job, &st.Progress, st.Escrow)
	if l := st.Lifecycle; !l.RetiredAt.IsZero() {
		out.RetiredAt = &l.RetiredAt
	}
	out.Webhook = webhookJSON(st.Lifecycle.Webhook)
	return out
}

func webhookJSON(w *store.WebhookStatus) *api.WebhookStatus {
	if w == nil {
		return nil
	}
	out := &api.WebhookStatus{URL: w.URL, Event: w.Event, State: w.State, Attempts: w.Attempts, LastError: w.LastError}
	if !w.NextAttemptAt.IsZero() {
		out.NextAttemptAt = &w.NextAttemptAt
	}
	return out
}

func webhookOf(c *api.WebhookConfig) *service.Webhook {
	if c == nil {
		return nil
	}
	return &service.Webhook{URL: c.URL, Secret: c.Secret}
}

// WebhookBody renders the body of a job event as researchers receive it.
func WebhookBody(event string, st service.JobStatus) ([]byte, error) {
	return json.Marshal(api.WebhookEvent{Event: event, Job: jobStatusJSON(st)})
}
