package httpapi

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// idleRetry is how long a host waits after asking for work and getting none.
const idleRetry = 5

func (s *server) handleContributorCreate() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.CreateContributorRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		var (
			c   workunits.Contributor
			key string
			err error
		)
		switch {
		case req.Email == "" && req.Password == "":
			c, key, err = s.svc.CreateContributor(r.Context(), req.Name)
		case req.Email == "" || req.Password == "":
			err = workunits.Errorf(workunits.EINVALID, "email and password go together: give both to sign in to the dashboard, or neither")
		default:
			var a service.NewAccount
			a, err = s.svc.SignUpNoSession(r.Context(), req.Email, req.Password, req.Name)
			c, key = a.Contributor, a.AccountKey
		}
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, api.Contributor{ID: c.ID, Name: c.Name, Email: c.Email, AccountKey: key})
	}
}

func (s *server) handleHostRegister() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.RegisterHostRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		info := service.HostInfo{Name: req.Name, Platform: req.Platform, Cores: req.Cores}
		if req.OpsPerSecond != nil {
			if err := service.CheckOpsPerSecond(*req.OpsPerSecond); err != nil {
				s.error(w, r, err)
				return
			}
			info.OpsPerSecond = *req.OpsPerSecond
		}
		h, token, err := s.svc.RegisterHost(r.Context(), contributorOf(r).ID, info)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, api.Host{ID: h.ID, Name: h.Name, HostToken: token})
	}
}

// handleEarnings serves the earnings of the contributor whom of names: the
// one signed in with an account key, or the owner of a host (for worker
// status, which holds only the host's token).
func (s *server) handleEarnings(whom func(*http.Request) int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e, err := s.svc.ContributorEarnings(r.Context(), whom(r))
		if err != nil {
			s.error(w, r, err)
			return
		}
		credit, err := s.svc.ContributorCredit(r.Context(), whom(r))
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := api.Earnings{Currency: payouts.Currency, AvailableMicros: e.AvailableMicros, PendingMicros: e.PendingMicros,
			InFlightMicros: e.InFlightMicros, PaidMicros: e.PaidMicros, TotalCredit: credit.Total, RAC: credit.RAC, Hosts: make([]api.HostEarnings, len(e.Hosts))}
		for i, h := range e.Hosts {
			out.Hosts[i] = api.HostEarnings{HostID: h.HostID, Name: h.HostName, TasksValid: h.TasksValid,
				TasksInvalid: h.TasksInvalid, TasksPending: h.TasksPending, PendingMicros: h.PendingMicros, EarnedMicros: h.EarnedMicros,
				TotalCredit: credit.Hosts[h.HostID].Total, RAC: credit.Hosts[h.HostID].RAC}
			if !h.LastContactAt.IsZero() {
				out.Hosts[i].LastContactAt = &h.LastContactAt
			}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *server) handleWorkRequest() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.WorkRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		if req.OpsPerSecond != nil {
			if err := s.svc.SetHostBenchmark(r.Context(), hostOf(r).ID, *req.OpsPerSecond); err != nil {
				s.error(w, r, err)
				return
			}
		}
		var (
			lease service.LeaseResult
			err   error
		)
		if req.MaxTasks != 0 { // 0: a busy host checking in for cancel_tasks only
			if lease, err = s.svc.LeaseWork(r.Context(), hostOf(r).ID, req.MaxTasks, req.SkipJobs); err != nil {
				s.error(w, r, err)
				return
			}
		}
		leases := lease.Tasks
		out := api.WorkResponse{Tasks: make([]api.Task, len(leases))}
		for i, l := range leases {
			out.Tasks[i] = api.Task{ID: l.TaskID, JobID: l.JobID, App: l.AppName, ModuleSHA256: l.ModuleSHA256, Input: l.Input, Deadline: l.DeadlineAt,
				ProjectID: l.ProjectID, ModuleSignature: l.ModuleSignature, SigningKey: l.SigningKey}
			if l.InputRef != nil {
				out.Tasks[i].Input, out.Tasks[i].InputRef = nil, inputRefJSON(l.InputRef)
			}
		}
		if len(leases) == 0 {
			out.RetryAfterSeconds = idleRetry
			if lease.RetryAfter > 0 { // the daily quota is used up: until the next UTC day
				out.RetryAfterSeconds = int((lease.RetryAfter + time.Second - 1) / time.Second)
			}
		}
		if out.CancelTasks, err = s.svc.CancelledTasks(r.Context(), hostOf(r).ID); err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *server) handleReports() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.ReportRequest
		if err := decode(w, r, maxReportBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		reports := make([]workunits.Report, len(req.Reports))
		for i, rep := range req.Reports {
			if rep.CPUSeconds < 0 || rep.CPUSeconds > 365*24*3600 {
				s.error(w, r, workunits.Errorf(workunits.EINVALID, "task %d: cpu_seconds is out of range", rep.TaskID))
				return
			}
			reports[i] = workunits.Report{TaskID: rep.TaskID, Outcome: workunits.Outcome(rep.Outcome), Output: rep.Output,
				CPUTime: time.Duration(rep.CPUSeconds * float64(time.Second)), Stderr: rep.Stderr}
		}
		if err := s.svc.ReportResults(r.Context(), hostOf(r).ID, reports); err != nil {
			s.error(w, r, err)
			return
		}
		cancelled, err := s.svc.CancelledTasks(r.Context(), hostOf(r).ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, api.ReportResponse{Accepted: len(reports), CancelTasks: cancelled})
	}
}

func (s *server) handleModule() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sha := chi.URLParam(r, "sha256")
		data, err := s.svc.Module(r.Context(), sha)
		if err != nil {
			s.error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/wasm")
		// Content-addressed: the bytes behind a hash never change.
		w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
		w.Header().Set("ETag", `"`+sha+`"`)
		_, _ = w.Write(data)
	}
}
