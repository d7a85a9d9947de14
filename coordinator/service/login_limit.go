package service

import (
	"sync"
	"time"
)

// Failed sign-ins allowed per key (an email, a client address) in a
// window; past them the key waits until its oldest failure leaves it.
const (
	loginMaxFailures = 5
	loginWindow      = 15 * time.Minute
	loginMaxKeys     = 100_000 // about 10 MB; past it, expired keys are dropped, then all
)

// loginLimiter counts failed sign-ins in memory: each coordinator process
// counts its own, which is enough to make guessing slow, not impossible
// against many coordinators at once.
type loginLimiter struct {
	mu       sync.Mutex
	failures map[string][]time.Time // oldest first, at most loginMaxFailures
}

// wait returns how long until every key may try again; 0 if all may now.
func (l *loginLimiter) wait(keys []string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		f := l.recent(k, now)
		if len(f) >= loginMaxFailures {
			wait = max(wait, f[0].Add(loginWindow).Sub(now))
		}
	}
	return wait
}

// fail counts a failed attempt against every key.
func (l *loginLimiter) fail(keys []string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures == nil {
		l.failures = map[string][]time.Time{}
	}
	if len(l.failures) >= loginMaxKeys {
		for k := range l.failures {
			l.recent(k, now)
		}
		if len(l.failures) >= loginMaxKeys {
			l.failures = map[string][]time.Time{}
		}
	}
	for _, k := range keys {
		f := append(l.recent(k, now), now)
		if len(f) > loginMaxFailures {
			f = f[len(f)-loginMaxFailures:]
		}
		l.failures[k] = f
	}
}

// reset forgets a key's failures: a right password clears its email's
// count (but not its address's, which would let one account unlock guessing
// at others).
func (l *loginLimiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
}

// recent drops a key's failures older than the window and returns the rest.
func (l *loginLimiter) recent(key string, now time.Time) []time.Time {
	f := l.failures[key]
	i := 0
	for i < len(f) && !f[i].Add(loginWindow).After(now) {
		i++
	}
	if i == len(f) {
		delete(l.failures, key)
		return nil
	}
	f = f[i:]
	l.failures[key] = f
	return f
}
