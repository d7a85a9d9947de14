package httpapi

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// maxResultsBody bounds a processor's result file.
const maxResultsBody = 16 << 20

func payoutRunJSON(r store.PayoutRun, lines []store.PayoutLine) api.PayoutRun {
	out := api.PayoutRun{ID: r.ID, Key: r.Key, State: r.State, ThresholdMicros: r.ThresholdMicros, LineCount: r.LineCount,
		TotalMicros: r.TotalMicros, Currency: payouts.Currency, CreatedAt: r.CreatedAt}
	if !r.ExportedAt.IsZero() {
		out.ExportedAt = &r.ExportedAt
	}
	for _, l := range lines {
		out.Lines = append(out.Lines, payoutLineJSON(l))
	}
	return out
}

func payoutLineJSON(l store.PayoutLine) api.PayoutLine {
	return api.PayoutLine{ID: l.ID, RunID: l.RunID, ContributorID: l.ContributorID, ContributorName: l.ContributorName,
		AmountMicros: l.AmountMicros, State: l.State, Reference: l.Reference, UpdatedAt: l.UpdatedAt,
		Method: string(l.Method), DestinationMasked: payouts.MaskDestination(l.Destination)}
}

func (s *server) handlePayoutRunCreate() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			s.error(w, r, workunits.Errorf(workunits.EINVALID, "the Idempotency-Key header is required: it names the run, so a retried request makes one run"))
			return
		}
		var req api.CreatePayoutRunRequest
		if r.ContentLength != 0 {
			if err := decode(w, r, maxJSONBody, &req); err != nil {
				s.error(w, r, err)
				return
			}
		}
		if req.ThresholdMicros < 0 {
			s.error(w, r, workunits.Errorf(workunits.EINVALID, "threshold_micros must be positive, got %d", req.ThresholdMicros))
			return
		}
		run, err := s.svc.CreatePayoutRun(r.Context(), key, req.ThresholdMicros)
		if err != nil {
			s.error(w, r, err)
			return
		}
		status := http.StatusCreated
		if !run.Created {
			status = http.StatusOK
		}
		writeJSON(w, status, payoutRunJSON(run.PayoutRun, run.Lines))
	}
}

func (s *server) handlePayoutRunList() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, err := queryInt(r, "limit", service.MaxPayoutRunList)
		if err != nil {
			s.error(w, r, err)
			return
		}
		before, err := queryInt(r, "before", 0)
		if err != nil {
			s.error(w, r, err)
			return
		}
		runs, err := s.svc.ListPayoutRuns(r.Context(), int64(before), limit)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := api.PayoutRunList{Runs: make([]api.PayoutRun, len(runs))}
		for i, run := range runs {
			out.Runs[i] = payoutRunJSON(run, nil)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *server) handlePayoutRunGet() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "runID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		run, err := s.svc.GetPayoutRun(r.Context(), id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, payoutRunJSON(run.PayoutRun, run.Lines))
	}
}

// handlePayoutRunFile serves the run's file for the processor, as an
// attachment; handing it out marks the run exported.
func (s *server) handlePayoutRunFile(f service.PayoutFormat) http.HandlerFunc {
	contentType := map[service.PayoutFormat]string{service.PayoutCSV: "text/csv; charset=utf-8", service.PayoutJSON: "application/json"}[f]
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "runID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		data, err := s.svc.PayoutRunFile(r.Context(), id, f)
		if err != nil {
			s.error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, service.PayoutFileName(id, f)))
		_, _ = w.Write(data)
	}
}

