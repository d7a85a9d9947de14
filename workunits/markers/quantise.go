package markers

import "fmt"

// maxAbsValue bounds a quantised expression value (in thousandths). Golub's
// largest |value| is 3.89822, so 10.000 leaves room while keeping the
// integer scoring far from int64 overflow (see nearer).
const maxAbsValue = 10_000

// parseThousandths converts a plain decimal string such as "-1.45769" to
// an integer count of thousandths, rounding half away from zero (-1458).
// It reads the digits itself instead of going through float64 so that
// every machine gets the same integer, whatever its floating point does.
func parseThousandths(s string) (int64, error) {
	rest := s
	negative := false
	if len(rest) > 0 && (rest[0] == '-' || rest[0] == '+') {
		negative = rest[0] == '-'
		rest = rest[1:]
	}

	var whole int64
	wholeDigits := 0
	for len(rest) > 0 && isDigit(rest[0]) {
		whole = whole*10 + int64(rest[0]-'0')
		// Checked per digit so a long string cannot overflow.
		if whole > maxAbsValue/1000 {
			return 0, errOutOfRange(s)
		}
		rest = rest[1:]
		wholeDigits++
	}
	if wholeDigits == 0 {
		return 0, fmt.Errorf("value %q: not a decimal number", s)
	}

	// Keep three fraction digits; the fourth decides the rounding. A
	// fourth digit of 5 rounds up even with nothing after it: that is
	// the exact half, and half goes away from zero.
	var fraction int64
	roundUp := false
	if len(rest) > 0 && rest[0] == '.' {
		rest = rest[1:]
		if len(rest) == 0 {
			return 0, fmt.Errorf("value %q: no digits after the decimal point", s)
		}
		// Missing digits count as zeros: "0.5" is 500 thousandths.
		for i := 0; i < 3; i++ {
			fraction *= 10
			if len(rest) > 0 && isDigit(rest[0]) {
				fraction += int64(rest[0] - '0')
				rest = rest[1:]
			}
		}
		if len(rest) > 0 && isDigit(rest[0]) {
			roundUp = rest[0] >= '5'
		}
		for len(rest) > 0 && isDigit(rest[0]) {
			rest = rest[1:]
		}
	}
	if len(rest) > 0 {
		return 0, fmt.Errorf("value %q: not a decimal number", s)
	}

	magnitude := whole*1000 + fraction
	if roundUp {
		magnitude++
	}
	if magnitude > maxAbsValue {
		return 0, errOutOfRange(s)
	}
	if negative {
		return -magnitude, nil
	}
	return magnitude, nil
}

func errOutOfRange(s string) error {
	return fmt.Errorf("value %q: magnitude above %d.%03d", s, maxAbsValue/1000, maxAbsValue%1000)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
