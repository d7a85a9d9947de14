package idle

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeInput is an input source that answers what it is told.
type fakeInput struct {
	t      time.Time
	ok     bool
	err    error
	closed bool
}

func (f *fakeInput) LastInput(context.Context) (time.Time, bool, error) { return f.t, f.ok, f.err }
func (f *fakeInput) Close() error                                       { f.closed = true; return nil }

type fakePower struct{ onBattery, known bool }

func (f fakePower) OnBattery(context.Context) (bool, bool, error) { return f.onBattery, f.known, nil }

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// patient combines sources with a timeout no test machine reaches, for tests
// where the timeout is not what is tested.
func patient(sources ...Named) *Combined {
	c := NewCombined(sources...)
	c.Timeout = time.Minute
	return c
}

func TestCombinedTakesTheLatestOfTheSourcesThatSee(t *testing.T) {
	tests := []struct {
		name    string
		sources []Named
		want    time.Time
		wantOK  bool
		wantErr bool
	}{
		{name: "none", sources: nil},
		{
			name: "latest wins",
			sources: []Named{
				{Name: "a", Source: &fakeInput{t: base, ok: true}},
				{Name: "b", Source: &fakeInput{t: base.Add(time.Minute), ok: true}},
				{Name: "c", Source: &fakeInput{t: base.Add(-time.Hour), ok: true}},
			},
			want: base.Add(time.Minute), wantOK: true,
		},
		{
			name: "a source that cannot see is ignored, whatever its time",
			sources: []Named{
				{Name: "blind", Source: &fakeInput{t: base.Add(time.Hour), ok: false}},
				{Name: "sees", Source: &fakeInput{t: base, ok: true}},
			},
			want: base, wantOK: true,
		},
		{
			name:    "nobody sees",
			sources: []Named{{Name: "a", Source: &fakeInput{}}, {Name: "b", Source: &fakeInput{}}},
		},
		{
			name: "a failing source leaves the others' answer",
			sources: []Named{
				{Name: "broken", Source: &fakeInput{err: errors.New("boom")}},
				{Name: "sees", Source: &fakeInput{t: base, ok: true}},
			},
			want: base, wantOK: true, wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := patient(tt.sources...).LastInput(t.Context())
			if !got.Equal(tt.want) || ok != tt.wantOK || (err != nil) != tt.wantErr {
				t.Errorf("LastInput = %v, %v, %v; want %v, %v, error %v", got, ok, err, tt.want, tt.wantOK, tt.wantErr)
			}
		})
	}
}

func TestCombinedCloseClosesSourcesThatHoldSomething(t *testing.T) {
	a, b := &fakeInput{}, &fakeInput{}
	c := NewCombined(Named{Name: "a", Source: a}, Named{Name: "file", Source: ActivityFile{}}, Named{Name: "b", Source: b})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if !a.closed || !b.closed {
		t.Errorf("closed a=%v b=%v, want both", a.closed, b.closed)
	}
}

// countingInput counts its reads; a read blocks while hold is open.
type countingInput struct {
	mu    sync.Mutex
	reads int
	t     time.Time
	hold  chan struct{} // nil: answer at once
}

func (c *countingInput) LastInput(context.Context) (time.Time, bool, error) {
	c.mu.Lock()
	c.reads++
	hold, t := c.hold, c.t
	c.mu.Unlock()
	if hold != nil {
		<-hold
	}
	return t, true, nil
}

func (c *countingInput) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

func TestCombinedAsksASourceAtMostEveryItsPeriod(t *testing.T) {
	often, seldom := &countingInput{t: base}, &countingInput{t: base}
	c := patient(Named{Name: "often", Source: often}, Named{Name: "seldom", Source: seldom, Every: time.Hour})
	for range 5 {
		if _, ok, err := c.LastInput(t.Context()); !ok || err != nil {
			t.Fatalf("LastInput: ok %v, err %v", ok, err)
		}
	}
	if often.count() != 5 || seldom.count() != 1 {
		t.Errorf("reads: often %d, seldom %d; want 5 and 1", often.count(), seldom.count())
	}
}

