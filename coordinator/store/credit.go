package store

import (
	"context"
	"strings"
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

// CreditTx is the part of Tx behind credit and teams (payouts/credit.go):
// benchmarks, the credit granted to valid tasks, hosts' and contributors'
// totals and recent average credit (RAC), teams and leaderboards. RAC is
// stored as a value and the time it was last brought up to date, and
// every read returns it decayed to the now it is given; a team's totals
// are summed from its members at read, so no team row is ever hot.
type CreditTx interface {
	// HostOpsPerSecondSet records a host's benchmark, writing only if it
	// changed.
	HostOpsPerSecondSet(ctx context.Context, hostID int64, opsPerSecond float64) error
	// HostOpsPerSecondMany returns the benchmarks of those of the given
	// hosts that reported one.
	HostOpsPerSecondMany(ctx context.Context, hostIDs []int64) (map[int64]float64, error)
	// AppVersionEstimatesMany returns the estimates of the given app versions.
	AppVersionEstimatesMany(ctx context.Context, ids []int64) (map[int64]workunits.Estimates, error)
	// UnitGrantedCreditMany returns the granted credit of those of the
	// given units that have one.
	UnitGrantedCreditMany(ctx context.Context, unitIDs []int64) (map[int64]float64, error)
	// UnitGrantedCreditSetMany fixes the credit granted to every valid task
	// of each unit; a unit that has one keeps it.
	UnitGrantedCreditSetMany(ctx context.Context, granted map[int64]float64) error
	// CreditGrantMany sets the credit of each task and adds it to the
	// totals and RAC (payouts.RACAdd at now) of the task's host and the
	// host's contributor. A task that already has credit is left alone, so
	// a grant repeated is not counted twice. Hosts and contributors are
	// locked in id order.
	CreditGrantMany(ctx context.Context, grants []CreditGrant, now time.Time) error
	// ContributorCreditGet returns a contributor's credit and that of each
	// of their hosts.
	ContributorCreditGet(ctx context.Context, contributorID int64, now time.Time) (ContributorCredit, error)
	// ContributorLeaderboard returns contributors that have earned credit,
	// highest RAC at now first (then id), skipping offset of them.
	ContributorLeaderboard(ctx context.Context, offset, limit int, now time.Time) ([]CreditStanding, error)

	// TeamInsert creates a team; a name another team has, whatever its
	// case, is a workunits.ECONFLICT error.
	TeamInsert(ctx context.Context, p TeamInsertParams) (Team, error)
	// TeamJoin puts a contributor in a team, leaving any other.
	TeamJoin(ctx context.Context, contributorID, teamID int64) error
	// TeamLeave takes a contributor out of their team, if any.
	TeamLeave(ctx context.Context, contributorID int64) error
	// TeamGet returns a team with its members' totals summed.
	TeamGet(ctx context.Context, teamID int64, now time.Time) (Team, error)
	// TeamMemberList returns a team's members, highest RAC first.
	TeamMemberList(ctx context.Context, teamID int64, now time.Time) ([]CreditStanding, error)
	// TeamList returns teams, highest RAC (the sum of their members') at
	// now first, then id, skipping offset of them.
	TeamList(ctx context.Context, offset, limit int, now time.Time) ([]Team, error)
}

// CreditGrant is credit granted to one valid task.
type CreditGrant struct {
	TaskID int64
	Credit float64
}

// CreditTotals is credit earned in all and recently (RAC, credit per day).
type CreditTotals struct {
	Total float64
	RAC   float64
}

// ContributorCredit is a contributor's credit, their team's id (0 if
// none), and the credit of each of their hosts that has earned some.
type ContributorCredit struct {
	CreditTotals
	TeamID int64
	Hosts  map[int64]CreditTotals
}

// CreditStanding is one contributor on a leaderboard.
type CreditStanding struct {
	ContributorID int64
	Name          string
	TeamID        int64 // 0 if none
	CreditTotals
	// PublicName is the display name of a contributor who opted in to the
	// leaderboard, "" for one who did not: show them as anonymous.
	PublicName string
}

// Team is a group of contributors whose credit is summed.
type Team struct {
	ID          int64
	Name        string
	Description string
	CreatedBy   int64 // contributor
	CreatedAt   time.Time
	Members     int
	CreditTotals
}

type TeamInsertParams struct {
	Name        string
	Description string
	CreatedBy   int64
	Now         time.Time
}

// TeamNameKey is what team names are compared by: two names that fold to
// the same key are the same name.
func TeamNameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }
