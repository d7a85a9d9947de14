package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// routes is the whole API surface on one screen.
func (s *server) routes(r chi.Router) {
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed)
	r.Get("/healthz", handleHealth)

	r.Route("/api/v1", func(r chi.Router) {
		// Operator: projects and money coming in.
		r.With(s.requireOperator).Post("/projects", s.handleProjectCreate())
		r.With(s.requireOperator).Post("/projects/{projectID}/funds", s.handleProjectFund())
		r.With(s.requireOperator).Patch("/projects/{projectID}", s.handleProjectPatch())
		r.With(s.requireOperator).Get("/ledger/audit", s.handleLedgerAudit())
		r.With(s.requireOperator).Get("/credits/refused", s.handleRefusedCredits())

		// Research side: one project's key.
		r.Group(func(r chi.Router) {
			r.Use(s.requireProject)
			r.Get("/project", s.handleProjectGet())
			r.Post("/apps/{app}/versions", s.handleAppVersionUpload())
			r.Post("/jobs", s.handleJobSubmit())
			r.Get("/jobs/{jobID}", s.handleJobGet())
			r.Get("/jobs/{jobID}/results", s.handleJobResults())
		})

		// Contributor side: sign up, attach hosts, see earnings.
		r.Post("/contributors", s.handleContributorCreate())
		r.With(s.requireContributor).Post("/hosts", s.handleHostRegister())
		r.With(s.requireContributor).Get("/contributor/earnings", s.handleEarnings(func(r *http.Request) int64 { return contributorOf(r).ID }))

		// Worker side: one host's token.
		r.Group(func(r chi.Router) {
			r.Use(s.requireHost)
			r.Post("/work", s.handleWorkRequest())
			r.Post("/reports", s.handleReports())
			r.Get("/modules/{sha256}", s.handleModule())
			r.Get("/host/earnings", s.handleEarnings(func(r *http.Request) int64 { return hostOf(r).ContributorID }))
		})
	})
}

func handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
