package workunits

import (
	"testing"
	"time"
)

func TestPolicyDefaultsAndValidate(t *testing.T) {
	tests := []struct {
		name string
		in   Policy
		want Code
	}{
		{"all defaults", Policy{}, ""},
		{"quorum 3 raises the target", Policy{MinQuorum: 3}, ""},
		{"quorum too big", Policy{MinQuorum: MaxQuorum + 1}, EINVALID},
		{"target below quorum", Policy{MinQuorum: 3, TargetReplicas: 2}, EINVALID},
		{"total below target", Policy{TargetReplicas: 4, MaxTotalReplicas: 3}, EINVALID},
		{"negative errors", Policy{MaxErrorReplicas: -1}, EINVALID},
		{"deadline too short", Policy{Deadline: time.Millisecond}, EINVALID},
		{"deadline too long", Policy{Deadline: 365 * 24 * time.Hour}, EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.in.WithDefaults()
			if got := ErrorCode(p.Validate()); got != tt.want {
				t.Errorf("Validate(%+v) = %q, want %q", p, got, tt.want)
			}
		})
	}
	if p := (Policy{MinQuorum: 3}).WithDefaults(); p.TargetReplicas != 3 || p.MaxTotalReplicas < 3 {
		t.Errorf("quorum 3 defaults = %+v", p)
	}
}
