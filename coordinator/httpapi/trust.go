package httpapi

import (
	"context"
	"net/http"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/service"
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
