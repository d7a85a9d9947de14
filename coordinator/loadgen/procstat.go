package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// cpuSample is the CPU time used so far by the processes a run watches.
type cpuSample struct {
	coord time.Duration         // the coordinators (--pids)
	db    map[int]time.Duration // each database server process (--db-comm), by PID
	self  time.Duration         // this load generator
}

// dbSince is the CPU the database server's processes used since an
// earlier sample. A process that exited in between takes its time with it,
// so the figure can be low, never high (nor negative).
func (s cpuSample) dbSince(earlier cpuSample) time.Duration {
	var d time.Duration
	for pid, now := range s.db {
		d += now - earlier.db[pid]
	}
	return d
}

// sampleCPU reads the CPU time of the coordinators, the database server and
// this process from /proc. A coordinator that has exited is an error: its
// figure would be meaningless.
func sampleCPU(cfg config) (cpuSample, error) {
	var s cpuSample
	for _, pid := range cfg.pids {
		d, err := procCPU(filepath.Join("/proc", strconv.Itoa(pid), "stat"), cfg.clkTck)
		if err != nil {
			return s, fmt.Errorf("reading the CPU time of coordinator %d: %w", pid, err)
		}
		s.coord += d
	}
	if cfg.dbComm != "" {
		db, err := commCPU(cfg.dbComm, cfg.clkTck)
		if err != nil {
			return s, fmt.Errorf("reading the CPU time of %s: %w", cfg.dbComm, err)
		}
		s.db = db
	}
	d, err := procCPU("/proc/self/stat", cfg.clkTck)
	if err != nil {
		return s, fmt.Errorf("reading this process's CPU time: %w", err)
	}
	s.self = d
	return s, nil
}

func procCPU(path string, clkTck int) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	_, ticks, err := parseStat(b)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return ticksToDuration(ticks, clkTck), nil
}

// commCPU returns the CPU time of every process named comm, such as the
// PostgreSQL server and its backends, by PID.
func commCPU(comm string, clkTck int) (map[int]time.Duration, error) {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := map[int]time.Duration{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue // not a process
		}
		p := filepath.Join("/proc", d.Name(), "stat")
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the process exited while we looked
		}
		name, ticks, err := parseStat(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if name == comm {
			out[pid] = ticksToDuration(ticks, clkTck)
		}
	}
	return out, nil
}

func ticksToDuration(ticks uint64, clkTck int) time.Duration {
	return time.Duration(ticks) * time.Second / time.Duration(clkTck)
}

var errBadStat = errors.New("malformed /proc stat line")

// parseStat returns the command name and utime+stime (in clock ticks) of a
// /proc/PID/stat line (proc(5)). The name is in parentheses and may itself
// hold spaces and parentheses, so the fields are counted from the last ')'.
func parseStat(b []byte) (comm string, ticks uint64, err error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return "", 0, errBadStat
	}
	comm = string(b[open+1 : end])
	// After the name: state (field 3) … utime (14), stime (15).
	fields := bytes.Fields(b[end+1:])
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return "", 0, errBadStat
	}
	u, err1 := strconv.ParseUint(string(fields[utime]), 10, 64)
	s, err2 := strconv.ParseUint(string(fields[stime]), 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, errBadStat
	}
	return comm, u + s, nil
}
