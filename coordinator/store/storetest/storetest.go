// Package storetest is the conformance suite every store.Store driver must
// pass. A driver's own tests call Run with a constructor for fresh stores;
// the suite knows nothing of SQL, so SQLite and PostgreSQL are held to the
// same behaviour.
package storetest

import (
	"cmp"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Run runs every conformance test against stores made by newStore; each call
// returns a fresh, empty, migrated store (the callback registers its own
// cleanup). Subtests run in parallel, so newStore must be safe to call
// concurrently and its stores must not share data.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	groups := []struct {
		name string
		run  func(*testing.T, func(*testing.T) store.Store)
	}{
		{"Accounts", testAccounts},
		{"Blobs", testBlobs},
		{"AppVersions", testAppVersions},
		{"Jobs", testJobs},
		{"Units", testUnits},
		{"Tasks", testTasks},
		{"TaskLease", testTaskLease},
		{"Ledger", testLedger},
		{"LedgerMoney", testLedgerMoney},
		{"MoneyQueue", testMoneyQueue},
		{"InTx", testInTx},
		{"InReadTx", testInReadTx},
		{"ContributorEarnings", testContributorEarnings},
		{"Keys", testKeys},
		{"Lifecycle", testLifecycle},
		{"WebhookDeliveries", testWebhookDeliveries},
		{"Inputs", testInputs},
		{"Progress", testProgress},
		{"Signing", testSigning},
		{"FairShare", testFairShare},
		{"Validators", testValidators},
		{"Credit", testCredit},
		{"Trust", testTrust},
		{"Payouts", testPayouts},
		{"Clawbacks", testClawbacks},
		{"Dashboard", testDashboard},
		{"HostContact", testHostContact},
		{"PayoutSettings", testPayoutSettings},
		{"Metrics", testMetrics},
		{"Sessions", testSessions},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, newStore) })
	}
}

// t0 is when everything in a test happens unless the test says otherwise.
var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// setup marks the test parallel and returns a fresh store for it.
func setup(t *testing.T, newStore func(*testing.T) store.Store) store.Store {
	t.Helper()
	t.Parallel()
	return newStore(t)
}

// inTx runs fn in one transaction with a factory for fixtures and fails the
// test if the transaction does not commit.
func inTx(t *testing.T, s store.Store, fn func(tx store.Tx, f *factory) error) {
	t.Helper()
	ctx := t.Context()
	if err := s.InTx(ctx, func(tx store.Tx) error {
		return fn(tx, &factory{t: t, ctx: ctx, tx: tx})
	}); err != nil {
		t.Fatalf("transaction failed: %v", err)
	}
}

// wantCode fails the test unless err carries the given workunits code.
func wantCode(t *testing.T, err error, code workunits.Code) {
	t.Helper()
	if got := workunits.ErrorCode(err); got != code {
		t.Errorf("error code = %q (error %v), want %q", got, err, code)
	}
}

// ms is t as a store keeps it: UTC, to the millisecond.
func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

// sameMS reports whether a and b are the same instant to the millisecond,
// the resolution the store promises.
func sameMS(a, b time.Time) bool { return ms(a).Equal(ms(b)) }

// normTask puts a task's times in the form ms returns, so tasks read back
// from a store compare with reflect.DeepEqual.
func normTask(tk workunits.Task) workunits.Task {
	tk.CreatedAt, tk.SentAt, tk.DeadlineAt, tk.ReceivedAt = ms(tk.CreatedAt), ms(tk.SentAt), ms(tk.DeadlineAt), ms(tk.ReceivedAt)
	return tk
}

// wantTasks fails the test unless got and want hold the same tasks in the
// same order, times compared to the millisecond.
func wantTasks(t *testing.T, what string, got, want []workunits.Task) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d tasks, want %d:\ngot  %+v\nwant %+v", what, len(got), len(want), got, want)
		return
	}
	for i := range got {
		if g, w := normTask(got[i]), normTask(want[i]); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: task %d:\ngot  %+v\nwant %+v", what, i, g, w)
		}
	}
}

// nonZero drops zero counts, so a driver may report a state with no rows
// either as absent or as 0.
func nonZero[K comparable, V int | int64](m map[K]V) map[K]V {
	out := map[K]V{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// sortedBy returns a sorted copy of s: where the interface promises no
// order, the suite compares in id order.
func sortedBy[E any](s []E, id func(E) int64) []E {
	out := slices.Clone(s)
	slices.SortFunc(out, func(a, b E) int { return cmp.Compare(id(a), id(b)) })
	return out
}

func sortedTasks(tasks []workunits.Task) []workunits.Task {
	return sortedBy(tasks, func(tk workunits.Task) int64 { return tk.ID })
}

func sortedLeases(leases []store.Lease) []store.Lease {
	return sortedBy(leases, func(l store.Lease) int64 { return l.TaskID })
}

// taskIDs returns the ids of tasks, in their order.
func taskIDs(tasks []workunits.Task) []int64 {
	ids := make([]int64, len(tasks))
	for i, tk := range tasks {
		ids[i] = tk.ID
	}
	return ids
}
