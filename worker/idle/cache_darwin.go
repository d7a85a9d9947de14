package idle

import (
	"sync"
	"time"
)

// cached keeps the last answer of a slow command for a while.
type cached[T any] struct {
	mu  sync.Mutex
	at  time.Time
	val T
	ok  bool
	err error
}

func (c *cached[T]) get(maxAge time.Duration, read func() (T, bool, error)) (T, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); c.at.IsZero() || now.Sub(c.at) >= maxAge {
		c.val, c.ok, c.err = read()
		c.at = now
	}
	return c.val, c.ok, c.err
}
