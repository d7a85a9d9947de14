package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/workunits"
)

// goodSnapshot is a finished job of two units, by hand: unit 10 validated
// by tasks 100 and 101 (of hosts 1 and 2) after liar host 3's task 102 was
// found invalid; unit 11 failed after four errors, with task 107's success
// left unchecked. The ledger is what the coordinator would have written.
func goodSnapshot() (snapshot, *observer) {
	const r = 1000
	s := snapshot{
		funding:  12 * r,
		jobs:     []jobRow{{ID: 1, ProjectID: 7, MinQuorum: 2, MaxErrorReplicas: 3, MaxTotalReplicas: 6, Reward: r, State: "done"}},
		units:    []unitRow{{ID: 10, JobID: 1, State: "done", CanonicalTaskID: 100, Input: []byte("1")}, {ID: 11, JobID: 1, State: "failed", Input: []byte("2")}},
		hosts:    []hostRow{{ID: 1, ContributorID: 21}, {ID: 2, ContributorID: 22}, {ID: 3, ContributorID: 23, Blocked: true}},
		balances: map[string]int64{},
	}
	truth := workunits.Hash(honestOutput([]byte("1")))
	task := func(id, unit, host int64, outcome, vs, out string) taskRow {
		if out == "aa" {
			out = truth
		}
		return taskRow{ID: id, UnitID: unit, JobID: 1, HostID: host, State: "over", Outcome: outcome, ValidateState: vs, OutputSHA256: out,
			Sent: true, Received: outcome == "success" || outcome == "error"}
	}
	s.tasks = []taskRow{
		task(100, 10, 1, "success", "valid", "aa"),
		task(101, 10, 2, "success", "valid", "aa"),
		task(102, 10, 3, "success", "invalid", "bb"),
		task(103, 11, 1, "error", "pending", ""),
		task(104, 11, 2, "error", "pending", ""),
		task(105, 11, 1, "no_reply", "pending", ""),
		task(106, 11, 2, "error", "pending", ""),
		task(107, 11, 3, "success", "unchecked", "cc"),
	}
	s.tasks[5].Received = false
	o := newObserver(config{})
	for _, t := range s.tasks {
		o.leasedTo[t.ID] = t.HostID
		if t.Received {
			o.sentBy[t.ID] = sent{host: t.HostID, output: t.OutputSHA256}
			o.acked[t.ID] = sent{host: t.HostID, output: t.OutputSHA256}
		}
	}
	tx := func(key, from, to string, amount int64) {
		s.entries = append(s.entries, ledgerEntry{key, from, -amount}, ledgerEntry{key, to, amount})
		s.balances[from] -= amount
		s.balances[to] += amount
	}
	tx("fund:project:7:chaos", "external:funding", "project:7:budget", 12*r)
	tx("escrow:job:1", "project:7:budget", "job:1:escrow", 12*r)
	for _, t := range s.tasks {
		if t.Outcome != "success" {
			continue
		}
		c := fmt.Sprintf("contributor:%d:pending", 20+t.HostID)
		tx(fmt.Sprintf("reserve:task:%d", t.ID), "job:1:escrow", c, r)
		if t.ValidateState == "valid" {
			tx(fmt.Sprintf("post:task:%d", t.ID), c, fmt.Sprintf("contributor:%d:available", 20+t.HostID), r)
		} else {
			tx(fmt.Sprintf("void:task:%d", t.ID), c, "job:1:escrow", r)
		}
	}
	tx("release:job:1", "job:1:escrow", "project:7:budget", 10*r)
	return s, o
}

func TestChecksPassOnAGoodRun(t *testing.T) {
	s, o := goodSnapshot()
	if v := checkAll(s, o); !v.none() {
		t.Fatalf("a consistent snapshot fails the checks:\n%s", v)
	}
}

