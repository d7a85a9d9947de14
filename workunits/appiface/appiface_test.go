package appiface

import "testing"

func TestDescribe(t *testing.T) {
	if got, want := Describe(), "progress(f64), yield() -> i32"; got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
}
