package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 99, 0},
		{"one value is every percentile", ms(7), 50, 7 * time.Millisecond},
		{"one value at p99", ms(7), 99, 7 * time.Millisecond},
		{"median of an odd count", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"median of an even count is the lower middle", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100 values", hundred, 99, 99 * time.Millisecond},
		{"p50 of 100 values", hundred, 50, 50 * time.Millisecond},
		{"p100 is the maximum", hundred, 100, 100 * time.Millisecond},
		{"p0 is the minimum", hundred, 0, 1 * time.Millisecond},
		{"p99 of few values is the maximum", ms(1, 2, 3, 40), 99, 40 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		wantComm  string
		wantTicks uint64
		wantErr   bool
	}{
		{
			name:      "plain",
			line:      "4242 (coordinator) S 1 4242 4242 0 -1 4194560 1234 0 0 0 150 25 0 0 20 0 9 0 123 0 0",
			wantComm:  "coordinator",
			wantTicks: 175,
		},
		{
			name:      "name with spaces and parentheses",
			line:      "77 (post gres) (x)) R 1 77 77 0 -1 4194560 1 0 0 0 3 4 0 0 20 0 1 0 9 0 0\n",
			wantComm:  "post gres) (x)",
			wantTicks: 7,
		},
		{name: "no name", line: "77 postgres R 1 77", wantErr: true},
		{name: "too few fields", line: "77 (postgres) R 1 77 77 0", wantErr: true},
		{name: "utime not a number", line: "4242 (c) S 1 4242 4242 0 -1 4194560 1234 0 0 0 x 25 0", wantErr: true},
		{name: "empty", line: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			comm, ticks, err := parseStat([]byte(tt.line))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseStat(%q) = %q, %d; want an error", tt.line, comm, ticks)
				}
				return
			}
			if err != nil || comm != tt.wantComm || ticks != tt.wantTicks {
				t.Errorf("parseStat(%q) = %q, %d, %v; want %q, %d", tt.line, comm, ticks, err, tt.wantComm, tt.wantTicks)
			}
		})
	}
}

func TestTicksToDuration(t *testing.T) {
	tests := []struct {
		ticks  uint64
		clkTck int
		want   time.Duration
	}{
		{0, 100, 0},
		{1, 100, 10 * time.Millisecond},
		{250, 100, 2500 * time.Millisecond},
		{3, 1000, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := ticksToDuration(tt.ticks, tt.clkTck); got != tt.want {
			t.Errorf("ticksToDuration(%d, %d) = %v, want %v", tt.ticks, tt.clkTck, got, tt.want)
		}
	}
}

func TestProcCPUSelf(t *testing.T) {
	// The test binary has used some CPU by now; the point is that the
	// real file parses.
	if _, err := procCPU("/proc/self/stat", 100); err != nil {
		t.Fatal(err)
	}
}

func TestParseInts(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"", nil, false},
		{"12", []int{12}, false},
		{"12, 34,", []int{12, 34}, false},
		{"12,x", nil, true},
		{"-3", nil, true},
	}
	for _, tt := range tests {
		got, err := parseInts(tt.in)
		if (err != nil) != tt.wantErr || len(got) != len(tt.want) {
			t.Errorf("parseInts(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("parseInts(%q) = %v, want %v", tt.in, got, tt.want)
			}
		}
	}
}

func TestDBSince(t *testing.T) {
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	tests := []struct {
		name            string
		earlier, latest map[int]time.Duration
		want            time.Duration
	}{
		{"no processes", nil, nil, 0},
		{"same processes", map[int]time.Duration{1: ms(10), 2: ms(20)}, map[int]time.Duration{1: ms(15), 2: ms(50)}, ms(35)},
		{"a process started in between counts whole", map[int]time.Duration{1: ms(10)}, map[int]time.Duration{1: ms(10), 7: ms(40)}, ms(40)},
		{"a process that exited counts nothing, never negative", map[int]time.Duration{1: ms(10), 2: ms(900)}, map[int]time.Duration{1: ms(30)}, ms(20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cpuSample{db: tt.latest}.dbSince(cpuSample{db: tt.earlier})
			if got != tt.want {
				t.Errorf("dbSince = %v, want %v", got, tt.want)
			}
		})
	}
}