// Each case breaks one invariant in the good snapshot; the checks must
// name it.
func TestChecksFindEachViolation(t *testing.T) {
	taskByID := func(s *snapshot, id int64) *taskRow {
		for i := range s.tasks {
			if s.tasks[i].ID == id {
				return &s.tasks[i]
			}
		}
		panic("no task")
	}
	cases := []struct {
		name   string
		rule   string
		mutate func(s *snapshot, o *observer)
	}{
		{"validated with a wrong output", "(1) every validated unit holds the true output", func(s *snapshot, _ *observer) { s.units[0].Input = []byte("3") }},
		{"job not done", "(1)", func(s *snapshot, _ *observer) { s.jobs[0].State = "active" }},
		{"unit still open", "(1)", func(s *snapshot, _ *observer) { s.units[0].State = "open" }},
		{"task still in progress", "(1)", func(s *snapshot, _ *observer) { taskByID(s, 105).State = "in_progress" }},
		{"validated without a quorum", "(1)", func(s *snapshot, _ *observer) {
			taskByID(s, 101).ValidateState = "invalid"
			taskByID(s, 101).OutputSHA256 = "dd"
		}},
		{"canonical task not valid", "(1)", func(s *snapshot, _ *observer) { s.units[0].CanonicalTaskID = 102 }},
		{"valid task with another output", "(1)", func(s *snapshot, _ *observer) { taskByID(s, 101).OutputSHA256 = "ee" }},
		{"failed within its limits", "(1)", func(s *snapshot, _ *observer) { taskByID(s, 106).Outcome = "success" }},
		{"valid task in a failed unit", "(1)", func(s *snapshot, _ *observer) { taskByID(s, 107).ValidateState = "valid" }},
		{"posted twice", "(2)", func(s *snapshot, _ *observer) {
			s.entries = append(s.entries, ledgerEntry{"post:task:100", "contributor:21:pending", -1000}, ledgerEntry{"post:task:100", "contributor:21:available", 1000})
		}},
		{"posted and voided", "(2)", func(s *snapshot, _ *observer) {
			s.entries = append(s.entries, ledgerEntry{"void:task:100", "contributor:21:pending", -1000}, ledgerEntry{"void:task:100", "job:1:escrow", 1000})
		}},
		{"valid task never posted", "(2)", func(s *snapshot, _ *observer) {
			kept := s.entries[:0]
			for _, e := range s.entries {
				if e.TxKey != "post:task:101" {
					kept = append(kept, e)
				}
			}
			s.entries = kept
		}},
		{"money for a task that does not exist", "(2)", func(s *snapshot, _ *observer) {
			s.entries = append(s.entries, ledgerEntry{"reserve:task:999", "job:1:escrow", -1}, ledgerEntry{"reserve:task:999", "contributor:21:pending", 1})
		}},
		{"transaction does not sum to zero", "(3)", func(s *snapshot, _ *observer) { s.entries[0].Amount-- }},
		{"stale running balance", "(3)", func(s *snapshot, _ *observer) { s.balances["project:7:budget"]++ }},
		{"money left pending", "(3)", func(s *snapshot, _ *observer) {
			s.entries = append(s.entries, ledgerEntry{"gift", "project:7:budget", -5}, ledgerEntry{"gift", "contributor:21:pending", 5})
			s.balances["project:7:budget"] -= 5
			s.balances["contributor:21:pending"] += 5
		}},
		{"contributor paid more than earned", "(3)", func(s *snapshot, _ *observer) {
			s.entries = append(s.entries, ledgerEntry{"gift", "project:7:budget", -5}, ledgerEntry{"gift", "contributor:21:available", 5})
			s.balances["project:7:budget"] -= 5
			s.balances["contributor:21:available"] += 5
		}},
		{"money queue not empty", "(3)", func(s *snapshot, _ *observer) { s.moneyQueued = 1 }},
		{"result from a task never sent", "(4)", func(s *snapshot, _ *observer) { taskByID(s, 103).Sent = false }},
		{"result taken after the deadline", "(4)", func(s *snapshot, _ *observer) { taskByID(s, 104).ReceivedLate = true }},
		{"result from another host than the lease", "(4)", func(_ *snapshot, o *observer) { o.leasedTo[100] = 2 }},
		{"accepted report not stored", "(4)", func(_ *snapshot, o *observer) { o.acked[105] = sent{host: 1, output: ""} }},
		{"forged output stored", "(4)", func(_ *snapshot, o *observer) { o.forged["bb"] = 2 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, o := goodSnapshot()
			c.mutate(&s, o)
			v := checkAll(s, o)
			found := false
			for rule := range v.counts {
				found = found || strings.HasPrefix(rule, c.rule)
			}
			if !found {
				t.Fatalf("want a violation of %s, got:\n%s", c.rule, v)
			}
		})
	}
}
