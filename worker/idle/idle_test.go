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

func TestCombinedTakesTheLatestOfTheSourcesThatSee(t *testing.T) {
	tests := []struct {
		name    string
		sources Combined
		want    time.Time
		wantOK  bool
		wantErr bool
	}{
		{name: "none", sources: nil},
		{
			name: "latest wins",
			sources: Combined{
				{"a", &fakeInput{t: base, ok: true}},
				{"b", &fakeInput{t: base.Add(time.Minute), ok: true}},
				{"c", &fakeInput{t: base.Add(-time.Hour), ok: true}},
			},
			want: base.Add(time.Minute), wantOK: true,
		},
		{
			name: "a source that cannot see is ignored, whatever its time",
			sources: Combined{
				{"blind", &fakeInput{t: base.Add(time.Hour), ok: false}},
				{"sees", &fakeInput{t: base, ok: true}},
			},
			want: base, wantOK: true,
		},
		{
			name:    "nobody sees",
			sources: Combined{{"a", &fakeInput{}}, {"b", &fakeInput{}}},
		},
		{
			name: "a failing source leaves the others' answer",
			sources: Combined{
				{"broken", &fakeInput{err: errors.New("boom")}},
				{"sees", &fakeInput{t: base, ok: true}},
			},
			want: base, wantOK: true, wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := tt.sources.LastInput(t.Context())
			if !got.Equal(tt.want) || ok != tt.wantOK || (err != nil) != tt.wantErr {
				t.Errorf("LastInput = %v, %v, %v; want %v, %v, error %v", got, ok, err, tt.want, tt.wantOK, tt.wantErr)
			}
		})
	}
}

func TestCombinedCloseClosesSourcesThatHoldSomething(t *testing.T) {
	a, b := &fakeInput{}, &fakeInput{}
	c := Combined{{"a", a}, {"file", ActivityFile{}}, {"b", b}}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if !a.closed || !b.closed {
		t.Errorf("closed a=%v b=%v, want both", a.closed, b.closed)
	}
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
		Input: Combined{
			{"console", &fakeInput{t: base, ok: true}},
			{"bus", &fakeInput{err: errors.New("bus went away")}},
			{"display", &fakeInput{t: base.Add(time.Second), ok: true}},
		},
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
	s := NewSampler(func() []int32 { return []int32{int32(os.Getpid())} }, nil)
	defer s.Close()
	first := s.Observe(t.Context())
	if first.CPUKnown {
		t.Error("first observation knows the CPU load; it can only prime")
	}
	second := s.Observe(t.Context())
	if second.CPUKnown && (second.OtherCPUPercent < 0 || second.OtherCPUPercent > 100) {
		t.Errorf("OtherCPUPercent = %v, want 0–100", second.OtherCPUPercent)
	}
	if second.InputKnown != (len(second.Sources) > 0) {
		t.Errorf("InputKnown = %v with sources %v", second.InputKnown, second.Sources)
	}
}
