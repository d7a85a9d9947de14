package httpapi_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/httpapi"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
)

type payoutBundle struct {
	url      string
	st       store.Store
	project  api.Project
	ada, bob api.Contributor
}

func setupPayouts(t *testing.T) *payoutBundle {
	t.Helper()
	ctx := context.Background()
	svc, st := newService(t, service.Options{})
	srv := httptest.NewServer(httpapi.NewServer(svc, quietLog))
	t.Cleanup(srv.Close)
	b := &payoutBundle{url: srv.URL, st: st}
	operator := client.New(srv.URL, operatorKey, nil)
	var err error
	if b.project, err = operator.CreateProject(ctx, "lab"); err != nil {
		t.Fatal(err)
	}
	if b.ada, err = operator.WithKey("").CreateContributor(ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	if b.bob, err = operator.WithKey("").CreateContributor(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	// The money flow is not needed to pay out: fund, escrow and reward
	// straight into the contributors' available balances.
	txs := []payouts.Transaction{
		payouts.Fund(b.project.ID, 50_000_000, "grant"),
		payouts.Escrow(1, b.project.ID, 40_000_000),
		payouts.Reserve(1, 1, b.ada.ID, 15_000_000), payouts.Post(1, b.ada.ID, 15_000_000, 0),
		payouts.Reserve(2, 1, b.bob.ID, 20_000_000), payouts.Post(2, b.bob.ID, 20_000_000, 0),
	}
	if err := st.InTx(ctx, func(tx store.Tx) error {
		_, err := tx.LedgerRecordMany(ctx, txs, time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Runs pay only contributors with a payout method.
	for _, c := range []api.Contributor{b.ada, b.bob} {
		body := fmt.Sprintf(`{"method":"paypal","destination":"%s@example.com"}`, c.Name)
		if code, got := b.do(t, http.MethodPut, "/api/v1/contributor/payout-settings", c.AccountKey, "application/json", body); code != http.StatusOK {
			t.Fatalf("payout settings of %s: %d %s", c.Name, code, got)
		}
	}
	return b
}

// do sends a request and returns the status and body; an error status must
// come with the JSON error body.
func (b *payoutBundle) do(t *testing.T, method, path, key, contentType, body string, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, b.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		var e api.ErrorResponse
		if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code == "" {
			t.Fatalf("%s %s: %d with a body that is not a JSON error: %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, raw
}

func (b *payoutBundle) balance(t *testing.T, a payouts.Account) int64 {
	t.Helper()
	var v int64
	if err := b.st.InReadTx(context.Background(), func(tx store.Tx) (err error) {
		v, err = tx.LedgerBalance(context.Background(), a)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

func decodeAs[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
	return v
}

func TestPayoutRunsHTTP(t *testing.T) {
	b := setupPayouts(t)
	const js, csvType = "application/json", "text/csv"

	// Bad requests are refused and make no run.
	for name, tc := range map[string]struct {
		key, body, idem string
		status          int
	}{
		"no idempotency key":  {operatorKey, `{}`, "", 400},
		"negative threshold":  {operatorKey, `{"threshold_micros":-1}`, "k", 400},
		"unknown field":       {operatorKey, `{"threshold":1}`, "k", 400},
		"not JSON":            {operatorKey, `{`, "k", 400},
		"no operator key":     {"", `{}`, "k", 401},
		"a contributor's key": {b.ada.AccountKey, `{}`, "k", 401},
	} {
		var header []string
		if tc.idem != "" {
			header = []string{"Idempotency-Key", tc.idem}
		}
		if status, body := b.do(t, "POST", "/api/v1/payout-runs", tc.key, js, tc.body, header...); status != tc.status {
			t.Errorf("%s: %d %s, want %d", name, status, body, tc.status)
		}
	}
	_, raw := b.do(t, "GET", "/api/v1/payout-runs", operatorKey, "", "")
	if list := decodeAs[api.PayoutRunList](t, raw); len(list.Runs) != 0 {
		t.Fatalf("runs after refused requests: %+v", list.Runs)
	}

	status, raw := b.do(t, "POST", "/api/v1/payout-runs", operatorKey, js, "", "Idempotency-Key", "nov")
	run := decodeAs[api.PayoutRun](t, raw)
	if status != 201 || run.LineCount != 2 || run.TotalMicros != 35_000_000 || run.ThresholdMicros != service.DefaultPayoutThreshold || len(run.Lines) != 2 {
		t.Fatalf("create: %d %s", status, raw)
	}
	status, raw = b.do(t, "POST", "/api/v1/payout-runs", operatorKey, js, `{"threshold_micros":1}`, "Idempotency-Key", "nov")
	if again := decodeAs[api.PayoutRun](t, raw); status != 200 || again.ID != run.ID || again.ThresholdMicros != run.ThresholdMicros {
		t.Errorf("replay: %d %s", status, raw)
	}
	if got := b.balance(t, payouts.ContributorInflight(b.ada.ID)); got != 15_000_000 {
		t.Errorf("ada inflight = %d, want 15000000", got)
	}
	runPath := fmt.Sprintf("/api/v1/payout-runs/%d", run.ID)
	if status, raw := b.do(t, "GET", runPath, operatorKey, "", ""); status != 200 || decodeAs[api.PayoutRun](t, raw).ExportedAt != nil {
		t.Errorf("get: %d %s", status, raw)
	}
	for path, want := range map[string]int{"/api/v1/payout-runs/999": 404, "/api/v1/payout-runs/x": 400, "/api/v1/payout-runs/999/file.csv": 404} {
		if status, _ := b.do(t, "GET", path, operatorKey, "", ""); status != want {
			t.Errorf("GET %s: %d, want %d", path, status, want)
		}
	}

	// The files.
	status, raw = b.do(t, "GET", runPath+"/file.csv", operatorKey, "", "")
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if status != 200 || err != nil || len(rows) != 3 || rows[0][0] != "line_id" || rows[1][3] != "ada" || rows[1][5] != "15.000000" {
		t.Errorf("file.csv: %d %q %v", status, rows, err)
	}
	status, raw = b.do(t, "GET", runPath+"/file.json", operatorKey, "", "")
	if file := decodeAs[[]map[string]any](t, raw); status != 200 || len(file) != 2 || file[1]["contributor_name"] != "bob" {
		t.Errorf("file.json: %d %s", status, raw)
	}
	if _, raw := b.do(t, "GET", runPath, operatorKey, "", ""); decodeAs[api.PayoutRun](t, raw).ExportedAt == nil {
		t.Error("handing out the file did not mark the run exported")
	}

	// Results: bad files change nothing.
	ada, bob := run.Lines[0].ID, run.Lines[1].ID
	for name, tc := range map[string]struct {
		ct, body, want string
		status         int
	}{
		"bad status line":    {csvType, fmt.Sprintf("line_id,status\n%d,paid\n%d,lost\n", ada, bob), "line 3", 400},
		"unknown line":       {csvType, fmt.Sprintf("line_id,status\n%d,paid\n", bob+50), "not a line", 400},
		"wrong content type": {"text/plain", "line_id,status\n", "Content-Type", 400},
		"JSON sent as CSV":   {csvType, `[]`, "not CSV", 400},
	} {
		status, raw := b.do(t, "POST", runPath+"/results", operatorKey, tc.ct, tc.body)
		if status != tc.status || !strings.Contains(string(raw), tc.want) {
			t.Errorf("%s: %d %s, want %d mentioning %q", name, status, raw, tc.status, tc.want)
		}
	}
	if got := b.balance(t, payouts.ExternalPayouts); got != 0 {
		t.Fatalf("a refused import paid %d", got)
	}

	results := fmt.Sprintf(`[{"line_id":%d,"status":"paid","reference":"wire-7"},{"line_id":%d,"status":"failed"}]`, ada, bob)
	status, raw = b.do(t, "POST", runPath+"/results", operatorKey, js, results)
	if imp := decodeAs[api.PayoutImportResult](t, raw); status != 200 || imp.Settled != 1 || imp.Returned != 1 || imp.Run.State != "closed" {
		t.Errorf("import: %d %s", status, raw)
	}
	status, raw = b.do(t, "POST", runPath+"/results", operatorKey, js, results)
	if imp := decodeAs[api.PayoutImportResult](t, raw); status != 200 || imp.Unchanged != 2 || imp.Settled+imp.Returned != 0 {
		t.Errorf("second import: %d %s", status, raw)
	}
	if status, raw := b.do(t, "POST", runPath+"/results", operatorKey, csvType, fmt.Sprintf("line_id,status\n%d,failed\n", ada)); status != 409 {
		t.Errorf("contradicting import: %d %s, want 409", status, raw)
	}
	for a, want := range map[payouts.Account]int64{
		payouts.ExternalPayouts:                15_000_000,
		payouts.ContributorAvailable(b.ada.ID): 0, payouts.ContributorInflight(b.ada.ID): 0,
		payouts.ContributorAvailable(b.bob.ID): 20_000_000, payouts.ContributorInflight(b.bob.ID): 0,
	} {
		if got := b.balance(t, a); got != want {
			t.Errorf("%s = %d, want %d", a, got, want)
		}
	}
	if _, raw := b.do(t, "GET", "/api/v1/ledger/audit", operatorKey, "", ""); !decodeAs[api.LedgerAudit](t, raw).Balanced {
		t.Errorf("ledger audit: %s", raw)
	}

	// The contributor's view.
	status, raw = b.do(t, "GET", "/api/v1/contributor/payouts", b.ada.AccountKey, "", "")
	if mine := decodeAs[api.ContributorPayouts](t, raw); status != 200 || len(mine.Lines) != 1 || mine.Lines[0].State != "settled" || mine.Lines[0].Reference != "wire-7" {
		t.Errorf("contributor payouts: %d %s", status, raw)
	}
	status, raw = b.do(t, "GET", "/api/v1/contributor/statement.csv", b.ada.AccountKey, "", "")
	rows, err = csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if status != 200 || err != nil || len(rows) != 7 {
		t.Fatalf("statement: %d %q %v", status, rows, err)
	}
	// reserve, post out of pending and into available, hold out of
	// available, hold into inflight, settle.
	last := rows[6]
	if rows[1][1] != "reserve:task:1" || rows[1][3] != "1" || last[2] != "settle" || last[5] != fmt.Sprint(run.ID) ||
		last[7] != fmt.Sprintf("contributor:%d:inflight", b.ada.ID) || last[8] != "-15000000" || last[10] != "0" {
		t.Errorf("statement rows: %q", rows)
	}
	if status, _ := b.do(t, "GET", "/api/v1/contributor/statement.csv", "", "", ""); status != 401 {
		t.Errorf("statement without a key: %d, want 401", status)
	}

	// The project's view.
	status, raw = b.do(t, "GET", "/api/v1/project/spend", b.project.APIKey, "", "")
	spend := decodeAs[api.ProjectSpend](t, raw)
	if status != 200 || spend.Total.FundedMicros != 50_000_000 || spend.Total.EscrowedMicros != 40_000_000 ||
		spend.Total.ContributorsMicros != 35_000_000 || spend.BudgetMicros != 10_000_000 || len(spend.Jobs) != 1 || spend.Jobs[0].EscrowMicros != 5_000_000 {
		t.Errorf("spend: %d %s", status, raw)
	}
	status, raw = b.do(t, "GET", "/api/v1/project/spend.csv", b.project.APIKey, "", "")
	rows, err = csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if status != 200 || err != nil || len(rows) != 3 || rows[1][0] != "1" || rows[2][0] != "" || rows[2][1] != "50000000" {
		t.Errorf("spend.csv: %d %q %v", status, rows, err)
	}
	if status, _ := b.do(t, "GET", "/api/v1/project/spend", operatorKey, "", ""); status != 401 {
		t.Errorf("spend with the operator key: %d, want 401", status)
	}
}
