package idle

import (
	"os"
	"testing"
)

// requireUnderCI fails the test under CI, where scripts/test installs what
// it needs, and skips it elsewhere: a developer without the program still
// gets the rest of the suite.
func requireUnderCI(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed", what)
	}
	t.Skipf("%s is not installed", what)
}
