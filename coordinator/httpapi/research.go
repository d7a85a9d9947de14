package httpapi

import (
	"bufio"
	"encoding/json"
	"net/http"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (s *server) handleProjectCreate() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.CreateProjectRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		p, key, err := s.createProject(r.Context(), req)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, api.Project{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt,
			Currency: payouts.Currency, APIKey: key, SigningPublicKey: req.SigningPublicKey, Share: p.Share,
			Description: p.Description})
	}
}

func (s *server) handleProjectFund() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "projectID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		var req api.FundRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		balance, err := s.svc.FundProject(r.Context(), id, req.AmountMicros, req.IdempotencyKey)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, api.FundResponse{ProjectID: id, BudgetMicros: balance, Currency: payouts.Currency})
	}
}

func (s *server) handleLedgerAudit() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, err := s.svc.LedgerAudit(r.Context())
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, api.LedgerAudit{Balanced: a.Balanced(), Transactions: a.Transactions, Entries: a.Entries,
			Sum: a.Sum, Unbalanced: a.Unbalanced, NegativeAccounts: a.NegativeAccounts, StaleBalances: a.StaleBalances})
	}
}

// handleRefusedCredits lists, in queue order, the steps of rewards the
// ledger refused and the payer is retrying. ?limit=N shows fewer.
func (s *server) handleRefusedCredits() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, err := queryInt(r, "limit", service.MaxRefusedList)
		if err != nil {
			s.error(w, r, err)
			return
		}
		moves, err := s.svc.RefusedMoney(r.Context(), limit)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := make([]api.RefusedCredit, len(moves))
		for i, c := range moves {
			out[i] = api.RefusedCredit{Kind: string(c.Kind), TaskID: c.TaskID, JobID: c.JobID, ContributorID: c.ContributorID,
				AmountMicros: c.AmountMicros, FeeMicros: c.FeeMicros, Reason: c.Reason, Attempts: c.Attempts, RefusedAt: c.RefusedAt, RetryAt: c.RetryAt}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *server) handleProjectGet() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := s.svc.Project(r.Context(), projectOf(r).ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, projectJSON(v))
	}
}

func (s *server) handleJobSubmit() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.SubmitJobRequest
		requestHash := hashingBody(r)
		if err := decode(w, r, maxJobBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		inputs, chunks, err := splitJob(req)
		if err != nil {
			s.error(w, r, err)
			return
		}
		// Checked before converting: a huge value would wrap round to a small duration.
		if maxSec := int(workunits.MaxDeadline / time.Second); req.Policy.DeadlineSeconds < 0 || req.Policy.DeadlineSeconds > maxSec {
			s.error(w, r, workunits.Errorf(workunits.EINVALID, "policy.deadline_seconds must be between %d and %d",
				int(workunits.MinDeadline/time.Second), maxSec))
			return
		}
		policy := req.Policy.Workunits()
		policy.Adaptive = req.AdaptiveReplication
		st, err := s.svc.SubmitJob(r.Context(), projectOf(r).ID, service.JobRequest{
			App: req.App, Version: req.Version, Inputs: inputs, RewardMicros: req.RewardMicros,
			Policy: policy, Webhook: webhookOf(req.Webhook),
			Chunks: chunks, BudgetCapMicros: req.BudgetCapMicros,
			IdempotencyKey: r.Header.Get("Idempotency-Key"), RequestHash: requestHash(), Priority: req.Priority,
		})
		if err != nil {
			s.error(w, r, err)
			return
		}
		status := http.StatusCreated
		if st.Replayed {
			status = http.StatusOK
		}
		writeJSON(w, status, jobJSON(st.Job, nil, st.Escrow))
	}
}

func jobJSON(j workunits.Job, p *store.JobProgress, escrow int64) api.Job {
	out := api.Job{ID: j.ID, State: string(j.State), Priority: j.Priority, UnitCount: j.UnitCount, RewardMicros: j.RewardMicros,
		EscrowMicros: escrow, CreatedAt: j.CreatedAt, Policy: api.PolicyOf(j.Policy), Validator: api.ValidatorOf(j.Validator),
		AdaptiveReplication: j.Policy.Adaptive}
	if !j.FinishedAt.IsZero() {
		out.FinishedAt = &j.FinishedAt
	}
	if p != nil {
		out.Progress = &api.Progress{Units: counts(p.Units), Tasks: counts(p.Tasks), Outcomes: counts(p.Outcomes),
			Validations: counts(p.Validations), CPUSeconds: p.CPUTime.Seconds()}
	}
	return out
}

func counts[K ~string](m map[K]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[string(k)] = v
	}
	return out
}

func (s *server) handleJobGet() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "jobID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		st, err := s.svc.Job(r.Context(), projectOf(r).ID, id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := jobStatusJSON(st)
		withStats(out.Progress, st.Stats)
		writeJSON(w, http.StatusOK, out)
	}
}

// handleJobResults streams every unit as NDJSON, a page at a time, so a
// large job is never held in memory. ?after=SEQ resumes after a unit.
func (s *server) handleJobResults() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "jobID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		after, err := queryInt(r, "after", -1)
		if err != nil {
			s.error(w, r, err)
			return
		}
		project := projectOf(r).ID
		page, err := s.svc.JobResults(r.Context(), project, id, after, service.MaxResultPage)
		if err != nil {
			s.error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		bw := bufio.NewWriter(w)
		enc := json.NewEncoder(bw)
		for len(page) > 0 {
			for _, u := range page {
				if err := enc.Encode(api.Result{Seq: u.Seq, State: string(u.State), Error: u.Error, Input: u.Input, Output: u.Output,
					InputRef: inputRefJSON(u.InputRef)}); err != nil {
					return // the client went away
				}
			}
			if len(page) < service.MaxResultPage {
				break
			}
			if page, err = s.svc.JobResults(r.Context(), project, id, page[len(page)-1].Seq, service.MaxResultPage); err != nil {
				// Headers are sent; all that is left is to stop the stream short.
				s.log.Error("streaming results", "job", id, "err", err)
				break
			}
		}
		_ = bw.Flush()
	}
}
