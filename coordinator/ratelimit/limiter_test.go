package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    Rate
		wantErr bool
	}{
		{"30/m", Rate{30, time.Minute}, false},
		{"5/s", Rate{5, time.Second}, false},
		{"100/h", Rate{100, time.Hour}, false},
		{"7/10s", Rate{7, 10 * time.Second}, false},
		{"off", Rate{}, false},
		{"", Rate{}, false},
		{"0/m", Rate{}, true},
		{"-1/m", Rate{}, true},
		{"30", Rate{}, true},
		{"30/", Rate{}, true},
		{"30/fortnight", Rate{}, true},
		{"30/-1s", Rate{}, true},
		{"x/m", Rate{}, true},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil {
			if back, _ := ParseRate(got.String()); back != got {
				t.Errorf("ParseRate(%q).String() = %q does not read back", tt.in, got.String())
			}
		}
	}
}

// fakeClock is a Limiter's clock that moves only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestLimiter(r Rate, maxKeys int) (*Limiter, *fakeClock) {
	c := &fakeClock{t: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}
	l := New(r, maxKeys)
	l.now = c.now
	return l, c
}

func TestLimiterAllow(t *testing.T) {
	type step struct {
		advance   time.Duration
		key       string
		want      bool
		wantRetry time.Duration
	}
	tests := []struct {
		name  string
		rate  Rate
		steps []step
	}{
		{"a burst, then one per period's share", Rate{3, time.Minute}, []step{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0},
			{0, "a", false, 20 * time.Second},
			{5 * time.Second, "a", false, 15 * time.Second},
			{15 * time.Second, "a", true, 0},
			{0, "a", false, 20 * time.Second},
		}},
		{"keys have their own buckets", Rate{1, time.Hour}, []step{
			{0, "a", true, 0}, {0, "a", false, time.Hour},
			{0, "b", true, 0}, {0, "b", false, time.Hour},
		}},
		{"a wait under a second is sent as one", Rate{10, time.Second}, []step{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0},
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0},
			{0, "a", false, time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, clock := newTestLimiter(tt.rate, 0)
			for i, s := range tt.steps {
				clock.advance(s.advance)
				ok, retry := l.Allow(s.key)
				if ok != s.want || retry != s.wantRetry {
					t.Fatalf("step %d: Allow(%q) = %v, %v; want %v, %v", i, s.key, ok, retry, s.want, s.wantRetry)
				}
			}
		})
	}
}

func TestLimiterEmptyTakesNothing(t *testing.T) {
	l, clock := newTestLimiter(Rate{2, time.Minute}, 0)
	if empty, _ := l.Empty("a"); empty {
		t.Fatal("an unseen key is empty")
	}
	for range 2 {
		if empty, _ := l.Empty("a"); empty {
			t.Fatal("Empty took a token")
		}
		l.Allow("a")
	}
	if empty, retry := l.Empty("a"); !empty || retry != 30*time.Second {
		t.Fatalf("after two takes: Empty = %v, %v; want true, 30s", empty, retry)
	}
	clock.advance(30 * time.Second)
	if empty, _ := l.Empty("a"); empty {
		t.Fatal("still empty after a token's time")
	}
}

func TestNilLimiterAllowsEverything(t *testing.T) {
	l := New(Rate{}, 0)
	if l != nil {
		t.Fatal("the zero Rate made a Limiter")
	}
	for range 100 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatal("a nil Limiter refused")
		}
	}
	if empty, _ := l.Empty("a"); empty || l.Len() != 0 {
		t.Fatal("a nil Limiter holds state")
	}
}

func TestLimiterBoundsItsKeys(t *testing.T) {
	const maxKeys = 64
	l, clock := newTestLimiter(Rate{2, time.Minute}, maxKeys)
	// A flood of new keys never holds more than the bound.
	for i := range 10 * maxKeys {
		l.Allow(fmt.Sprint("flood", i))
		if n := l.Len(); n > maxKeys {
			t.Fatalf("after %d keys the limiter holds %d, over its bound %d", i+1, n, maxKeys)
		}
	}
	// Buckets that filled up again are forgotten before busy ones: a key
	// that is out of tokens stays out while idle keys make room.
	l, clock = newTestLimiter(Rate{2, time.Minute}, maxKeys)
	for i := range maxKeys - 1 {
		l.Allow(fmt.Sprint("idle", i))
	}
	clock.advance(time.Hour)
	l.Allow("busy")
	l.Allow("busy")
	l.Allow("new") // the map is full: the idle keys go
	if n := l.Len(); n != 2 {
		t.Fatalf("after evicting the idle keys the limiter holds %d keys, want 2 (busy, new)", n)
	}
	if ok, _ := l.Allow("busy"); ok {
		t.Fatal("the busy key's empty bucket was evicted in favour of idle ones")
	}
}
