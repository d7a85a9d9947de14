package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// print writes the run's counts and the verdict.
func (r *result) print(w io.Writer) {
	s, o := r.snap, r.obs
	units := map[string]int{}
	for _, u := range s.units {
		units[u.State]++
	}
	outcomes, validations := map[string]int{}, map[string]int{}
	for _, t := range s.tasks {
		outcomes[t.Outcome]++
		if t.Outcome == "success" {
			validations[t.ValidateState]++
		}
	}
	blocked := 0
	for _, h := range s.hosts {
		if h.Blocked {
			blocked++
		}
	}
	var before, after, unreachable, forwarded int64
	for _, p := range r.proxies {
		before += p.droppedBefore.Load()
		after += p.droppedAfter.Load()
		unreachable += p.unreachable.Load()
		forwarded += p.forwarded.Load()
	}
	var contributors, budget int64
	for a, b := range s.balances {
		switch {
		case strings.HasSuffix(a, ":available"):
			contributors += b
		case strings.HasSuffix(a, ":budget"):
			budget += b
		}
	}
	fmt.Fprintf(w, "== chaos on %s (%d coordinator(s))\n", r.cfg.store, r.cfg.coordinators)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, format string, args ...any) {
		fmt.Fprintf(tw, "  %s\t"+format+"\n", append([]any{k}, args...)...)
	}
	row("job", "%d units, %d tasks (replicas) created", len(s.units), len(s.tasks))
	row("units", "%d validated, %d failed, %d other", units["done"], units["failed"], len(s.units)-units["done"]-units["failed"])
	row("task outcomes", "%s", fmtCounts(outcomes))
	row("successful tasks judged", "%s", fmtCounts(validations))
	row("hosts", "%d (%d contributors), %d liars blocked (coordinator: %d hosts blocked), %d honest hosts refused work", r.cfg.hosts, r.cfg.contributors, o.liarsBlocked.Load(), blocked, o.honestBlocked.Load())
	row("host deaths", "%d holding tasks: %d for good; the others came back and sent %d reports, %d refused as late", o.hostDeaths.Load(), o.hostsGone.Load(), o.zombieReports.Load(), o.lateRefused.Load())
	row("leases", "%d with tasks, %d empty", o.leases.Load(), o.emptyLeases.Load())
	row("reports", "%d sent (with retries), %d accepted (answered 2xx), %d refused: %d retries after a lost answer, %d past the deadline after retries, %d late from dead hosts",
		o.reportsSent.Load(), o.reportsAccepted.Load(), o.reportsRefused.Load(), o.lostResponsesThenRefused.Load(), o.deadlineRefused.Load(), o.lateRefused.Load())
	stored := outcomes["success"] + outcomes["error"]
	row("results stored", "%d; answered 2xx to their host %d; stored but the host never saw the answer %d (answers lost: %d dropped after forwarding, %d cut by a kill)",
		stored, len(o.acked), stored-len(o.acked), after, unreachable)
	row("forged reports", "%d forged (%d requests with retries), %d refused (404 expected; any other is reported below), %d accepted", o.forgedSent.Load(), o.forgedTries.Load(), o.forgedRefused.Load(), o.forgedAccepted.Load())
	row("requests dropped", "%d before forwarding, %d after (answer lost), %d cut for an unreachable coordinator, %d passed", before, after, unreachable, forwarded)
	row("host request failures", "%d network, %d 5xx", o.netErrors.Load(), o.serverErrors.Load())
	row("coordinator kills", "%d SIGKILLs, %d restarts", r.kills, r.restarts)
	row("ledger", "funded %d, paid to contributors %d (= %d valid × %d), back in budget %d; audit: balanced=%v, %d transactions, %d entries",
		s.funding, contributors, validations["valid"], reward, budget, r.audit.Balanced, r.audit.Transactions, r.audit.Entries)
	row("elapsed", "%s (setup %s, chaos until the job was done %s)", r.total.Round(time.Millisecond), r.setup.Round(time.Millisecond), r.chaos.Round(time.Millisecond))
	tw.Flush()
	if r.violations.none() {
		fmt.Fprintln(w, "  all invariants hold")
	} else {
		fmt.Fprint(w, r.violations.String())
	}
}

func fmtCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		name := k
		if name == "" {
			name = "(none)"
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, m[k]))
	}
	return strings.Join(parts, ", ")
}
