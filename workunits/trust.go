package workunits

import (
	"fmt"
	"time"
)

// Adaptive replication, after BOINC's: a host that has returned enough
// results in a row that other hosts agreed with is trusted to have its
// results accepted alone, most of the time. A spot-check rate never goes
// away, so that a trusted host that turns bad is found out.
const (
	TrustThreshold    = 10     // consecutive checked valid results before a result may stand alone
	MinSpotCheck      = 0.05   // the least chance that a trusted host's result is replicated
	DefaultDailyQuota = 10_000 // tasks a host in good standing may lease per UTC day
	BlockAfterInvalid = 3      // invalid results in a row that block a host
)

// HostTrust is what a host has shown with one app version. Trust is per
// app version: a host that computes one app right may still get another
// wrong (a different code path, a different numeric library).
type HostTrust struct {
	HostID            int64
	AppVersionID      int64
	ConsecutiveValid  int // valid results in a row checked against another host's
	ValidTotal        int
	InvalidTotal      int
	SpotCheckFailures int       // invalid results found while the host was trusted
	LastVerifiedAt    time.Time // last checked valid result; zero if none
}

// OnValid counts a valid result. Only a result checked against another
// host's (checked) earns trust: one accepted alone proves nothing.
func (t HostTrust) OnValid(checked bool, now time.Time) HostTrust {
	t.ValidTotal++
	if checked {
		t.ConsecutiveValid++
		t.LastVerifiedAt = now
	}
	return t
}

// OnInvalid counts an invalid result: trust starts again from nothing. A
// host trusted when it was found out has failed a spot check.
func (t HostTrust) OnInvalid() HostTrust {
	if t.ConsecutiveValid >= TrustThreshold {
		t.SpotCheckFailures++
	}
	t.ConsecutiveValid = 0
	t.InvalidTotal++
	return t
}

// ReplicateProbability is the chance that a result from a host with cv
// consecutive valid results is checked against another host's: always
// below TrustThreshold, then 1/cv but never below MinSpotCheck.
func ReplicateProbability(cv int) float64 {
	if cv < TrustThreshold {
		return 1
	}
	return max(1/float64(cv), MinSpotCheck)
}

// Decide reports whether a result from a host with cv consecutive valid
// results is accepted alone, given r drawn uniformly from [0, 1).
func Decide(cv int, r float64) bool {
	return r >= ReplicateProbability(cv)
}

// HostQuota is a host's standing: how much work it may lease today, and
// whether it is blocked for returning wrong results.
type HostQuota struct {
	HostID        int64
	DailyQuota    int       // tasks per UTC day; 0: DefaultDailyQuota
	LeasedToday   int       // tasks leased on QuotaDay
	QuotaDay      time.Time // UTC midnight of the day LeasedToday counts
	InvalidStreak int       // invalid results in a row
	BlockedAt     time.Time // zero unless blocked
	BlockedReason string
}

// Quota is the host's daily quota.
func (q HostQuota) Quota() int {
	if q.DailyQuota <= 0 {
		return DefaultDailyQuota
	}
	return q.DailyQuota
}

// Blocked reports whether the host may lease no work at all.
func (q HostQuota) Blocked() bool { return !q.BlockedAt.IsZero() }

// Day is the UTC midnight starting the day t falls in.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Today is q on the day of now: a new UTC day starts the count afresh.
func (q HostQuota) Today(now time.Time) HostQuota {
	if day := Day(now); !q.QuotaDay.Equal(day) {
		q.QuotaDay, q.LeasedToday = day, 0
	}
	return q
}

// Remaining is how many more tasks the host may lease on the day of now.
func (q HostQuota) Remaining(now time.Time) int {
	if q.Blocked() {
		return 0
	}
	return max(q.Quota()-q.Today(now).LeasedToday, 0)
}

// Leased counts n tasks leased at now.
func (q HostQuota) Leased(n int, now time.Time) HostQuota {
	q = q.Today(now)
	q.LeasedToday += n
	return q
}

// OnValid counts a checked valid result: the streak of invalid ones ends
// and the quota doubles back towards the default.
func (q HostQuota) OnValid() HostQuota {
	q.InvalidStreak = 0
	q.DailyQuota = min(q.Quota()*2, DefaultDailyQuota)
	return q
}

// OnInvalid counts an invalid result: the quota halves (never below one)
// and BlockAfterInvalid in a row block the host until an operator lifts it.
func (q HostQuota) OnInvalid(now time.Time) HostQuota {
	q.DailyQuota = max(q.Quota()/2, 1)
	q.InvalidStreak++
	if q.InvalidStreak >= BlockAfterInvalid && !q.Blocked() {
		q.BlockedAt = now
		q.BlockedReason = fmt.Sprintf("%d invalid results in a row", q.InvalidStreak)
	}
	return q
}

// Unblock lifts a block and forgives the streak that caused it; the
// halved quota recovers as valid results come in.
func (q HostQuota) Unblock() HostQuota {
	q.BlockedAt, q.BlockedReason, q.InvalidStreak = time.Time{}, "", 0
	return q
}
