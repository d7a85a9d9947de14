package payouts

import (
	"math"
	"time"
)

// Credit measures work done, not money: it is BOINC's Cobblestone. One
// credit is 1/200 of a day of a machine doing 1 GFLOPS, so a result worth
// ops operations earns ops / OpsPerCredit. Credit is what teams and
// leaderboards rank by; it never enters the ledger.
const OpsPerCredit = 86400 * 1e9 / 200 // 4.32e11

// MaxOpsPerSecond bounds a host's reported benchmark: far above any PC
// core today, low enough that a claim times it stays finite and exact
// enough in a float64.
const MaxOpsPerSecond = 1e13

// ClaimFactor caps a claim at this many times the app version's estimate,
// so a host that inflates its benchmark or its CPU time gains little.
const ClaimFactor = 2

// ClaimedCredit is what a host claims for one result. With a benchmark
// (opsPerSecond > 0) it is the CPU time spent times the host's speed;
// without one it is the app version's estimated operations per unit. Either
// way it is capped at ClaimFactor times the estimate and never negative.
func ClaimedCredit(cpu time.Duration, opsPerSecond float64, estimatedOps int64) float64 {
	estimate := max(float64(estimatedOps), 0)
	ops := estimate
	if opsPerSecond > 0 && !math.IsInf(opsPerSecond, 0) {
		ops = cpu.Seconds() * opsPerSecond
	}
	if math.IsNaN(ops) || ops < 0 {
		ops = 0
	}
	return min(ops, ClaimFactor*estimate) / OpsPerCredit
}

// GrantedCredit is what every valid result of a quorum is granted: the
// least any of them claimed. Taking the minimum normalises credit across
// hosts: a host that overstates its benchmark cannot raise what the
// quorum gets, only a host that understates lowers it, and it has no
// reason to. No claims grant nothing.
func GrantedCredit(claims []float64) float64 {
	if len(claims) == 0 {
		return 0
	}
	g := math.Inf(1)
	for _, c := range claims {
		g = min(g, max(c, 0))
	}
	return g
}

// RACHalfLife is how long recent average credit takes to halve when no
// credit is granted.
const RACHalfLife = 7 * 24 * time.Hour

// Recent average credit (RAC) is credit per day, averaged with weights
// that decay exponentially with a RACHalfLife half-life. With the decay
// rate λ = ln 2 / RACHalfLife (per day), a credit c granted at time t
// contributes
//
//	c · λ · exp(−λ · (now − t))
//
// to the RAC at now. Each credit's contributions over all time sum to c,
// and a steady rate of r credits a day converges to a RAC of r. So it is
// kept as one value and the time it was last brought up to date: RACDecay
// ages it, RACAdd ages it and adds a grant.

// racRate is λ in credit per day per credit granted.
var racRate = math.Ln2 / RACHalfLife.Hours() * 24

// RACDecay returns value, a RAC as of at, as of now: halved for every
// RACHalfLife between them. A now before at leaves it unchanged (clocks of
// several coordinators can disagree slightly).
func RACDecay(value float64, at, now time.Time) float64 {
	if value <= 0 || !now.After(at) {
		return max(value, 0)
	}
	return value * math.Exp2(-float64(now.Sub(at))/float64(RACHalfLife))
}

// RACAdd returns value, a RAC as of at, as of now after credit is granted
// at now.
func RACAdd(value float64, at time.Time, credit float64, now time.Time) float64 {
	return RACDecay(value, at, now) + racRate*max(credit, 0)
}