func TestCombinedDoesNotWaitForAStuckSource(t *testing.T) {
	quick := &countingInput{t: base}
	stuck := &countingInput{t: base.Add(time.Minute)}
	c := NewCombined(Named{Name: "quick", Source: quick}, Named{Name: "stuck", Source: stuck})
	c.Timeout = 20 * time.Millisecond

	// First both answer; then the stuck one stops answering.
	if got, _, err := c.LastInput(t.Context()); err != nil || !got.Equal(base.Add(time.Minute)) {
		t.Fatalf("LastInput = %v, %v; want %v", got, err, base.Add(time.Minute))
	}
	release := make(chan struct{})
	stuck.mu.Lock()
	stuck.hold, stuck.t = release, base.Add(2*time.Minute)
	stuck.mu.Unlock()
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})

	for i := range 3 {
		start := time.Now()
		got, ok, err := c.LastInput(t.Context())
		if waited := time.Since(start); waited > time.Second {
			t.Fatalf("call %d waited %v for a stuck source", i, waited)
		}
		// The stuck source's earlier answer still counts, with an error
		// that says it is late.
		if !ok || !got.Equal(base.Add(time.Minute)) || err == nil || !strings.Contains(err.Error(), "stuck") {
			t.Errorf("call %d: LastInput = %v, %v, %v; want the earlier answer and an error naming the stuck source", i, got, ok, err)
		}
	}
	if n := stuck.count(); n != 2 {
		t.Errorf("stuck source read %d times, want 2: not asked again while a read is in flight", n)
	}

	// When it answers at last, its new answer is used.
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _, err := c.LastInput(t.Context())
		if err == nil && got.Equal(base.Add(2*time.Minute)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("LastInput = %v, %v after the source answered; want %v", got, err, base.Add(2*time.Minute))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCombinedCloseDoesNotWaitForAReadInFlight(t *testing.T) {
	release := make(chan struct{})
	stuck := &closingInput{countingInput: countingInput{hold: release}}
	c := NewCombined(Named{Name: "stuck", Source: stuck})
	c.Timeout = time.Millisecond
	c.LastInput(t.Context()) // leaves the read in flight
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if stuck.isClosed() {
		t.Fatal("closed while its read was in flight")
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for !stuck.isClosed() {
		if time.Now().After(deadline) {
			t.Fatal("not closed after its read returned")
		}
		time.Sleep(time.Millisecond)
	}
	if _, ok, _ := c.LastInput(t.Context()); ok {
		t.Error("a closed Combined still answers")
	}
}

type closingInput struct {
	countingInput
	closed bool
}

func (c *closingInput) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *closingInput) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func TestActivityFile(t *testing.T) {
	dir := t.TempDir()
	touched := filepath.Join(dir, "touched")
	if err := os.WriteFile(touched, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(touched, base, base); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		path   string
		want   time.Time
		wantOK bool
	}{
		{name: "modification time is the input", path: touched, want: base, wantOK: true},
		{name: "missing file cannot see", path: filepath.Join(dir, "missing")},
		{name: "missing directory cannot see", path: filepath.Join(dir, "no", "such")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := ActivityFile{Path: tt.path}.LastInput(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) || ok != tt.wantOK {
				t.Errorf("LastInput = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestSamplerGathersAndLogsFailuresWithoutFailing(t *testing.T) {
	var logs bytes.Buffer
	s := &Sampler{
		Input: patient(
			Named{Name: "console", Source: &fakeInput{t: base, ok: true}},
			Named{Name: "bus", Source: &fakeInput{err: errors.New("bus went away")}},
			Named{Name: "display", Source: &fakeInput{t: base.Add(time.Second), ok: true}},
		),
		Power: fakePower{onBattery: true, known: true},
		Log:   slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	o := s.Observe(t.Context())
	want := Observation{
		LastInput:  base.Add(time.Second),
		InputKnown: true,
		OnBattery:  true,
		PowerKnown: true,
		Sources:    []string{"console", "display"},
	}
	if !o.LastInput.Equal(want.LastInput) || o.InputKnown != want.InputKnown || o.CPUKnown ||
		o.OnBattery != want.OnBattery || o.PowerKnown != want.PowerKnown || !slices.Equal(o.Sources, want.Sources) {
		t.Errorf("Observe = %+v, want %+v", o, want)
	}
	if !strings.Contains(logs.String(), "bus went away") || !strings.Contains(logs.String(), "level=DEBUG") {
		t.Errorf("log = %q, want the bus error at debug level", logs.String())
	}
}

func TestSamplerWithNothingKnowsNothing(t *testing.T) {
	o := (&Sampler{}).Observe(t.Context())
	if o.InputKnown || o.CPUKnown || o.PowerKnown || len(o.Sources) != 0 {
		t.Errorf("Observe = %+v, want nothing known", o)
	}
}

func TestDefaultSamplerObservesThisMachine(t *testing.T) {
	self := int32(os.Getpid())
	s := NewSampler(func() []int32 { return []int32{self} }, nil)
	defer s.Close()
	if first := s.Observe(t.Context()); first.CPUKnown {
		t.Error("first observation knows the CPU load; it can only prime")
	}
	spin(t, self, 20*time.Millisecond)
	second := s.Observe(t.Context())
	if !second.CPUKnown {
		t.Error("second observation does not know the CPU load")
	}
	var names []string
	for _, n := range DefaultSources() {
		names = append(names, n.Name)
	}
	for _, src := range second.Sources {
		if !slices.Contains(names, src) {
			t.Errorf("source %q seeing input is not one of this OS's %v", src, names)
		}
	}
}
