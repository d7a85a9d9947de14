package service

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// The dashboard's reads: what a signed-in contributor sees of their own
// earnings, hosts and tasks, and what anyone sees of projects. Every
// contributor read is scoped by the contributor id the caller passes, which
// the web layer takes from the session, never from the request.

// MaxEarningsDays bounds the history EarningsByDay draws.
const MaxEarningsDays = 366

// DayEarnings is what was posted to a contributor on one UTC day.
type DayEarnings struct {
	Day    time.Time // midnight UTC
	Micros int64     // posted rewards net of fees, less clawbacks; may be negative
}

// EarningsHistory is a contributor's earnings day by day, oldest first,
// every day present, and this week against the week before.
type EarningsHistory struct {
	Days           []DayEarnings
	TotalMicros    int64 // over Days
	ThisWeekMicros int64 // the 7 UTC days ending today
	LastWeekMicros int64 // the 7 days before those
}

// EarningsByDay returns what the ledger posted to the contributor on each
// of the last days UTC days (today, the day of now, being the last), zero
// on days without, and the last two weeks' sums.
func (s *Service) EarningsByDay(ctx context.Context, contributorID int64, days int, now time.Time) (EarningsHistory, error) {
	var h EarningsHistory
	if days < 1 || days > MaxEarningsDays {
		return h, workunits.Errorf(workunits.EINVALID, "days must be between 1 and %d, got %d", MaxEarningsDays, days)
	}
	today := now.UTC().Truncate(24 * time.Hour)
	first, until := today.AddDate(0, 0, 1-days), today.AddDate(0, 0, 1)
	weekStart, lastWeekStart := today.AddDate(0, 0, -6), today.AddDate(0, 0, -13)
	since := first
	if lastWeekStart.Before(since) {
		since = lastWeekStart
	}
	var sums []store.DayMicros
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		sums, err = tx.ContributorEarningsByDay(ctx, contributorID, since, until)
		return err
	})
	if err != nil {
		return h, fmt.Errorf("reading the earnings of contributor %d by day: %w", contributorID, err)
	}
	byDay := make(map[time.Time]int64, len(sums))
	for _, d := range sums {
		byDay[d.Day.UTC()] = d.Micros
		switch {
		case !d.Day.Before(weekStart):
			h.ThisWeekMicros += d.Micros
		case !d.Day.Before(lastWeekStart):
			h.LastWeekMicros += d.Micros
		}
	}
	h.Days = make([]DayEarnings, days)
	for i := range h.Days {
		day := first.AddDate(0, 0, i)
		h.Days[i] = DayEarnings{Day: day, Micros: byDay[day]}
		h.TotalMicros += byDay[day]
	}
	return h, nil
}

// Rank is a contributor's place by total credit among all contributors:
// 1 + how many have more (ties share a place), of how many there are.
type Rank struct {
	Position int
	Of       int
}

// ContributorRank returns the contributor's place by total credit.
func (s *Service) ContributorRank(ctx context.Context, contributorID int64) (Rank, error) {
	var r Rank
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		r.Position, r.Of, err = tx.ContributorRank(ctx, contributorID)
		return err
	})
	return r, err
}

// HostOverview is one of a contributor's hosts as the dashboard lists it.
type HostOverview struct {
	ID            int64
	Name          string
	Platform      string
	Cores         int
	CreatedAt     time.Time
	LastContactAt time.Time
	// Tasks by status. TasksDone counts the tasks that are over, whatever
	// their status (every one but in progress).
	TasksDone              int
	TasksInProgress        int
	TasksPendingValidation int
	TasksValid             int
	TasksInvalid           int
	TasksError             int
	TasksUnchecked         int
	EarnedMicros           int64   // posted for its tasks, net of fees and clawbacks
	Credit                 float64 // total credit
	RAC                    float64 // recent average credit, as of now
	Blocked                bool
	BlockedAt              time.Time
	BlockedReason          string
	// State is what the host last said of itself at a contact (running,
	// suspended and why, idle); nil if it never said.
	State *workunits.HostState
}

