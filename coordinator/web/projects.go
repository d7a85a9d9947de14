package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/workunits"
)

// projectsPage is every project with what it researches, and the projects
// the signed-in account's email is a member of, with their jobs.
type projectsPage struct {
	Projects []projectRow
	Mine     []memberProjectRow
	HasEmail bool
}

type projectRow struct {
	service.PublicProject
	Percent string // "66.7"
}

type memberProjectRow struct {
	service.MemberProject
	Jobs []memberJobRow
}

type memberJobRow struct {
	ID         int64
	State      workunits.JobState
	UnitsTotal int
	UnitsDone  int // finished: with a result or failed
	Failed     int
	Percent    string
	ETA        string // "" when it cannot be said
	Created    string
}

func (s *server) handleProjects() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		public, err := s.svc.PublicProjects(ctx)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		page := projectsPage{Projects: make([]projectRow, len(public))}
		for i, p := range public {
			page.Projects[i] = projectRow{PublicProject: p, Percent: percent(p.PercentDone)}
		}
		// Membership is by the email the account signed up with, from the
		// session; never from the request.
		if email := contributorOf(r).Email; email != "" {
			page.HasEmail = true
			mine, err := s.svc.MemberProjectsByEmail(ctx, email)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			for _, mp := range mine {
				row := memberProjectRow{MemberProject: mp}
				for _, j := range mp.Jobs {
					row.Jobs = append(row.Jobs, newMemberJobRow(j))
				}
				page.Mine = append(page.Mine, row)
			}
		}
		s.render(w, r, http.StatusOK, "projects", view{Title: "Projects", Nav: "projects", Data: page})
	}
}

func newMemberJobRow(j service.MemberJob) memberJobRow {
	u := j.Progress.Units
	row := memberJobRow{ID: j.Job.ID, State: j.Job.State, UnitsDone: u[workunits.UnitDone] + u[workunits.UnitFailed],
		Failed: u[workunits.UnitFailed], Created: j.Job.CreatedAt.UTC().Format("2 Jan 2006 15:04 UTC")}
	for _, n := range u {
		row.UnitsTotal += n
	}
	if row.UnitsTotal > 0 {
		row.Percent = percent(100 * float64(row.UnitsDone) / float64(row.UnitsTotal))
	} else {
		row.Percent = "0"
	}
	if p := j.Stats.Pace; p.KnownETA {
		row.ETA = "about " + roundDuration(p.ETA)
	}
	return row
}

// percent shows a percentage with at most one decimal: 66.7, 100, 0.
func percent(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s
}

// roundDuration says a duration for people: "3 hours", "12 minutes".
func roundDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "a minute"
	case d < time.Hour:
		m := int(d / time.Minute)
		return fmt.Sprintf("%d %s", m, plural(m, "minute", "minutes"))
	case d < 48*time.Hour:
		h := int(d / time.Hour)
		return fmt.Sprintf("%d %s", h, plural(h, "hour", "hours"))
	default:
		days := int(d / (24 * time.Hour))
		return fmt.Sprintf("%d days", days)
	}
}
