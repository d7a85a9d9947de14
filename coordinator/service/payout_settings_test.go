package service

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// payTo gives a contributor a payout method, so that payout runs pay them.
func (b *testBundle) payTo(t *testing.T, contributorID int64, m payouts.Method, destination string) {
	t.Helper()
	if _, err := b.svc.SetPayoutSettings(context.Background(), contributorID, PayoutSettings{Method: m, Destination: destination}); err != nil {
		t.Fatal(err)
	}
}

func TestPayoutSettings(t *testing.T) {
	ctx := context.Background()
	b := setup(t)
	ada, _ := b.host(t, "ada")
	bob, _ := b.host(t, "bob")

	if got, err := b.svc.PayoutSettings(ctx, ada.ID); err != nil || got != (PayoutSettings{}) {
		t.Errorf("PayoutSettings before any = %+v, %v; want none", got, err)
	}
	set, err := b.svc.SetPayoutSettings(ctx, ada.ID, PayoutSettings{ThresholdMicros: 50_000_000, Method: payouts.MethodBankTransfer,
		Destination: " gb82 west 1234 5698 7654 32 "})
	if err != nil {
		t.Fatal(err)
	}
	want := PayoutSettings{ThresholdMicros: 50_000_000, Method: payouts.MethodBankTransfer, Destination: "GB82WEST12345698765432", UpdatedAt: b.now}
	if set != want {
		t.Errorf("SetPayoutSettings = %+v, want %+v", set, want)
	}
	if got, err := b.svc.PayoutSettings(ctx, ada.ID); err != nil || got != want {
		t.Errorf("PayoutSettings = %+v, %v; want %+v", got, err, want)
	}
	if m := want.MaskedDestination(); m != "******************5432" {
		t.Errorf("MaskedDestination = %q", m)
	}
	if got, _ := b.svc.PayoutSettings(ctx, bob.ID); got != (PayoutSettings{}) {
		t.Errorf("bob sees settings %+v", got)
	}

	// Bad settings are refused with a reason, change nothing, and never
	// repeat the destination.
	for name, tc := range map[string]struct {
		p    PayoutSettings
		want string
	}{
		"threshold below the platform's": {PayoutSettings{ThresholdMicros: DefaultPayoutThreshold - 1}, "from 10000000"},
		"threshold over the cap":         {PayoutSettings{ThresholdMicros: payouts.MaxThresholdMicros + 1}, "to 10000000000"},
		"negative threshold":             {PayoutSettings{ThresholdMicros: -1}, "threshold_micros"},
		"unknown method":                 {PayoutSettings{Method: "cash", Destination: "jar-on-the-shelf"}, "unknown payout method"},
		"destination without method":     {PayoutSettings{Destination: "ada@example.com"}, "needs a method"},
		"method without destination":     {PayoutSettings{Method: payouts.MethodPayPal}, "needs a destination"},
		"bad IBAN":                       {PayoutSettings{Method: payouts.MethodBankTransfer, Destination: "GB82WEST12345698765431"}, "check digits"},
		"IBAN for paypal":                {PayoutSettings{Method: payouts.MethodPayPal, Destination: "GB82WEST12345698765432"}, "email address"},
		"too long":                       {PayoutSettings{Method: payouts.MethodPayPal, Destination: strings.Repeat("x", 201)}, "at most 200"},
	} {
		_, err := b.svc.SetPayoutSettings(ctx, ada.ID, tc.p)
		if workunits.ErrorCode(err) != workunits.EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want EINVALID saying %q", name, err, tc.want)
		}
		if tc.p.Destination != "" && strings.Contains(err.Error(), tc.p.Destination) {
			t.Errorf("%s: the error %q repeats the destination", name, err)
		}
	}
	if got, _ := b.svc.PayoutSettings(ctx, ada.ID); got != want {
		t.Errorf("after refused settings: %+v, want %+v", got, want)
	}
	if _, err := b.svc.SetPayoutSettings(ctx, 9999, PayoutSettings{}); workunits.ErrorCode(err) != workunits.ENOTFOUND {
		t.Errorf("settings of no contributor: %v, want ENOTFOUND", err)
	}
	// The same method without a destination keeps the one stored (a form
	// shows it masked); another method needs its own.
	kept, err := b.svc.SetPayoutSettings(ctx, ada.ID, PayoutSettings{Method: payouts.MethodBankTransfer})
	if err != nil || kept.Destination != "GB82WEST12345698765432" || kept.ThresholdMicros != 0 {
		t.Errorf("same method, no destination = %+v, %v; want the IBAN kept and the threshold cleared", kept, err)
	}
	if _, err := b.svc.SetPayoutSettings(ctx, ada.ID, PayoutSettings{Method: payouts.MethodPayPal}); workunits.ErrorCode(err) != workunits.EINVALID {
		t.Errorf("another method, no destination: %v, want EINVALID", err)
	}
	// Clearing: no threshold of one's own, no method.
	if got, err := b.svc.SetPayoutSettings(ctx, ada.ID, PayoutSettings{}); err != nil || got != (PayoutSettings{UpdatedAt: b.now}) {
		t.Errorf("clearing = %+v, %v", got, err)
	}
}

