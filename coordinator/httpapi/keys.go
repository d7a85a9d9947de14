package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// callerCtxKey carries the service.ProjectCaller that requireProject found.
type callerCtxKey struct{}

func withCaller(ctx context.Context, c service.ProjectCaller) context.Context {
	return context.WithValue(context.WithValue(ctx, projectKey, c.Project), callerCtxKey{}, c)
}

func callerOf(r *http.Request) service.ProjectCaller {
	return r.Context().Value(callerCtxKey{}).(service.ProjectCaller)
}

// requireRole lets through only project keys whose role allows need; it
// goes after requireProject. Wrong role: 403, with what was needed.
func (s *server) requireRole(need workunits.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := checkRole(r, need); err != nil {
				s.error(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// requireRoleByMethod is the floor under every project route: reading needs
// a viewer, anything else a researcher. Routes that need more say so with
// requireRole; a route added without a thought for roles still does not
// let a viewer change anything.
func (s *server) requireRoleByMethod(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		need := workunits.RoleResearcher
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			need = workunits.RoleViewer
		}
		if err := checkRole(r, need); err != nil {
			s.error(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func checkRole(r *http.Request, need workunits.Role) error {
	k := callerOf(r).Key
	if k.Role.Allows(need) {
		return nil
	}
	return workunits.Errorf(workunits.EFORBIDDEN, "%s %s needs a key with role %s or above; key %d has role %s",
		r.Method, r.URL.Path, need, k.ID, k.Role)
}

func projectJSON(v service.ProjectView) api.Project {
	return api.Project{ID: v.ID, Name: v.Name, CreatedAt: v.CreatedAt, BudgetMicros: v.BudgetMicros, Currency: payouts.Currency,
		Share: v.Share, SigningPublicKey: encodeOptional(v.SigningKey), Description: v.Description}
}

func (s *server) handleProjectList() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		projects, err := s.svc.Projects(r.Context())
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := api.ProjectList{Projects: make([]api.Project, len(projects))}
		for i, p := range projects {
			out.Projects[i] = projectJSON(p)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// handleProjectShow is GET /projects/{projectID}, the operator's view of
// any project (a project key's is GET /project).
func (s *server) handleProjectShow() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "projectID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		p, err := s.svc.Project(r.Context(), id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, projectJSON(p))
	}
}

func (s *server) handleProjectUpdate() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "projectID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		var req api.UpdateProjectRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		p, err := s.svc.UpdateProject(r.Context(), id, service.ProjectChange{Name: req.Name, Share: req.Share, Description: req.Description})
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, projectJSON(p))
	}
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func keyJSON(k workunits.APIKey) api.APIKey {
	return api.APIKey{ID: k.ID, MemberID: k.MemberID, Name: k.Name, Role: string(k.Role), Prefix: k.Prefix,
		CreatedAt: k.CreatedAt, RevokedAt: optionalTime(k.RevokedAt)}
}

func memberJSON(m workunits.Member) api.Member {
	return api.Member{ID: m.ID, Name: m.Name, Email: m.Email, Role: string(m.Role), CreatedAt: m.CreatedAt,
		RemovedAt: optionalTime(m.RemovedAt)}
}

func (s *server) handleKeyList() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		keys, err := s.svc.APIKeys(r.Context(), projectOf(r).ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := api.APIKeyList{Keys: make([]api.APIKey, len(keys))}
		for i, k := range keys {
			out.Keys[i] = keyJSON(k)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *server) handleKeyCreate() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.CreateAPIKeyRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		k, secret, err := s.svc.CreateAPIKey(r.Context(), callerOf(r), service.NewAPIKey{Name: req.Name, Role: req.Role, MemberID: req.MemberID})
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := keyJSON(k)
		out.Key = secret
		writeJSON(w, http.StatusCreated, out)
	}
}

func (s *server) handleKeyRevoke() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "keyID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		if _, err := s.svc.RevokeAPIKey(r.Context(), callerOf(r), id); err != nil {
			s.error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *server) handleMemberList() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		members, err := s.svc.Members(r.Context(), projectOf(r).ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := api.MemberList{Members: make([]api.Member, len(members))}
		for i, m := range members {
			out.Members[i] = memberJSON(m)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *server) handleMemberCreate() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.CreateMemberRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		m, err := s.svc.AddMember(r.Context(), callerOf(r), service.NewMember{Name: req.Name, Email: req.Email, Role: req.Role})
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, memberJSON(m))
	}
}

func (s *server) handleMemberRemove() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "memberID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		if _, err := s.svc.RemoveMember(r.Context(), callerOf(r), id); err != nil {
			s.error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