// handlePayoutResults imports the processor's result file: CSV
// (text/csv) or JSON (application/json) by Content-Type.
func (s *server) handlePayoutResults() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "runID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		ct := strings.ToLower(r.Header.Get("Content-Type"))
		isJSON, isCSV := strings.HasPrefix(ct, "application/json"), strings.HasPrefix(ct, "text/csv")
		if !isJSON && !isCSV {
			s.error(w, r, workunits.Errorf(workunits.EINVALID, "Content-Type must be text/csv or application/json, got %q", ct))
			return
		}
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxResultsBody))
		if err != nil {
			s.error(w, r, decodeError(err))
			return
		}
		// The body must be what its Content-Type says: the parser tells
		// the formats apart by the first character.
		if trimmed := strings.TrimLeft(string(data), " \t\r\n\ufeff"); trimmed != "" && (trimmed[0] == '[') != isJSON {
			s.error(w, r, workunits.Errorf(workunits.EINVALID, "the body is not %s", map[bool]string{true: "a JSON array", false: "CSV"}[isJSON]))
			return
		}
		imp, err := s.svc.ImportPayoutResults(r.Context(), id, data)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, api.PayoutImportResult{Settled: imp.Settled, Returned: imp.Returned, Unchanged: imp.Unchanged,
			Run: payoutRunJSON(imp.Run, nil)})
	}
}

func (s *server) handleContributorPayouts() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		lines, err := s.svc.ContributorPayouts(r.Context(), contributorOf(r).ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := api.ContributorPayouts{Currency: payouts.Currency, Lines: make([]api.PayoutLine, len(lines))}
		for i, l := range lines {
			out.Lines[i] = payoutLineJSON(l)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// writeCSV answers with a CSV attachment.
func writeCSV(w http.ResponseWriter, filename string, rows [][]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, filename))
	cw := csv.NewWriter(w)
	_ = cw.WriteAll(rows) // the client is gone if this fails
}

// handleContributorStatement serves every ledger entry on the
// contributor's accounts as CSV, with each account's running balance.
func (s *server) handleContributorStatement() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := contributorOf(r)
		entries, err := s.svc.ContributorStatement(r.Context(), c.ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeCSV(w, service.StatementFilename(c.ID), service.StatementCSV(entries))
	}
}

func spendJSON(s service.Spend) api.Spend {
	return api.Spend{FundedMicros: s.Funded, EscrowedMicros: s.Escrowed, ContributorsMicros: s.Contributors, FeesMicros: s.Fees,
		VoidedMicros: s.Voided, ReleasedMicros: s.Released, ClawedBackMicros: s.ClawedBack}
}

func (s *server) handleProjectSpend() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sp, err := s.svc.ProjectSpend(r.Context(), projectOf(r).ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := api.ProjectSpend{ProjectID: sp.ProjectID, Currency: payouts.Currency, BudgetMicros: sp.Budget, Total: spendJSON(sp.Total),
			Jobs: make([]api.JobSpend, len(sp.Jobs))}
		for i, j := range sp.Jobs {
			out.Jobs[i] = api.JobSpend{JobID: j.JobID, EscrowMicros: j.Escrow, Spend: spendJSON(j.Spend)}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// handleProjectSpendCSV serves the spend as CSV: a row per job, then the
// total (job_id empty), amounts in micro-units.
func (s *server) handleProjectSpendCSV() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sp, err := s.svc.ProjectSpend(r.Context(), projectOf(r).ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		row := func(job string, x service.Spend, escrow int64) []string {
			out := []string{job}
			for _, v := range []int64{x.Funded, x.Escrowed, x.Contributors, x.Fees, x.Voided, x.Released, x.ClawedBack, escrow} {
				out = append(out, strconv.FormatInt(v, 10))
			}
			return append(out, payouts.Currency)
		}
		rows := [][]string{{"job_id", "funded_micros", "escrowed_micros", "contributors_micros", "fees_micros", "voided_micros",
			"released_micros", "clawed_back_micros", "escrow_micros", "currency"}}
		var escrow int64
		for _, j := range sp.Jobs {
			rows = append(rows, row(strconv.FormatInt(j.JobID, 10), j.Spend, j.Escrow))
			escrow += j.Escrow
		}
		rows = append(rows, row("", sp.Total, escrow))
		writeCSV(w, fmt.Sprintf("project-%d-spend.csv", sp.ProjectID), rows)
	}
}
