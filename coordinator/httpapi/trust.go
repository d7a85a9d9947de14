package httpapi

import (
	"context"
	"net/http"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (s *server) handleHostTrust() http.HandlerFunc {
	return s.hostStandingHandler((*service.Service).HostStanding)
}

func (s *server) handleHostUnblock() http.HandlerFunc {
	return s.hostStandingHandler((*service.Service).UnblockHost)
}

// hostStandingHandler answers with the host's standing after do.
func (s *server) hostStandingHandler(do func(*service.Service, context.Context, int64) (service.HostStanding, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "hostID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		st, err := do(s.svc, r.Context(), id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, hostStandingJSON(st))
	}
}

func hostStandingJSON(st service.HostStanding) api.HostStanding {
	q := st.Quota
	out := api.HostStanding{HostID: q.HostID, DailyQuota: q.Quota(), LeasedToday: q.LeasedToday, InvalidStreak: q.InvalidStreak,
		Blocked: q.Blocked(), BlockedReason: q.BlockedReason, AppVersions: make([]api.AppVersionTrust, len(st.Trust))}
	if q.Blocked() {
		out.BlockedAt = &q.BlockedAt
	}
	if st.OpsPerSecond > 0 {
		out.OpsPerSecond = &st.OpsPerSecond
	}
	for i, t := range st.Trust {
		out.AppVersions[i] = api.AppVersionTrust{AppVersionID: t.AppVersionID, ConsecutiveValid: t.ConsecutiveValid,
			ValidTotal: t.ValidTotal, InvalidTotal: t.InvalidTotal, SpotCheckFailures: t.SpotCheckFailures,
			ReplicateProbability: workunits.ReplicateProbability(t.ConsecutiveValid)}
		if !t.LastVerifiedAt.IsZero() {
			out.AppVersions[i].LastVerifiedAt = &t.LastVerifiedAt
		}
	}
	return out
}

func (s *server) handleHostClawback() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "hostID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		var req api.ClawbackRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		c, err := s.svc.ClawBack(r.Context(), id, req.Since, req.Reason)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, clawbackJSON(c))
	}
}

func (s *server) handleHostClawbacks() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "hostID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		list, err := s.svc.Clawbacks(r.Context(), id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := api.ClawbackList{Clawbacks: make([]api.Clawback, len(list))}
		for i, c := range list {
			out.Clawbacks[i] = clawbackJSON(c)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func clawbackJSON(c store.Clawback) api.Clawback {
	out := api.Clawback{ID: c.ID, HostID: c.HostID, Reason: c.Reason, RequestedAt: c.RequestedAt, TasksInvalidated: c.TasksInvalidated,
		UnitsReopened: c.UnitsReopened, UnitsFailed: c.UnitsFailed, AmountMicros: c.AmountMicros}
	if !c.Since.IsZero() {
		out.Since = &c.Since
	}
	if !c.DoneAt.IsZero() {
		out.DoneAt = &c.DoneAt
	}
	return out
}
