package httpapi

import (
	"net/http"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// handleProjectPatch changes a project's share (operator only).
func (s *server) handleProjectPatch() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "projectID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		var req api.PatchProjectRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		if req.Share == nil {
			s.error(w, r, workunits.Errorf(workunits.EINVALID, "nothing to change: give share"))
			return
		}
		p, err := s.svc.SetProjectShare(r.Context(), id, *req.Share)
		if err != nil {
			s.error(w, r, err)
			return
		}
		budget, err := s.svc.ProjectBudget(r.Context(), p.ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, api.Project{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, BudgetMicros: budget,
			Currency: payouts.Currency, Share: p.Share})
	}
}