// HostsOverview returns each of the contributor's hosts, in id order.
func (s *Service) HostsOverview(ctx context.Context, contributorID int64) ([]HostOverview, error) {
	var hosts []store.HostOverview
	var credit store.ContributorCredit
	var states map[int64]workunits.HostState
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		if credit, err = tx.ContributorCreditGet(ctx, contributorID, s.now()); err != nil {
			return err
		}
		if hosts, err = tx.HostOverviewList(ctx, contributorID); err != nil {
			return err
		}
		ids := make([]int64, len(hosts))
		for i, h := range hosts {
			ids[i] = h.ID
		}
		states, err = tx.HostStateGetMany(ctx, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the hosts of contributor %d: %w", contributorID, err)
	}
	out := make([]HostOverview, len(hosts))
	for i, h := range hosts {
		n := h.Tasks
		out[i] = HostOverview{ID: h.ID, Name: h.Name, Platform: h.Platform, Cores: h.Cores, CreatedAt: h.CreatedAt,
			LastContactAt: h.LastContactAt, TasksInProgress: n[workunits.StatusInProgress],
			TasksPendingValidation: n[workunits.StatusPendingValidation], TasksValid: n[workunits.StatusValid],
			TasksInvalid: n[workunits.StatusInvalid], TasksError: n[workunits.StatusError], TasksUnchecked: n[workunits.StatusUnchecked],
			EarnedMicros: h.EarnedMicros, Credit: credit.Hosts[h.ID].Total, RAC: credit.Hosts[h.ID].RAC,
			Blocked: !h.BlockedAt.IsZero(), BlockedAt: h.BlockedAt, BlockedReason: h.BlockedReason}
		for st, c := range n {
			if st != workunits.StatusInProgress {
				out[i].TasksDone += c
			}
		}
		if st, ok := states[h.ID]; ok {
			out[i].State = &st
		}
	}
	return out, nil
}

// Task pages hold DefaultTaskPage tasks unless asked for up to MaxTaskPage.
const (
	DefaultTaskPage = 50
	MaxTaskPage     = 100
)

// TaskFilter narrows a contributor's tasks; zero fields do not filter.
type TaskFilter struct {
	Status    workunits.TaskStatus
	HostID    int64
	ProjectID int64
	App       string
}

// PageRequest asks for the page after Cursor ("": the first) of at most
// Limit items (0: the default).
type PageRequest struct {
	Cursor string
	Limit  int
}

// DashboardTask is one task of a contributor's host as the dashboard
// shows it.
type DashboardTask struct {
	ID          int64
	HostID      int64
	HostName    string
	ProjectID   int64
	ProjectName string
	App         string
	JobID       int64
	UnitSeq     int
	Status      workunits.TaskStatus
	SentAt      time.Time     // zero: not sent
	ReportedAt  time.Time     // zero: not reported
	CPUTime     time.Duration // the runtime the host reported
	Credit      float64       // 0: none granted
	// RewardMicros is what was posted to the contributor for it, net of
	// fee and of any clawback; 0 when none.
	RewardMicros int64
}

// TaskPage is a page of tasks, newest first; Next is the cursor of the
// page after it, "" when this is the last.
type TaskPage struct {
	Tasks []DashboardTask
	Next  string
}

// ContributorTasks returns a page of the tasks of the contributor's hosts,
// newest first. Another contributor's host is not found.
func (s *Service) ContributorTasks(ctx context.Context, contributorID int64, filter TaskFilter, page PageRequest) (TaskPage, error) {
	var out TaskPage
	limit := page.Limit
	if limit == 0 {
		limit = DefaultTaskPage
	}
	if limit < 1 || limit > MaxTaskPage {
		return out, workunits.Errorf(workunits.EINVALID, "limit must be between 1 and %d, got %d", MaxTaskPage, page.Limit)
	}
	before, err := parseTaskCursor(page.Cursor)
	if err != nil {
		return out, err
	}
	p := store.ContributorTaskListParams{ContributorID: contributorID, HostID: filter.HostID, ProjectID: filter.ProjectID,
		App: filter.App, BeforeID: before, Limit: limit + 1}
	if filter.Status != "" {
		m, ok := filter.Status.Match()
		if !ok {
			return out, workunits.Errorf(workunits.EINVALID, "state must be one of %s, got %q", joinStatuses(), filter.Status)
		}
		p.Match = m
	}
	if filter.HostID < 0 || filter.ProjectID < 0 {
		return out, workunits.Errorf(workunits.EINVALID, "host and project ids must be positive")
	}
	var tasks []store.ContributorTask
	err = s.store.InReadTx(ctx, func(tx store.Tx) error {
		if filter.HostID != 0 {
			owners, err := tx.HostContributorMany(ctx, []int64{filter.HostID})
			if err != nil {
				return err
			}
			if owners[filter.HostID] != contributorID {
				return workunits.Errorf(workunits.ENOTFOUND, "host %d not found", filter.HostID)
			}
		}
		tasks, err = tx.ContributorTaskList(ctx, p)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("listing the tasks of contributor %d: %w", contributorID, err)
	}
	if len(tasks) > limit {
		tasks = tasks[:limit]
		out.Next = taskCursor(tasks[limit-1].TaskID)
	}
	out.Tasks = make([]DashboardTask, len(tasks))
	for i, t := range tasks {
		out.Tasks[i] = DashboardTask{ID: t.TaskID, HostID: t.HostID, HostName: t.HostName, ProjectID: t.ProjectID,
			ProjectName: t.ProjectName, App: t.App, JobID: t.JobID, UnitSeq: t.UnitSeq,
			Status: workunits.StatusOf(t.State, t.Outcome, t.ValidateState), SentAt: t.SentAt, ReportedAt: t.ReceivedAt,
			CPUTime: t.CPUTime, Credit: t.Credit, RewardMicros: t.RewardMicros}
	}
	return out, nil
}

func joinStatuses() string {
	names := make([]string, len(workunits.TaskStatuses))
	for i, s := range workunits.TaskStatuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// taskCursorPrefix versions the cursor, so its form can change without
// misreading an old one.
const taskCursorPrefix = "t1:"

// taskCursor is the opaque cursor of the page after the task with this id.
func taskCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(taskCursorPrefix + strconv.FormatInt(id, 10)))
}

