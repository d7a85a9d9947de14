package workunits

import (
	"strings"
	"testing"
	"time"
)

func TestEstimates(t *testing.T) {
	tests := []struct {
		name    string
		in      Estimates
		want    Estimates // after WithDefaults
		wantErr string    // from Validate after WithDefaults; "" for none
	}{
		{"AllDefault", Estimates{}, DefaultEstimates, ""},
		{"Given", Estimates{Ops: 5, MemoryMiB: 1, DiskMiB: 2, Deadline: time.Second},
			Estimates{Ops: 5, MemoryMiB: 1, DiskMiB: 2, Deadline: time.Second}, ""},
		{"Largest", Estimates{Ops: MaxEstimatedOps, MemoryMiB: MaxMemoryMiB, DiskMiB: MaxDiskMiB, Deadline: MaxDeadline},
			Estimates{Ops: MaxEstimatedOps, MemoryMiB: MaxMemoryMiB, DiskMiB: MaxDiskMiB, Deadline: MaxDeadline}, ""},
		{"NegativeOps", Estimates{Ops: -1}, Estimates{Ops: -1, MemoryMiB: 256, DiskMiB: 64, Deadline: time.Hour}, "ops must be"},
		{"TooManyOps", Estimates{Ops: MaxEstimatedOps + 1}, Estimates{Ops: MaxEstimatedOps + 1, MemoryMiB: 256, DiskMiB: 64, Deadline: time.Hour}, "ops must be"},
		{"TooMuchMemory", Estimates{MemoryMiB: MaxMemoryMiB + 1}, Estimates{Ops: 1e12, MemoryMiB: MaxMemoryMiB + 1, DiskMiB: 64, Deadline: time.Hour}, "memory_mib"},
		{"TooMuchDisk", Estimates{DiskMiB: MaxDiskMiB + 1}, Estimates{Ops: 1e12, MemoryMiB: 256, DiskMiB: MaxDiskMiB + 1, Deadline: time.Hour}, "disk_mib"},
		{"ShortDeadline", Estimates{Deadline: time.Millisecond}, Estimates{Ops: 1e12, MemoryMiB: 256, DiskMiB: 64, Deadline: time.Millisecond}, "deadline_seconds"},
		{"LongDeadline", Estimates{Deadline: MaxDeadline + time.Second}, Estimates{Ops: 1e12, MemoryMiB: 256, DiskMiB: 64, Deadline: MaxDeadline + time.Second}, "deadline_seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.WithDefaults()
			if got != tt.want {
				t.Errorf("WithDefaults = %+v, want %+v", got, tt.want)
			}
			err := got.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || ErrorCode(err) != EINVALID):
				t.Errorf("Validate = %v, want an invalid error containing %q", err, tt.wantErr)
			}
		})
	}
}
