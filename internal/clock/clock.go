// Package clock is the one source of time in billkey. Production code asks a
// Clock for the time instead of calling time.Now, so test mode can move it.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// System is the real wall clock.
type System struct{}

func (System) Now() time.Time { return time.Now() }

// Test is a clock that runs at wall-clock speed from an offset that can be
// advanced (never moved back). Safe for concurrent use.
type Test struct {
	mu     sync.RWMutex
	offset time.Duration
}

// NewTest returns a test clock starting at the current wall time plus offset.
func NewTest(offset time.Duration) *Test { return &Test{offset: offset} }

func (c *Test) Now() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d (d <= 0 is ignored) and returns the new offset.
func (c *Test) Advance(d time.Duration) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.offset += d
	}
	return c.offset
}

// Offset reports how far ahead of wall time the clock is.
func (c *Test) Offset() time.Duration {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.offset
}

// SetOffset sets the offset (used when restoring a persisted offset at start-up);
// it never moves the clock back.
func (c *Test) SetOffset(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > c.offset {
		c.offset = d
	}
}