// TestPayoutRunHonoursSettings: a run pays only contributors with a
// method whose balance reaches both thresholds; the others stay available
// until they do; the file carries what the settings were when the run
// was made.
func TestPayoutRunHonoursSettings(t *testing.T) {
	ctx := context.Background()
	b := setup(t)
	var logs bytes.Buffer
	b.svc.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ada, _ := b.host(t, "ada") // paypal, the run's threshold
	bob, _ := b.host(t, "bob") // bank transfer, wants 50 at least
	cy, _ := b.host(t, "cy")   // no method
	dee, _ := b.host(t, "dee") // threshold only
	b.payTo(t, ada.ID, payouts.MethodPayPal, "ada@example.com")
	if _, err := b.svc.SetPayoutSettings(ctx, bob.ID, PayoutSettings{ThresholdMicros: 50_000_000, Method: payouts.MethodBankTransfer,
		Destination: "DE89370400440532013000"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.SetPayoutSettings(ctx, dee.ID, PayoutSettings{ThresholdMicros: 20_000_000}); err != nil {
		t.Fatal(err)
	}
	for i, c := range []int64{ada.ID, bob.ID, cy.ID, dee.ID} {
		b.earn(t, c, 1, int64(i+1), 30_000_000)
	}
	run, err := b.svc.CreatePayoutRun(ctx, "first", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Lines) != 1 || run.Lines[0].ContributorID != ada.ID || run.Lines[0].Method != payouts.MethodPayPal {
		t.Fatalf("first run = %+v, want only ada", run.Lines)
	}
	for _, c := range []int64{bob.ID, cy.ID, dee.ID} {
		if got := b.balance(t, payouts.ContributorAvailable(c)); got != 30_000_000 {
			t.Errorf("contributor %d available = %d after the run, want 30000000 kept", c, got)
		}
	}
	file, err := b.svc.PayoutRunFile(ctx, run.ID, PayoutJSON)
	if err != nil {
		t.Fatal(err)
	}

	// Later: ada moves her money elsewhere, bob reaches his threshold, cy
	// and dee choose a method.
	b.now = b.now.Add(time.Hour)
	b.payTo(t, ada.ID, payouts.MethodBankTransfer, "NO9386011117947")
	b.earn(t, bob.ID, 1, 5, 20_000_000)
	b.payTo(t, cy.ID, payouts.MethodPayPal, "cy@example.com")
	if _, err := b.svc.SetPayoutSettings(ctx, dee.ID, PayoutSettings{ThresholdMicros: 40_000_000, Method: payouts.MethodPayPal,
		Destination: "dee@example.com"}); err != nil {
		t.Fatal(err)
	}
	again, err := b.svc.PayoutRunFile(ctx, run.ID, PayoutJSON)
	if err != nil || !bytes.Equal(again, file) {
		t.Errorf("the first run's file changed after the settings did:\n%s\nthen\n%s (%v)", file, again, err)
	}
	if !strings.Contains(string(file), `"method":"paypal","destination":"ada@example.com"`) {
		t.Errorf("the file does not carry ada's method and destination: %s", file)
	}
	second, err := b.svc.CreatePayoutRun(ctx, "second", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range second.Lines {
		got = append(got, fmt.Sprintf("%d %d %s %s", l.ContributorID, l.AmountMicros, l.Method, l.Destination))
	}
	want := []string{fmt.Sprintf("%d 50000000 bank_transfer DE89370400440532013000", bob.ID), fmt.Sprintf("%d 30000000 paypal cy@example.com", cy.ID)}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("second run = %q, want %q (dee is under her own threshold)", got, want)
	}
	for _, secret := range []string{"ada@example.com", "DE89370400440532013000", "NO9386011117947", "cy@example.com", "dee@example.com"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds the destination %q:\n%s", secret, logs.String())
		}
	}
}
