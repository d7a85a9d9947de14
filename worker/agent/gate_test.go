package agent

import (
	"testing"
	"time"
)

func TestGateCountsTheTimeItWasOpen(t *testing.T) {
	g := NewGate(false, nil)
	if got := g.OpenFor(); got != 0 {
		t.Fatalf("closed since made: OpenFor = %v, want 0", got)
	}
	g.Set(true)
	time.Sleep(30 * time.Millisecond)
	g.Set(false)
	closedAt := g.OpenFor()
	if closedAt < 30*time.Millisecond {
		t.Errorf("open 30 ms: OpenFor = %v", closedAt)
	}
	time.Sleep(30 * time.Millisecond)
	if got := g.OpenFor(); got != closedAt {
		t.Errorf("OpenFor grew from %v to %v while closed", closedAt, got)
	}
	g.Set(true)
	time.Sleep(10 * time.Millisecond)
	if got := g.OpenFor(); got < closedAt+10*time.Millisecond {
		t.Errorf("open again 10 ms: OpenFor = %v, want at least %v", got, closedAt+10*time.Millisecond)
	}
}
