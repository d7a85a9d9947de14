package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/nightshift-platform/nightshift/workunits"
)

// The rows the invariants are checked on, loaded straight from the
// database (load.go), never through the coordinator's code.

type jobRow struct {
	ID, ProjectID                                 int64
	MinQuorum, MaxErrorReplicas, MaxTotalReplicas int
	Reward                                        int64
	State                                         string
}

type unitRow struct {
	ID, JobID       int64
	State           string
	CanonicalTaskID int64 // 0: none
	Input           []byte
}

type taskRow struct {
	ID, UnitID, JobID int64
	HostID            int64 // 0: never sent
	State, Outcome    string
	ValidateState     string
	OutputSHA256      string
	Sent, Received    bool // sent_at, received_at set
	ReceivedLate      bool // received_at after deadline_at
}

type hostRow struct {
	ID, ContributorID int64
	Blocked           bool
}

type ledgerEntry struct {
	TxKey   string
	Account string
	Amount  int64
}

// snapshot is everything loaded for the checks.
type snapshot struct {
	jobs        []jobRow
	units       []unitRow
	tasks       []taskRow
	hosts       []hostRow
	entries     []ledgerEntry
	balances    map[string]int64 // ledger_balances
	moneyQueued int              // rows still in money_queue and money_refused
	funding     int64            // what the run paid into the project
}

// violations collects broken invariants, a few examples of each.
type violations struct {
	byRule map[string][]string
	counts map[string]int
}

func (v *violations) add(rule, format string, args ...any) {
	if v.byRule == nil {
		v.byRule, v.counts = map[string][]string{}, map[string]int{}
	}
	v.counts[rule]++
	if len(v.byRule[rule]) < 5 {
		v.byRule[rule] = append(v.byRule[rule], fmt.Sprintf(format, args...))
	}
}

func (v *violations) none() bool { return v == nil || len(v.counts) == 0 }

