package httpapi

import (
	"net/http"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// handleHostContact records what a worker is doing and answers with its
// contributor's web preferences.
func (s *server) handleHostContact() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.HostContactRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		state := workunits.HostState{State: workunits.HostRunState(req.State), Reason: req.Reason, Detail: req.Detail,
			TasksRunning: req.TasksRunning}
		if err := state.Validate(); err != nil { // before the benchmark: nothing is stored from a bad request
			s.error(w, r, err)
			return
		}
		if req.OpsPerSecond != nil {
			if err := s.svc.SetHostBenchmark(r.Context(), hostOf(r).ID, *req.OpsPerSecond); err != nil {
				s.error(w, r, err)
				return
			}
		}
		p, err := s.svc.HostContact(r.Context(), hostOf(r), state)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, api.HostContactResponse{Preferences: p.Preferences, PreferencesVersion: p.Version})
	}
}

func (s *server) handleWebPreferencesGet() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.svc.WebPreferences(r.Context(), contributorOf(r).ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, contributorPreferences(p))
	}
}

func (s *server) handleWebPreferencesPut() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req workunits.WebPreferences
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		p, err := s.svc.SetWebPreferences(r.Context(), contributorOf(r).ID, req)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, contributorPreferences(p))
	}
}

func contributorPreferences(p store.ContributorPreferences) api.ContributorPreferences {
	out := api.ContributorPreferences{Preferences: p.Preferences, Version: p.Version}
	if !p.UpdatedAt.IsZero() {
		out.UpdatedAt = &p.UpdatedAt
	}
	return out
}
