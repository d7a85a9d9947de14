package workunits

import (
	"slices"
	"testing"
)

func TestAllotTasks(t *testing.T) {
	tests := []struct {
		name     string
		projects []ProjectPass
		n        int
		want     []Allotment
	}{
		{"none", nil, 5, []Allotment{}},
		{"one project takes all", []ProjectPass{{1, 100, 0}}, 4, []Allotment{{1, 4}}},
		{"equal shares alternate", []ProjectPass{{1, 100, 0}, {2, 100, 0}}, 4, []Allotment{{1, 2}, {2, 2}}},
		{"three to one", []ProjectPass{{1, 300, 0}, {2, 100, 0}}, 8, []Allotment{{1, 6}, {2, 2}}},
		{"behind catches up first", []ProjectPass{{1, 100, 10 * Stride(100)}, {2, 100, 0}}, 4, []Allotment{{2, 4}, {1, 0}}},
		{"lowest pass served first", []ProjectPass{{1, 100, Stride(100)}, {2, 100, 0}}, 3, []Allotment{{2, 2}, {1, 1}}},
		{"projects left out ordered by pass", []ProjectPass{{1, 100, 9}, {2, 100, 5}, {3, 100, 0}}, 1,
			[]Allotment{{3, 1}, {2, 0}, {1, 0}}},
		{"zero tasks", []ProjectPass{{1, 100, 0}, {2, 100, 0}}, 0, []Allotment{{1, 0}, {2, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AllotTasks(tt.projects, tt.n); !slices.Equal(got, tt.want) {
				t.Errorf("AllotTasks(%v, %d) = %v, want %v", tt.projects, tt.n, got, tt.want)
			}
		})
	}
}

// TestAllotTasksProportion: over many small leases, each project's tasks
// follow its share.
func TestAllotTasksProportion(t *testing.T) {
	projects := []ProjectPass{{1, 300, 0}, {2, 100, 0}, {3, 50, 0}}
	got := map[int64]int{}
	for range 1000 {
		for _, a := range AllotTasks(projects, 3) {
			got[a.ProjectID] += a.Tasks
			for i := range projects {
				if projects[i].ProjectID == a.ProjectID {
					projects[i].Pass += int64(a.Tasks) * Stride(projects[i].Share)
				}
			}
		}
	}
	// Exactly 6:2:1 but for the last round's remainder.
	for id, want := range map[int64]int{1: 2000, 2: 667, 3: 333} {
		if d := got[id] - want; d < -1 || d > 1 {
			t.Errorf("tasks per project = %v, want 2000, 667, 333 (6:2:1) within one", got)
		}
	}
}

func TestValidateShareAndPriority(t *testing.T) {
	for _, tt := range []struct {
		share, priority int
		ok              bool
	}{
		{1, 0, true}, {MaxShare, MaxPriority, true}, {100, MinPriority, true},
		{0, 0, false}, {-1, 0, false}, {MaxShare + 1, 0, false},
		{100, MaxPriority + 1, false}, {100, MinPriority - 1, false},
	} {
		err := ValidateShare(tt.share)
		if err == nil {
			err = ValidatePriority(tt.priority)
		}
		if (err == nil) != tt.ok {
			t.Errorf("share %d priority %d: err = %v, want ok %v", tt.share, tt.priority, err, tt.ok)
		}
		if err != nil && ErrorCode(err) != EINVALID {
			t.Errorf("share %d priority %d: code %s, want EINVALID", tt.share, tt.priority, ErrorCode(err))
		}
	}
}

func TestCompareLeaseOrder(t *testing.T) {
	jobs := []Job{{ID: 1, Priority: 0}, {ID: 2, Priority: 5}, {ID: 3, Priority: -1}, {ID: 4, Priority: 5}}
	slices.SortFunc(jobs, CompareLeaseOrder)
	var ids []int64
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	if want := []int64{2, 4, 1, 3}; !slices.Equal(ids, want) {
		t.Errorf("lease order = %v, want %v", ids, want)
	}
}
