package idle

import "strings"

// parsePmset reads the first line of `pmset -g batt`, "Now drawing from
// 'AC Power'" (or 'Battery Power', or 'UPS Power' when a UPS carries the
// Mac through a power cut, which is as good as a battery).
func parsePmset(out string) (onBattery, known bool) {
	_, rest, found := strings.Cut(out, "drawing from '")
	source, _, closed := strings.Cut(rest, "'")
	if !found || !closed {
		return false, false
	}
	switch source {
	case "AC Power":
		return false, true
	case "Battery Power", "UPS Power":
		return true, true
	}
	return false, false
}
