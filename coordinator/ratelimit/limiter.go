// Package ratelimit counts requests per key (a client address, a
// credential) in token buckets, and finds a request's client address
// behind trusted reverse proxies.
package ratelimit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys bounds how many keys a Limiter remembers. A bucket costs
// roughly 200 bytes with its key, so a full Limiter holds about 13 MB.
const DefaultMaxKeys = 1 << 16

// Rate is Events per Per, with bursts of up to Events: "30/m" lets a key
// spend 30 at once and then one every two seconds. The zero Rate is no
// limit.
type Rate struct {
	Events int
	Per    time.Duration
}

// ParseRate reads "N/s", "N/m", "N/h" or "N/DURATION" ("N/10s"); "" and
// "off" are the zero Rate, no limit.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "off" {
		return Rate{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	events, err := strconv.Atoi(n)
	if !ok || err != nil || events <= 0 {
		return Rate{}, fmt.Errorf("rate %q: want a positive count per period, like 30/m", s)
	}
	if per == "s" || per == "m" || per == "h" {
		per = "1" + per
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return Rate{}, fmt.Errorf("rate %q: the period must be s, m, h or a positive duration like 10s", s)
	}
	return Rate{Events: events, Per: d}, nil
}

// String writes r the way ParseRate reads it.
func (r Rate) String() string {
	if r.Events == 0 {
		return "off"
	}
	per := r.Per.String()
	switch r.Per {
	case time.Second:
		per = "s"
	case time.Minute:
		per = "m"
	case time.Hour:
		per = "h"
	}
	return fmt.Sprintf("%d/%s", r.Events, per)
}

// Set makes *Rate a flag.Value.
func (r *Rate) Set(s string) error {
	v, err := ParseRate(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Limiter keeps a token bucket per key, in this process's memory. At most
// maxKeys buckets are kept: when a new key finds the map full, the buckets
// that have filled up again are dropped first (forgetting them changes
// nothing), then, if that frees too little, arbitrary ones (their keys
// start afresh). A nil *Limiter allows everything.
type Limiter struct {
	limit   rate.Limit
	burst   int
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// New returns a Limiter allowing r per key, remembering at most maxKeys
// keys (DefaultMaxKeys if maxKeys <= 0). The zero Rate returns nil: no
// limit.
func New(r Rate, maxKeys int) *Limiter {
	if r.Events <= 0 || r.Per <= 0 {
		return nil
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Limiter{limit: rate.Limit(float64(r.Events) / r.Per.Seconds()), burst: r.Events, maxKeys: maxKeys,
		now: time.Now, buckets: map[string]*rate.Limiter{}}
}

// Allow takes a token from key's bucket. When there is none it says how
// long until there will be one.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, now)
	if b.AllowN(now, 1) {
		return true, 0
	}
	return false, l.wait(b, now)
}

// Empty says, without taking a token, whether key's bucket has none, and if
// so how long until it has one.
func (l *Limiter) Empty(key string) (empty bool, retryAfter time.Duration) {
	if l == nil {
		return false, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok || b.TokensAt(now) >= 1 {
		return false, 0
	}
	return true, l.wait(b, now)
}

// Len is how many keys are remembered.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

func (l *Limiter) bucket(key string, now time.Time) *rate.Limiter {
	if b, ok := l.buckets[key]; ok {
		return b
	}
	if len(l.buckets) >= l.maxKeys {
		l.evict(now)
	}
	b := rate.NewLimiter(l.limit, l.burst)
	l.buckets[key] = b
	return b
}

// evict makes room: full buckets go first; then arbitrary ones, down to
// 7/8 of the bound, so that the next sweep is maxKeys/8 new keys away and
// a flood of new keys costs O(1) each on average.
func (l *Limiter) evict(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) <= l.maxKeys*7/8 {
			break
		}
		delete(l.buckets, k)
	}
}

// wait is how long until b holds a whole token, at least a second: it is
// sent as Retry-After, in whole seconds.
func (l *Limiter) wait(b *rate.Limiter, now time.Time) time.Duration {
	need := 1 - b.TokensAt(now)
	secs := math.Ceil(need / float64(l.limit))
	return time.Duration(max(secs, 1)) * time.Second
}
