package httpapi

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

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
		share := workunits.DefaultShare
		if req.Share != nil {
			share = *req.Share
		}
		p, key, err := s.svc.CreateProjectWithShare(r.Context(), req.Name, share)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, api.Project{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt,
			Currency: payouts.Currency, APIKey: key, Share: p.Share})
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

// handleRefusedCredits lists, oldest task first, the rewards the ledger
// refused and the payer is retrying. ?limit=N shows fewer.
func (s *server) handleRefusedCredits() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, err := queryInt(r, "limit", service.MaxRefusedList)
		if err != nil {
			s.error(w, r, err)
			return
		}
		credits, err := s.svc.RefusedCredits(r.Context(), limit)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := make([]api.RefusedCredit, len(credits))
		for i, c := range credits {
			out[i] = api.RefusedCredit{TaskID: c.TaskID, JobID: c.JobID, ContributorID: c.ContributorID, AmountMicros: c.AmountMicros,
				Reason: c.Reason, Attempts: c.Attempts, RefusedAt: c.RefusedAt, RetryAt: c.RetryAt}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *server) handleProjectGet() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := projectOf(r)
		budget, err := s.svc.ProjectBudget(r.Context(), p.ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, api.Project{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, BudgetMicros: budget, Currency: payouts.Currency,
			Share: p.Share})
	}
}

func (s *server) handleAppVersionUpload() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		if ct != "application/wasm" && ct != "application/octet-stream" {
			s.error(w, r, workunits.Errorf(workunits.EINVALID, "upload the module as the body with Content-Type application/wasm, got %q", ct))
			return
		}
		module, err := io.ReadAll(http.MaxBytesReader(w, r.Body, service.MaxModuleSize))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.error(w, r, workunits.Errorf(workunits.ETOOLARGE, "module is over %d bytes", tooBig.Limit))
			return
		}
		if err != nil {
			s.error(w, r, workunits.Errorf(workunits.EINVALID, "reading the upload: %v", err))
			return
		}
		v, err := s.svc.UploadAppVersion(r.Context(), projectOf(r).ID, chi.URLParam(r, "app"), module)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, api.AppVersion{App: v.AppName, Version: v.Version, SHA256: v.ModuleSHA256,
			Size: v.Size, CreatedAt: v.CreatedAt})
	}
}

func (s *server) handleJobSubmit() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.SubmitJobRequest
		if err := decode(w, r, maxJobBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		inputs, err := splitJob(req)
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
		st, err := s.svc.SubmitJob(r.Context(), projectOf(r).ID, service.JobRequest{
			App: req.App, Version: req.Version, Inputs: inputs, RewardMicros: req.RewardMicros,
			Policy: req.Policy.Workunits(), Priority: req.Priority,
		})
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, jobJSON(st.Job, nil, st.Escrow))
	}
}

// splitJob expands the request's units with the splitter it names.
func splitJob(req api.SubmitJobRequest) ([][]byte, error) {
	switch {
	case strings.TrimSpace(req.App) == "":
		return nil, workunits.Errorf(workunits.EINVALID, "app is required")
	case req.Units != nil && req.Sweep != nil:
		return nil, workunits.Errorf(workunits.EINVALID, "give either units or sweep, not both")
	case req.Sweep != nil:
		return workunits.ExpandSweep(req.Sweep)
	default:
		return workunits.ListInputs(req.Units)
	}
}

func jobJSON(j workunits.Job, p *store.JobProgress, escrow int64) api.Job {
	out := api.Job{ID: j.ID, State: string(j.State), Priority: j.Priority, UnitCount: j.UnitCount, RewardMicros: j.RewardMicros,
		EscrowMicros: escrow, CreatedAt: j.CreatedAt, Policy: api.PolicyOf(j.Policy)}
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
		writeJSON(w, http.StatusOK, jobJSON(st.Job, &st.Progress, st.Escrow))
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
				if err := enc.Encode(api.Result{Seq: u.Seq, State: string(u.State), Error: u.Error, Input: u.Input, Output: u.Output}); err != nil {
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