// parseTaskCursor returns the id tasks of the page must be below; 0 for
// no cursor.
func parseTaskCursor(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	rest, ok := strings.CutPrefix(string(raw), taskCursorPrefix)
	id, perr := strconv.ParseInt(rest, 10, 64)
	if err != nil || !ok || perr != nil || id < 1 {
		return 0, workunits.Errorf(workunits.EINVALID, "cursor %q is malformed: pass back the one a page returned", cursor)
	}
	return id, nil
}

// PublicProject is a project as anyone sees it, with its progress.
type PublicProject struct {
	store.ProjectSummary
	PercentDone float64 // of the units of its jobs not cancelled, 0 to 100
}

// PublicProjects returns every project with what it researches and how far
// its jobs have come, in id order.
func (s *Service) PublicProjects(ctx context.Context) ([]PublicProject, error) {
	var sums []store.ProjectSummary
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		sums, err = tx.ProjectSummaryList(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing projects: %w", err)
	}
	out := make([]PublicProject, len(sums))
	for i, p := range sums {
		out[i] = PublicProject{ProjectSummary: p}
		if p.UnitsTotal > 0 {
			out[i].PercentDone = 100 * float64(p.UnitsDone) / float64(p.UnitsTotal)
		}
	}
	return out, nil
}

// MemberJobs is how many of a project's jobs, newest first, a member's
// page shows.
const MemberJobs = 20

// MemberJob is one of a project's jobs with its progress, as a project's
// own API reports it (Service.Job).
type MemberJob struct {
	Job      workunits.Job
	Progress store.JobProgress
	Stats    ProgressStats
}

// MemberProject is a project one is a member of, one's role there and the
// progress of its newest jobs.
type MemberProject struct {
	ProjectID   int64
	Name        string
	Description string
	Role        workunits.Role
	Jobs        []MemberJob // the newest MemberJobs, newest first
	MoreJobs    bool        // older jobs are not shown
}

// maxEmailLen is the longest email address (RFC 5321's path limit).
const maxEmailLen = 254

// MemberProjectsByEmail returns the projects where an active member has
// this email (compared without case), each with its newest jobs' progress.
func (s *Service) MemberProjectsByEmail(ctx context.Context, email string) ([]MemberProject, error) {
	email = strings.TrimSpace(email)
	if email == "" || len(email) > maxEmailLen || !strings.Contains(email, "@") {
		return nil, workunits.Errorf(workunits.EINVALID, "email must be an address of at most %d characters", maxEmailLen)
	}
	var out []MemberProject
	err := s.store.InReadTx(ctx, func(tx store.Tx) error {
		projects, err := tx.ProjectListByMemberEmail(ctx, email)
		if err != nil {
			return err
		}
		for _, p := range projects {
			mp := MemberProject{ProjectID: p.ProjectID, Name: p.Name, Description: p.Description, Role: p.Role}
			jobs, err := tx.JobList(ctx, store.JobListParams{ProjectID: p.ProjectID, Limit: MemberJobs + 1})
			if err != nil {
				return err
			}
			if len(jobs) > MemberJobs {
				jobs, mp.MoreJobs = jobs[:MemberJobs], true
			}
			for _, j := range jobs {
				mj := MemberJob{Job: j}
				if mj.Progress, err = tx.JobProgress(ctx, j.ID); err != nil {
					return err
				}
				if mj.Stats, err = s.progressStats(ctx, tx, j, mj.Progress); err != nil {
					return err
				}
				mp.Jobs = append(mp.Jobs, mj)
			}
			out = append(out, mp)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing a member's projects: %w", err)
	}
	return out, nil
}