func (v *violations) String() string {
	rules := make([]string, 0, len(v.counts))
	for r := range v.counts {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	var b strings.Builder
	for _, r := range rules {
		fmt.Fprintf(&b, "VIOLATED %s: %d times, e.g.\n", r, v.counts[r])
		for _, e := range v.byRule[r] {
			fmt.Fprintf(&b, "    %s\n", e)
		}
	}
	return b.String()
}

// checkUnits: every job is done, every unit final, and each unit's state is
// what its tasks and the job's policy make it (bitwise validation, no
// adaptive replication): a validated unit has a canonical successful task
// agreed with by at least min_quorum valid tasks, every valid task has the
// canonical output and every invalid one another; a failed unit exceeded
// max_error_replicas failed replicas or used max_total_replicas without a
// quorum, and has no valid task. No task is still unsent or in progress.
func checkUnits(s snapshot, v *violations) {
	const rule = "(1) every unit validated or failed by its rules"
	jobs := map[int64]jobRow{}
	for _, j := range s.jobs {
		jobs[j.ID] = j
		if j.State != "done" {
			v.add(rule, "job %d is %s, not done", j.ID, j.State)
		}
	}
	tasksOf := map[int64][]taskRow{}
	for _, t := range s.tasks {
		tasksOf[t.UnitID] = append(tasksOf[t.UnitID], t)
		if t.State != "over" {
			v.add(rule, "task %d of unit %d is still %s", t.ID, t.UnitID, t.State)
		}
	}
	for _, u := range s.units {
		j, ok := jobs[u.JobID]
		if !ok {
			v.add(rule, "unit %d belongs to unknown job %d", u.ID, u.JobID)
			continue
		}
		ts := tasksOf[u.ID]
		switch u.State {
		case "done":
			var canonical *taskRow
			for i := range ts {
				if ts[i].ID == u.CanonicalTaskID {
					canonical = &ts[i]
				}
			}
			if canonical == nil || canonical.Outcome != "success" || canonical.ValidateState != "valid" {
				v.add(rule, "validated unit %d: canonical task %d is not one of its valid successful tasks", u.ID, u.CanonicalTaskID)
				continue
			}
			agree := 0
			for _, t := range ts {
				switch {
				case t.ValidateState == "valid" && t.OutputSHA256 != canonical.OutputSHA256:
					v.add(rule, "validated unit %d: task %d is valid but its output differs from the canonical one", u.ID, t.ID)
				case t.ValidateState == "valid":
					agree++
				case t.ValidateState == "invalid" && t.OutputSHA256 == canonical.OutputSHA256:
					v.add(rule, "validated unit %d: task %d is invalid but has the canonical output", u.ID, t.ID)
				case t.Outcome == "success" && t.ValidateState != "invalid":
					v.add(rule, "validated unit %d: successful task %d left %q", u.ID, t.ID, t.ValidateState)
				}
			}
			if agree < j.MinQuorum {
				v.add(rule, "validated unit %d: %d valid tasks agree, min_quorum is %d", u.ID, agree, j.MinQuorum)
			}
		case "failed":
			failed := 0
			for _, t := range ts {
				if t.ValidateState == "valid" {
					v.add(rule, "failed unit %d has valid task %d", u.ID, t.ID)
				}
				if t.Outcome == "error" || t.Outcome == "no_reply" || t.Outcome == "validate_error" {
					failed++
				}
			}
			if failed <= j.MaxErrorReplicas && len(ts) < j.MaxTotalReplicas {
				v.add(rule, "unit %d failed with %d failed of %d replicas (limits %d errors, %d total)",
					u.ID, failed, len(ts), j.MaxErrorReplicas, j.MaxTotalReplicas)
			}
		default:
			v.add(rule, "unit %d is %s, not validated or failed", u.ID, u.State)
		}
		if len(ts) > j.MaxTotalReplicas {
			v.add(rule, "unit %d has %d replicas, max_total_replicas is %d", u.ID, len(ts), j.MaxTotalReplicas)
		}
	}
}

// taskKey splits a ledger key "kind:task:ID".
func taskKey(key string) (kind string, task int64, ok bool) {
	kind, rest, found := strings.Cut(key, ":task:")
	if !found {
		return "", 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return kind, id, err == nil
}

// checkCredits: no task credited twice: at most one reserve, post and void
// per task, never both a post and a void; a task is posted exactly when it
// is valid, voided exactly when its reported success was judged invalid or
// unchecked, and reserved exactly when it reported success. No clawbacks
// (nothing here asks for one).
func checkCredits(s snapshot, v *violations) {
	const rule = "(2) no task credited twice; credits match task states"
	type moves struct{ reserve, post, void, clawback int }
	byTask := map[int64]*moves{}
	for _, e := range s.entries {
		if e.Amount <= 0 {
			continue // count each transaction once, by its credit entry
		}
		kind, id, ok := taskKey(e.TxKey)
		if !ok {
			continue
		}
		m := byTask[id]
		if m == nil {
			m = &moves{}
			byTask[id] = m
		}
		switch kind {
		case "reserve":
			m.reserve++
		case "post":
			m.post++
		case "void":
			m.void++
		case "clawback":
			m.clawback++
		default:
			v.add(rule, "unknown ledger key %q", e.TxKey)
		}
	}
	known := map[int64]bool{}
	for _, t := range s.tasks {
		known[t.ID] = true
		m := byTask[t.ID]
		if m == nil {
			m = &moves{}
		}
		success := t.Outcome == "success"
		valid := t.ValidateState == "valid"
		voidable := success && (t.ValidateState == "invalid" || t.ValidateState == "unchecked")
		switch {
		case m.post > 1 || m.void > 1 || m.reserve > 1:
			v.add(rule, "task %d: %d reserves, %d posts, %d voids", t.ID, m.reserve, m.post, m.void)
		case m.post > 0 && m.void > 0:
			v.add(rule, "task %d both posted and voided", t.ID)
		case m.clawback > 0:
			v.add(rule, "task %d clawed back", t.ID)
		case (m.reserve == 1) != success:
			v.add(rule, "task %d (%s) has %d reserves", t.ID, t.Outcome, m.reserve)
		case (m.post == 1) != valid:
			v.add(rule, "task %d (%s/%s) has %d posts", t.ID, t.Outcome, t.ValidateState, m.post)
		case (m.void == 1) != voidable:
			v.add(rule, "task %d (%s/%s) has %d voids", t.ID, t.Outcome, t.ValidateState, m.void)
		}
	}
	for id := range byTask {
		if !known[id] {
			v.add(rule, "ledger moves money for task %d, which does not exist", id)
		}
	}
}

// checkLedger: every transaction sums to zero, so does the whole ledger;
// the running balances match the entries; nothing is left pending or in
// escrow, or queued; each contributor's available balance is the reward of
// its valid tasks (fee 0), and the project's budget is its funding less
// those rewards.
func checkLedger(s snapshot, v *violations) {
	const rule = "(3) the ledger balances and equals the task states"
	txSum := map[string]int64{}
	accounts := map[string]int64{}
	var total int64
	for _, e := range s.entries {
		txSum[e.TxKey] += e.Amount
		accounts[e.Account] += e.Amount
		total += e.Amount
	}
	for k, sum := range txSum {
		if sum != 0 {
			v.add(rule, "transaction %q sums to %d", k, sum)
		}
	}
	if total != 0 {
		v.add(rule, "the whole ledger sums to %d", total)
	}
	for a, b := range accounts {
		if s.balances[a] != b {
			v.add(rule, "account %s: running balance %d, entries sum to %d", a, s.balances[a], b)
		}
	}
	for a, b := range s.balances {
		if _, ok := accounts[a]; !ok && b != 0 {
			v.add(rule, "account %s has balance %d and no entries", a, b)
		}
	}
	if s.moneyQueued != 0 {
		v.add(rule, "%d money rows still queued or refused", s.moneyQueued)
	}
	reward := map[int64]int64{}
	project := int64(0)
	for _, j := range s.jobs {
		reward[j.ID] = j.Reward
		project = j.ProjectID
	}
	owner := map[int64]int64{}
	for _, h := range s.hosts {
		owner[h.ID] = h.ContributorID
	}
	want := map[string]int64{}
	var paid int64
	for _, t := range s.tasks {
		if t.ValidateState == "valid" {
			want[fmt.Sprintf("contributor:%d:available", owner[t.HostID])] += reward[t.JobID]
			paid += reward[t.JobID]
		}
	}
	for a, b := range accounts {
		switch {
		case strings.HasSuffix(a, ":pending") || strings.HasSuffix(a, ":inflight") || strings.HasSuffix(a, ":escrow"):
			if b != 0 {
				v.add(rule, "account %s still holds %d", a, b)
			}
		case strings.HasSuffix(a, ":available"):
			if b != want[a] {
				v.add(rule, "account %s holds %d, its valid tasks earned %d", a, b, want[a])
			}
		case a == "platform:fees":
			if b != 0 {
				v.add(rule, "platform fees %d with a fee of 0", b)
			}
		}
	}
	for a, w := range want {
		if _, ok := accounts[a]; !ok && w != 0 {
			v.add(rule, "account %s was never paid its %d", a, w)
		}
	}
	budget := fmt.Sprintf("project:%d:budget", project)
	if got := accounts[budget]; got != s.funding-paid {
		v.add(rule, "%s holds %d; funding %d less rewards paid %d is %d", budget, got, s.funding, paid, s.funding-paid)
	}
}

// checkAssignment: every result the coordinator took came from the host
// the task was sent to, before its deadline: a reported task (success or
// error) was sent, to a host, and received no later than its deadline.
func checkAssignment(s snapshot, v *violations) {
	const rule = "(4) no result accepted from a host it was not assigned to"
	for _, t := range s.tasks {
		if t.Outcome != "success" && t.Outcome != "error" {
			continue
		}
		switch {
		case t.HostID == 0 || !t.Sent:
			v.add(rule, "task %d has a result but was never sent to a host", t.ID)
		case !t.Received:
			v.add(rule, "task %d has a result but no time it was received", t.ID)
		case t.ReceivedLate:
			v.add(rule, "task %d's result was taken after its deadline", t.ID)
		}
	}
}

// checkObserved compares the database with what the hosts saw: every
// report answered 2xx is stored as sent, for the host that sent it and
// that leased the task; every stored result was sent by the host the task
// was leased to (a lost lease answer leaves a task no host knows of, which
// must then have no result); no forged output is stored anywhere.
func checkObserved(s snapshot, o *observer, v *violations) {
	const rule = "(4) results match what the hosts sent and leased"
	o.mu.Lock()
	defer o.mu.Unlock()
	byID := make(map[int64]taskRow, len(s.tasks))
	for _, t := range s.tasks {
		byID[t.ID] = t
		if h, ok := o.forged[t.OutputSHA256]; ok && t.OutputSHA256 != "" {
			v.add(rule, "task %d holds the output host %d forged", t.ID, h)
		}
		if t.Outcome != "success" && t.Outcome != "error" {
			continue
		}
		leased, ok := o.leasedTo[t.ID]
		if !ok {
			v.add(rule, "task %d has a result from host %d, but no host learned it leased it", t.ID, t.HostID)
			continue
		}
		if leased != t.HostID {
			v.add(rule, "task %d has a result from host %d but was leased to host %d", t.ID, t.HostID, leased)
		}
		snt, ok := o.sentBy[t.ID]
		if !ok || snt.host != t.HostID || snt.output != t.OutputSHA256 {
			v.add(rule, "task %d holds %q from host %d; the hosts sent %+v", t.ID, t.OutputSHA256, t.HostID, snt)
		}
	}
	for id, a := range o.acked {
		t, ok := byID[id]
		switch {
		case !ok:
			v.add(rule, "task %d's report was accepted but the task does not exist", id)
		case t.HostID != a.host || (t.Outcome != "success" && t.Outcome != "error") || t.OutputSHA256 != a.output:
			v.add(rule, "task %d's report from host %d was accepted, yet the task is %s/%s from host %d", id, a.host, t.Outcome, t.OutputSHA256, t.HostID)
		}
	}
}

// checkCanonical: every validated unit's canonical output is the true
// one (truth gives its hash for a unit's input): lying hosts never make up
// a quorum.
func checkCanonical(s snapshot, truth func(input []byte) string, v *violations) {
	const rule = "(1) every validated unit holds the true output"
	outputs := make(map[int64]string, len(s.tasks))
	for _, t := range s.tasks {
		outputs[t.ID] = t.OutputSHA256
	}
	for _, u := range s.units {
		if u.State != "done" {
			continue
		}
		if got, want := outputs[u.CanonicalTaskID], truth(u.Input); got != want {
			v.add(rule, "unit %d (input %q): canonical output %s, the true one is %s", u.ID, u.Input, got, want)
		}
	}
}

// checkAll runs every check.
func checkAll(s snapshot, o *observer) *violations {
	v := &violations{}
	checkUnits(s, v)
	checkCredits(s, v)
	checkLedger(s, v)
	checkAssignment(s, v)
	checkCanonical(s, func(in []byte) string { return workunits.Hash(honestOutput(in)) }, v)
	if o != nil {
		checkObserved(s, o, v)
	}
	return v
}
