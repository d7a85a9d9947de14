package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/workunits"
)

// hostsPage is the hosts page's data: each of the contributor's PCs.
type hostsPage struct {
	Hosts []hostRow
}

// hostRow is a host with what the page says of its state and times, worked
// out here so that the template only shows them.
type hostRow struct {
	service.HostOverview
	State       string // running, suspended — why, idle, unknown
	StateKey    string // the state's code, for CSS: running, suspended, idle, unknown
	StateDetail string // what the worker said, and when
	LastContact string
	LastISO     string // LastContact as an ISO time, "" if never
}

func (s *server) handleHosts() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hosts, err := s.svc.HostsOverview(r.Context(), contributorOf(r).ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		now := time.Now()
		page := hostsPage{Hosts: make([]hostRow, len(hosts))}
		for i, h := range hosts {
			page.Hosts[i] = newHostRow(h, now)
		}
		s.render(w, r, http.StatusOK, "hosts", view{Title: "Hosts", Nav: "hosts", Data: page})
	}
}

func newHostRow(h service.HostOverview, now time.Time) hostRow {
	row := hostRow{HostOverview: h, State: "unknown", StateKey: "unknown", LastContact: "never"}
	if !h.LastContactAt.IsZero() {
		row.LastContact, row.LastISO = ago(h.LastContactAt, now), h.LastContactAt.UTC().Format(time.RFC3339)
	}
	st := h.State
	if st == nil {
		row.StateDetail = "This PC's worker has not said what it is doing yet."
		return row
	}
	row.StateKey = string(st.State)
	switch st.State {
	case workunits.HostSuspended:
		row.State = "suspended — " + cmpOr(humanReason(st.Reason), "no reason given")
	case workunits.HostRunning:
		row.State = "running"
	default:
		row.State = string(st.State)
	}
	var said []string
	if st.State == workunits.HostRunning {
		said = append(said, fmt.Sprintf("%d %s running", st.TasksRunning, plural(st.TasksRunning, "task", "tasks")))
	}
	if st.Detail != "" {
		said = append(said, st.Detail)
	}
	said = append(said, "reported "+ago(st.At, now))
	row.StateDetail = strings.Join(said, "; ")
	return row
}

// humanReason turns a worker's reason code ("user_active") into words.
func humanReason(code string) string { return strings.ReplaceAll(code, "_", " ") }

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ago says how long before now t was, roughly, for people.
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < 48*time.Hour:
		return roundDuration(d) + " ago"
	default:
		return t.UTC().Format("2 Jan 2006")
	}
}
