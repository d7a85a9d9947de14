package main

import (
	"math"
	"slices"
	"time"
)

// line is the JSON line a run ends with. The pgbench fields are set only
// when --pgbench-tps is given (PostgreSQL runs).
type line struct {
	Store        string   `json:"store,omitempty"`
	Coordinators int      `json:"coordinators"`
	Hosts        int      `json:"hosts"`
	Tasks        int      `json:"tasks"` // validated, as the coordinators count them
	TasksPerS    float64  `json:"tasks_per_s"`
	LeaseP50MS   float64  `json:"lease_p50_ms"`
	LeaseP99MS   float64  `json:"lease_p99_ms"`
	CPUPerTaskUS float64  `json:"cpu_us_per_task"` // the coordinators' user+system CPU
	PgbenchTPS   *float64 `json:"pgbench_tps,omitempty"`
	Ratio        *float64 `json:"ratio_to_pgbench,omitempty"`

	// Context for reading the figures above.
	Seconds         float64  `json:"seconds"`           // the timed phase: first lease to last job finished
	ReportSeconds   float64  `json:"reporting_seconds"` // of which until the last report was accepted
	Units           int      `json:"units"`
	Jobs            int      `json:"jobs"`
	Complete        bool     `json:"complete"`                 // false: a time limit or a stall ended the run early
	Credited        *int     `json:"credited_tasks,omitempty"` // tasks paid, from the project's budget; complete runs only
	LeaseRequests   int      `json:"lease_requests"`
	EmptyLeases     int      `json:"empty_leases"`
	Errors          int      `json:"errors"`
	Concurrency     int      `json:"concurrency"`
	LeaseMax        int      `json:"lease_max"`
	Analyzed        bool     `json:"analyzed,omitempty"` // ANALYZE ran after setup (PostgreSQL)
	DBCPUPerTaskUS  *float64 `json:"db_cpu_us_per_task,omitempty"`
	GenCPUPerTaskUS float64  `json:"loadgen_cpu_us_per_task"`
}

func summarise(cfg config, fx *fixture, r result) line {
	l := line{
		Store:         cfg.store,
		Coordinators:  len(cfg.urls),
		Hosts:         len(fx.hosts),
		Tasks:         r.validated,
		Seconds:       round(r.elapsed.Seconds(), 3),
		ReportSeconds: round(r.reporting.Seconds(), 3),
		Units:         fx.units,
		Jobs:          len(fx.jobs),
		Complete:      r.complete,
		LeaseRequests: r.leaseRequests,
		EmptyLeases:   r.emptyLeases,
		Errors:        r.errors,
		Concurrency:   min(cfg.concurrency, len(fx.hosts)),
		LeaseMax:      cfg.leaseMax,
		Analyzed:      cfg.analyzeDB != "",
	}
	if s := r.elapsed.Seconds(); s > 0 {
		l.TasksPerS = round(float64(r.validated)/s, 1)
	}
	slices.Sort(r.leases)
	l.LeaseP50MS = ms(percentile(r.leases, 50))
	l.LeaseP99MS = ms(percentile(r.leases, 99))
	l.CPUPerTaskUS = perTask(r.coordCPU, r.validated)
	l.GenCPUPerTaskUS = perTask(r.selfCPU, r.validated)
	if cfg.dbComm != "" {
		v := perTask(r.dbCPU, r.validated)
		l.DBCPUPerTaskUS = &v
	}
	if cfg.pgbenchTPS > 0 {
		tps := round(cfg.pgbenchTPS, 1)
		ratio := round(l.TasksPerS/tps, 3)
		l.PgbenchTPS, l.Ratio = &tps, &ratio
	}
	return l
}

// percentile returns the nearest-rank p-th percentile of sorted: the
// smallest value that at least p% of the values do not exceed.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func perTask(d time.Duration, tasks int) float64 {
	if tasks == 0 {
		return 0
	}
	return round(float64(d.Microseconds())/float64(tasks), 1)
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 2) }

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}
