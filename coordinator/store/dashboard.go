package store

import (
	"context"
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

// DashboardTx reads what a contributor's dashboard shows and what the
// public and a project's members see of projects. Everything a contributor
// sees is scoped by their id; no method reads more than the contributor's
// own rows (and a few index lookups) whatever the size of the platform.
type DashboardTx interface {
	// ContributorEarningsByDay sums, per UTC day, what the ledger posted
	// to the contributor's available balance for rewards (posts net of
	// fee, the old one-step rewards) less clawbacks, for transactions
	// recorded in [since, until). Days without any are absent; the result
	// is in day order. Payouts (holds, returns) are not earnings.
	ContributorEarningsByDay(ctx context.Context, contributorID int64, since, until time.Time) ([]DayMicros, error)
	// ContributorRank returns the contributor's position by total credit
	// (1 + how many have more: ties share a place) and how many
	// contributors there are. An unknown contributor is ENOTFOUND.
	ContributorRank(ctx context.Context, contributorID int64) (rank, of int, err error)
	// HostOverviewList returns each of the contributor's hosts, in id order,
	// with its task counts and earnings.
	HostOverviewList(ctx context.Context, contributorID int64) ([]HostOverview, error)
	// ContributorTaskList returns up to p.Limit tasks of the contributor's
	// hosts, highest id (newest) first, with ID < p.BeforeID when it is
	// set, that match p's filters.
	ContributorTaskList(ctx context.Context, p ContributorTaskListParams) ([]ContributorTask, error)
	// ProjectSummaryList returns every project, in id order, with its jobs
	// and units counted.
	ProjectSummaryList(ctx context.Context) ([]ProjectSummary, error)
	// ProjectListByMemberEmail returns the projects where an active member
	// has this email (compared case-insensitively), in id order, with the
	// member's role. An empty email matches nothing.
	ProjectListByMemberEmail(ctx context.Context, email string) ([]MemberOf, error)
	// ProjectDescriptionSet sets what a project says of its research.
	ProjectDescriptionSet(ctx context.Context, id int64, description string) error
}

// DayMicros is an amount for one UTC day (Day is its midnight, UTC).
type DayMicros struct {
	Day    time.Time
	Micros int64
}

// HostOverview is one host as its contributor's dashboard lists it.
// Credit is read with CreditTx and the host's contact state by the
// service: neither is here.
type HostOverview struct {
	workunits.Host
	BlockedAt     time.Time // zero: not blocked
	BlockedReason string
	// Tasks counts the host's tasks by status (workunits.StatusOf);
	// statuses without tasks may be absent.
	Tasks map[workunits.TaskStatus]int
	// EarnedMicros is what the ledger posted to the contributor for the
	// host's tasks, net of fees and clawbacks.
	EarnedMicros int64
}

type ContributorTaskListParams struct {
	ContributorID int64
	HostID        int64  // 0: any of the contributor's hosts
	ProjectID     int64  // 0: any
	App           string // "": any
	Match         workunits.TaskMatch
	BeforeID      int64 // 0: from the newest
	Limit         int
}

// ContributorTask is one task of a contributor's host, with what the
// dashboard shows of it.
type ContributorTask struct {
	TaskID        int64
	HostID        int64
	HostName      string
	ProjectID     int64
	ProjectName   string
	App           string
	JobID         int64
	UnitSeq       int
	State         workunits.TaskState
	Outcome       workunits.Outcome
	ValidateState workunits.ValidateState
	SentAt        time.Time // zero: not sent
	ReceivedAt    time.Time // zero: not reported
	CPUTime       time.Duration
	Credit        float64 // 0: none granted
	// RewardMicros is what the ledger posted to the contributor for the
	// task, net of fee and of any clawback; 0 when none.
	RewardMicros int64
}

// ProjectSummary is a project as the public sees it.
type ProjectSummary struct {
	ID          int64
	Name        string
	Description string
	CreatedAt   time.Time
	JobsActive  int // active or waiting for funds
	JobsDone    int
	// Units of jobs not cancelled: how many there are and how many have
	// finished (with a result or failed).
	UnitsTotal int
	UnitsDone  int
}

// MemberOf is a project one is an active member of, and one's role there.
type MemberOf struct {
	ProjectID   int64
	Name        string
	Description string
	Role        workunits.Role
}

// LedgerOrderSlack bounds how far out of id order ledger transactions'
// times may be: a transaction is stamped with its coordinator's clock
// before it gets its id, so one with a higher id may carry an earlier
// time, but never this much earlier. Reading a window of the ledger by time,
// a store starts at the first transaction stamped LedgerOrderSlack before
// the window and reads forward by id, so it reads the window (and at most
// this much more), not the whole history.
const LedgerOrderSlack = 24 * time.Hour

// RewardKeyPatterns are the SQL LIKE patterns of the keys of the
// transactions that move a task's reward into or out of a contributor's
// available balance: posts, the old one-step rewards, and clawbacks.
var RewardKeyPatterns = []string{"post:task:%", "reward:task:%", "clawback:task:%"}
