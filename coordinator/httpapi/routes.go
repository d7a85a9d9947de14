package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/web"
	"github.com/nightshift-platform/nightshift/workunits"
)

// routes is the whole API surface on one screen.
func (s *server) routes(r chi.Router) {
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed)
	r.Get("/healthz", handleHealth)

	r.Route("/api/v1", func(r chi.Router) {
		// Operator: projects and money coming in.
		r.With(s.requireOperator).Post("/projects", s.handleProjectCreate())
		r.With(s.requireOperator).Get("/projects", s.handleProjectList())
		r.With(s.requireOperator).Get("/projects/{projectID}", s.handleProjectShow())
		r.With(s.requireOperator).Patch("/projects/{projectID}", s.handleProjectUpdate())
		r.With(s.requireOperator).Post("/projects/{projectID}/funds", s.handleProjectFund())
		r.With(s.requireOperator).Put("/projects/{projectID}/signing-key", s.handleProjectSigningKey())
		r.With(s.requireOperator).Get("/ledger/audit", s.handleLedgerAudit())
		r.With(s.requireOperator).Get("/credits/refused", s.handleRefusedCredits())
		r.With(s.requireOperator).Get("/hosts/{hostID}/trust", s.handleHostTrust())
		r.With(s.requireOperator).Post("/hosts/{hostID}/unblock", s.handleHostUnblock())
		r.With(s.requireOperator).Post("/hosts/{hostID}/clawback", s.handleHostClawback())
		r.With(s.requireOperator).Get("/hosts/{hostID}/clawbacks", s.handleHostClawbacks())
		// Operator: paying contributors (payouts.go).
		r.With(s.requireOperator).Post("/payout-runs", s.handlePayoutRunCreate())
		r.With(s.requireOperator).Get("/payout-runs", s.handlePayoutRunList())
		r.With(s.requireOperator).Get("/payout-runs/{runID}", s.handlePayoutRunGet())
		r.With(s.requireOperator).Get("/payout-runs/{runID}/file.csv", s.handlePayoutRunFile(service.PayoutCSV))
		r.With(s.requireOperator).Get("/payout-runs/{runID}/file.json", s.handlePayoutRunFile(service.PayoutJSON))
		r.With(s.requireOperator).Post("/payout-runs/{runID}/results", s.handlePayoutResults())

		// Research side: one project's key, acting with its role. Reading
		// needs a viewer and changing a researcher, whatever a route says.
		r.Group(func(r chi.Router) {
			r.Use(s.requireProject, s.requireRoleByMethod)
			viewer, researcher, admin := s.requireRole(workunits.RoleViewer), s.requireRole(workunits.RoleResearcher), s.requireRole(workunits.RoleAdmin)
			r.With(viewer).Get("/project", s.handleProjectGet())
			r.With(viewer).Get("/project/spend", s.handleProjectSpend())
			r.With(viewer).Get("/project/spend.csv", s.handleProjectSpendCSV())
			r.With(admin).Get("/project/keys", s.handleKeyList())
			r.With(admin).Post("/project/keys", s.handleKeyCreate())
			r.With(admin).Delete("/project/keys/{keyID}", s.handleKeyRevoke())
			r.With(admin).Get("/project/members", s.handleMemberList())
			r.With(admin).Post("/project/members", s.handleMemberCreate())
			r.With(admin).Delete("/project/members/{memberID}", s.handleMemberRemove())

			r.With(viewer).Get("/apps", s.handleAppList())
			r.With(viewer).Get("/apps/{app}/versions", s.handleAppVersionList())
			r.With(researcher).Post("/apps/{app}/versions", s.handleAppVersionUpload())
			r.With(viewer).Get("/apps/{app}/versions/{version}", s.handleAppVersionGet())
			r.With(researcher).Post("/apps/{app}/versions/{version}/deprecate", s.handleAppVersionDeprecate())

			r.With(researcher).Post("/blobs", s.handleBlobUpload())
			r.With(viewer).Get("/blobs", s.handleBlobList())
			r.With(viewer).Get("/blobs/{sha256}", s.handleBlobGet())

			r.With(researcher).Post("/jobs", s.handleJobSubmit())
			r.With(viewer).Get("/jobs", s.handleJobList())
			r.With(viewer).Get("/jobs/{jobID}", s.handleJobGet())
			r.With(researcher).Post("/jobs/{jobID}/cancel", s.handleJobCancel())
			r.With(researcher).Post("/jobs/{jobID}/retire", s.handleJobRetire())
			r.With(viewer).Get("/jobs/{jobID}/units", s.handleUnitList())
			r.With(viewer).Get("/jobs/{jobID}/units/{seq}", s.handleUnitGet())
			r.With(viewer).Get("/jobs/{jobID}/units/{seq}/output", s.handleUnitOutput())
			r.With(viewer).Get("/jobs/{jobID}/results", s.handleJobResultsAs())
		})

		// Contributor side: sign up, attach hosts, see earnings.
		r.With(s.limitAnonymous).Post("/contributors", s.handleContributorCreate())
		r.With(s.requireContributor).Post("/hosts", s.handleHostRegister())
		r.With(s.requireContributor).Get("/contributor/earnings", s.handleEarnings(func(r *http.Request) int64 { return contributorOf(r).ID }))
		r.With(s.requireContributor).Post("/teams", s.handleTeamCreate())
		r.With(s.requireContributor).Get("/teams", s.handleTeamList())
		r.With(s.requireContributor).Get("/teams/{teamID}", s.handleTeamGet())
		r.With(s.requireContributor).Post("/teams/{teamID}/join", s.handleTeamJoin())
		r.With(s.requireContributor).Post("/team/leave", s.handleTeamLeave())
		r.With(s.requireContributor).Get("/leaderboard", s.handleLeaderboard())
		r.With(s.requireContributor).Get("/contributor/payouts", s.handleContributorPayouts())
		r.With(s.requireContributor).Get("/contributor/statement.csv", s.handleContributorStatement())
		r.With(s.requireContributor).Get("/contributor/preferences", s.handleWebPreferencesGet())
		r.With(s.requireContributor).Put("/contributor/preferences", s.handleWebPreferencesPut())
		r.With(s.requireContributor).Get("/contributor/payout-settings", s.handlePayoutSettingsGet())
		r.With(s.requireContributor).Put("/contributor/payout-settings", s.handlePayoutSettingsPut())

		// Worker side: one host's token.
		r.Group(func(r chi.Router) {
			r.Use(s.requireHost)
			r.Post("/work", s.handleWorkRequest())
			r.Post("/reports", s.handleReports())
			r.Get("/modules/{sha256}", s.handleModule())
			r.Get("/blobs/{sha256}/range", s.handleBlobRange())
			r.Get("/host/earnings", s.handleEarnings(func(r *http.Request) int64 { return hostOf(r).ContributorID }))
			r.Post("/host/contact", s.handleHostContact())
		})
	})

	// The contributor dashboard: HTML pages, outside the JSON API.
	r.Mount("/", web.New(s.svc, s.log, web.Options{ClientIP: s.opts.ClientIP, Anonymous: s.limits.anonymous}))
}

func handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
