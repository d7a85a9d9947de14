package workunits

import "time"

// Project is a research group's account: it owns apps and jobs and pays
// for validated results out of its budget.
type Project struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	Share     int // weight in fair-share leasing; see fairshare.go
	// Description says what the project researches, for contributors.
	Description string
}

// Contributor is a volunteer; the earnings of all their hosts add up here.
type Contributor struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	// Email signs in to the dashboard; empty for a contributor made
	// through the API, who has only an account key.
	Email            string
	DisplayName      string // shown on the leaderboard if LeaderboardOptIn
	LeaderboardOptIn bool
}

// Host is one PC attached by a contributor.
type Host struct {
	ID            int64
	ContributorID int64
	Name          string
	Platform      string
	Cores         int
	CreatedAt     time.Time
	LastContactAt time.Time
}

// App is a named computation of a project; its code lives in versions.
type App struct {
	ID        int64
	ProjectID int64
	Name      string
}

// AppVersion is one immutable WebAssembly module of an app, identified by
// the SHA-256 of its bytes.
type AppVersion struct {
	ID           int64
	AppID        int64
	AppName      string
	Version      int
	ModuleSHA256 string // lowercase hex
	Size         int64
	CreatedAt    time.Time
	Signature    []byte    // ed25519, by the project's key, over the module's raw SHA-256
	Estimates    Estimates // what one unit costs to run
	DeprecatedAt time.Time // zero while new jobs may use the version
	Validator    Validator // how the outputs of its units' replicas are compared
}

// JobState is where a job is in its life.
type JobState string

const (
	JobActive    JobState = "active"    // units still open
	JobDone      JobState = "done"      // every unit finished (validated or failed)
	JobCancelled JobState = "cancelled" // stopped by its project; see service.CancelJob
	JobWaiting   JobState = "waiting"   // the project's budget cannot fund its escrow yet; not leased
)

// Job is a researcher's submission: one app version run over many unit
// inputs under one redundancy policy, paying RewardMicros per valid task.
type Job struct {
	ID           int64
	ProjectID    int64
	AppVersionID int64
	Policy       Policy
	RewardMicros int64
	State        JobState
	UnitCount    int
	CreatedAt    time.Time
	FinishedAt   time.Time
	Priority     int       // higher is leased first within the project; see fairshare.go
	Validator    Validator // its app version's, copied at submit
}

// UnitState is where a work unit is in its life.
type UnitState string

const (
	UnitOpen   UnitState = "open"   // needs more results
	UnitDone   UnitState = "done"   // a canonical result was chosen
	UnitFailed UnitState = "failed" // gave up under the policy; see Unit.Error
)

// Terminal reports whether no further task will be issued for the unit.
func (s UnitState) Terminal() bool { return s == UnitDone || s == UnitFailed }

// Unit is one piece of a job: an input that several hosts compute
// independently so their outputs can be checked against each other.
type Unit struct {
	ID              int64
	JobID           int64
	Seq             int // position within the job, from 0
	Input           []byte
	State           UnitState
	CanonicalTaskID int64 // 0 until validated
	Error           string
	FinishedAt      time.Time // when it became done or failed; zero while open
}
