package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/workunits"
)

// tasksPage is the tasks page's data: the filter as asked, what its
// selects offer, and a page of tasks.
type tasksPage struct {
	Filter   taskFilterForm
	Statuses []statusOption
	Hosts    []service.HostOverview
	Projects []service.PublicProject
	Tasks    []service.DashboardTask
	Next     string // the next page's URL; "" on the last
	First    bool   // this is the first page
}

// taskFilterForm is the filter form's values as the query string gave them.
type taskFilterForm struct {
	Status, Host, Project, App string
	Limit                      string // tasks per page; "": service.DefaultTaskPage
}

type statusOption struct {
	Value workunits.TaskStatus
	Label string
}

// statusLabels are the words the dashboard shows for a task's status.
var statusLabels = map[workunits.TaskStatus]string{
	workunits.StatusInProgress:        "in progress",
	workunits.StatusPendingValidation: "pending validation",
	workunits.StatusValid:             "valid",
	workunits.StatusInvalid:           "invalid",
	workunits.StatusError:             "error",
	workunits.StatusUnchecked:         "not checked",
}

func statusLabel(s workunits.TaskStatus) string {
	if l, ok := statusLabels[s]; ok {
		return l
	}
	return "unknown"
}

// maxAppFilter bounds the app filter: app names are short.
const maxAppFilter = 100

// parseTaskFilter reads the filter from the query; the error says which
// value is wrong.
func parseTaskFilter(q url.Values) (taskFilterForm, service.TaskFilter, error) {
	form := taskFilterForm{Status: q.Get("status"), Host: q.Get("host"), Project: q.Get("project"), App: strings.TrimSpace(q.Get("app"))}
	var f service.TaskFilter
	if form.Status != "" {
		if _, ok := statusLabels[workunits.TaskStatus(form.Status)]; !ok {
			return form, f, workunits.Errorf(workunits.EINVALID, "there is no task status %q: choose one from the list", form.Status)
		}
		f.Status = workunits.TaskStatus(form.Status)
	}
	var err error
	if f.HostID, err = parseID(form.Host); err != nil {
		return form, f, workunits.Errorf(workunits.EINVALID, "host must be one of your hosts, chosen from the list")
	}
	if f.ProjectID, err = parseID(form.Project); err != nil {
		return form, f, workunits.Errorf(workunits.EINVALID, "project must be a project chosen from the list")
	}
	if len(form.App) > maxAppFilter {
		return form, f, workunits.Errorf(workunits.EINVALID, "app must be at most %d characters", maxAppFilter)
	}
	f.App = form.App
	return form, f, nil
}

// parseLimit reads the optional page size; the service checks its range.
func parseLimit(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, workunits.Errorf(workunits.EINVALID, "limit must be a number of tasks from 1 to %d", service.MaxTaskPage)
	}
	return n, nil
}

// parseID reads an optional positive id: "" is 0.
func parseID(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("not an id: %q", s)
	}
	return id, nil
}

func (s *server) handleTasks() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := contributorOf(r).ID
		q := r.URL.Query()
		p := tasksPage{Statuses: make([]statusOption, len(workunits.TaskStatuses)), First: q.Get("cursor") == ""}
		for i, st := range workunits.TaskStatuses {
			p.Statuses[i] = statusOption{st, statusLabel(st)}
		}
		var err error
		if p.Hosts, err = s.svc.HostsOverview(r.Context(), id); err != nil {
			s.fail(w, r, err)
			return
		}
		if p.Projects, err = s.svc.PublicProjects(r.Context()); err != nil {
			s.fail(w, r, err)
			return
		}
		form, filter, err := parseTaskFilter(q)
		form.Limit = q.Get("limit")
		p.Filter = form
		var page service.TaskPage
		var limit int
		if err == nil {
			limit, err = parseLimit(form.Limit)
		}
		if err == nil {
			page, err = s.svc.ContributorTasks(r.Context(), id, filter, service.PageRequest{Cursor: q.Get("cursor"), Limit: limit})
		}
		if err != nil {
			status := statusOf(workunits.ErrorCode(err))
			if status >= 500 {
				s.fail(w, r, err)
				return
			}
			s.render(w, r, status, "tasks", view{Title: "Tasks", Nav: "tasks", Error: workunits.ErrorMessage(err), Data: p})
			return
		}
		p.Tasks = page.Tasks
		if page.Next != "" {
			next := url.Values{}
			for k, v := range map[string]string{"status": form.Status, "host": form.Host, "project": form.Project, "app": form.App, "limit": form.Limit} {
				if v != "" {
					next.Set(k, v)
				}
			}
			next.Set("cursor", page.Next)
			p.Next = "/tasks?" + next.Encode()
		}
		s.render(w, r, http.StatusOK, "tasks", view{Title: "Tasks", Nav: "tasks", Data: p})
	}
}

// formatRuntime shows a CPU time to the second: "1 h 2 min", "3 min 4 s",
// "5 s"; "–" for none.
func formatRuntime(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d <= 0:
		return "–"
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
}

// formatTime shows a time in UTC to the minute; "–" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// The tasks page's template functions, registered here rather than in
// render.go's map so that each page brings its own.
func init() {
	funcs["statusLabel"] = statusLabel
	funcs["runtime"] = formatRuntime
	funcs["when"] = formatTime
	funcs["isoTime"] = func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
}
