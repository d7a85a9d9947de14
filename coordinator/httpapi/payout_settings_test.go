package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

func TestPayoutSettingsAPI(t *testing.T) {
	b := setupPayouts(t)
	const path = "/api/v1/contributor/payout-settings"
	js := "application/json"
	settings := func(raw []byte) api.PayoutSettings {
		t.Helper()
		var s api.PayoutSettings
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		return s
	}

	// Signed in with the account key only.
	if status, _ := b.do(t, http.MethodGet, path, "", "", ""); status != http.StatusUnauthorized {
		t.Errorf("GET without a key: %d, want 401", status)
	}
	if status, _ := b.do(t, http.MethodPut, path, operatorKey, js, `{}`); status != http.StatusUnauthorized {
		t.Errorf("PUT with the operator's key: %d, want 401", status)
	}

	status, raw := b.do(t, http.MethodPut, path, b.ada.AccountKey, js,
		`{"threshold_micros":25000000,"method":"bank_transfer","destination":"gb82 west 1234 5698 7654 32"}`)
	if status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, raw)
	}
	got := settings(raw)
	if got.ThresholdMicros == nil || *got.ThresholdMicros != 25_000_000 || got.Method != "bank_transfer" ||
		got.DestinationMasked != "******************5432" || got.MinThresholdMicros != 10_000_000 || got.UpdatedAt == nil ||
		strings.Join(got.Methods, ",") != "bank_transfer,paypal" {
		t.Errorf("PUT answered %s", raw)
	}
	if strings.Contains(string(raw), "WEST") {
		t.Errorf("the answer shows the destination unmasked: %s", raw)
	}
	_, raw = b.do(t, http.MethodGet, path, b.ada.AccountKey, "", "")
	if again := settings(raw); again.DestinationMasked != got.DestinationMasked || *again.ThresholdMicros != 25_000_000 {
		t.Errorf("GET = %s", raw)
	}
	// bob sees his own (set by setupPayouts), not ada's.
	_, raw = b.do(t, http.MethodGet, path, b.bob.AccountKey, "", "")
	if bob := settings(raw); bob.Method != "paypal" || bob.DestinationMasked != "***********.com" || bob.ThresholdMicros != nil {
		t.Errorf("bob's settings = %s", raw)
	}

	for name, body := range map[string]string{
		"malformed":          `{"method":`,
		"unknown field":      `{"method":"paypal","destination":"ada@example.com","iban":"x"}`,
		"unknown method":     `{"method":"cash","destination":"under the mattress"}`,
		"bad IBAN":           `{"method":"bank_transfer","destination":"GB82WEST12345698765431"}`,
		"bad email":          `{"method":"paypal","destination":"not-an-address"}`,
		"no method":          `{"destination":"ada@example.com"}`,
		"other method, none": `{"method":"paypal"}`,
		"zero threshold":     `{"threshold_micros":0,"method":"paypal","destination":"ada@example.com"}`,
		"low threshold":      `{"threshold_micros":9999999,"method":"paypal","destination":"ada@example.com"}`,
		"high threshold":     `{"threshold_micros":10000000001,"method":"paypal","destination":"ada@example.com"}`,
		"string threshold":   `{"threshold_micros":"25","method":"paypal","destination":"ada@example.com"}`,
		"long destination":   `{"method":"paypal","destination":"` + strings.Repeat("a", 201) + `@example.com"}`,
	} {
		status, raw := b.do(t, http.MethodPut, path, b.ada.AccountKey, js, body)
		var e api.ErrorResponse
		_ = json.Unmarshal(raw, &e)
		if status != http.StatusBadRequest || e.Error.Code != "invalid" || e.Error.Message == "" {
			t.Errorf("%s: %d %s, want 400 invalid with a message", name, status, raw)
		}
		for _, secret := range []string{"GB82WEST12345698765431", "not-an-address", "under the mattress"} {
			if strings.Contains(body, secret) && strings.Contains(string(raw), secret) {
				t.Errorf("%s: the error repeats the destination: %s", name, raw)
			}
		}
	}
	if status, raw := b.do(t, http.MethodPut, path, b.ada.AccountKey, "text/plain", `{}`); status != http.StatusBadRequest {
		t.Errorf("PUT as text/plain: %d %s", status, raw)
	}
	_, raw = b.do(t, http.MethodGet, path, b.ada.AccountKey, "", "")
	if after := settings(raw); after.Method != "bank_transfer" || *after.ThresholdMicros != 25_000_000 {
		t.Errorf("refused requests changed the settings: %s", raw)
	}

	// A run pays ada (15 available) no more: she wants 25. bob is paid, to
	// his address in the file and masked in the run.
	status, raw = b.do(t, http.MethodPost, "/api/v1/payout-runs", operatorKey, js, "", "Idempotency-Key", "dec")
	if status != http.StatusCreated {
		t.Fatalf("run: %d %s", status, raw)
	}
	var run api.PayoutRun
	if err := json.Unmarshal(raw, &run); err != nil {
		t.Fatal(err)
	}
	if len(run.Lines) != 1 || run.Lines[0].ContributorID != b.bob.ID || run.Lines[0].Method != "paypal" ||
		run.Lines[0].DestinationMasked != "***********.com" {
		t.Fatalf("run = %s, want only bob's line, masked", raw)
	}
	_, file := b.do(t, http.MethodGet, "/api/v1/payout-runs/"+itoa(run.ID)+"/file.csv", operatorKey, "", "")
	if !strings.Contains(string(file), ",paypal,bob@example.com\n") {
		t.Errorf("the payout file lacks bob's method and destination: %s", file)
	}
	// Clearing the method and threshold: ada is back on the run's threshold
	// but has no method.
	status, raw = b.do(t, http.MethodPut, path, b.ada.AccountKey, js, `{}`)
	if cleared := settings(raw); status != http.StatusOK || cleared.Method != "" || cleared.DestinationMasked != "" || cleared.ThresholdMicros != nil {
		t.Errorf("clearing: %d %s", status, raw)
	}
}
