package markers

import "testing"

func TestParseThousandths(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"-1.45769", -1458},
		{"1.45769", 1458},
		{"0.0005", 1},   // exact half rounds away from zero
		{"-0.0005", -1}, // on both sides
		{"0.00049999", 0},
		{"0.00050001", 1},
		{"-0.0004", 0},
		{"3", 3000},
		{"+3", 3000},
		{"-0", 0},
		{"0.5", 500},
		{"0.25", 250},
		{"3.89822", 3898},
		{"0.9995", 1000}, // rounding carries into the whole part
		{"10", 10_000},
		{"-10.000", -10_000},
		{"007.1", 7100},
	}
	for _, tt := range tests {
		got, err := parseThousandths(tt.in)
		if err != nil {
			t.Errorf("parseThousandths(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("parseThousandths(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestParseThousandthsRejects(t *testing.T) {
	for _, in := range []string{
		"", "-", "+", ".5", "1.", "1.2.3", "1e3", "1,5", " 1", "1 ", "abc", "0x10", "NaN", "--1",
		"10.0005",                 // rounds above the limit
		"11",                      // above the limit
		"99999999999999999999999", // would overflow int64
	} {
		if got, err := parseThousandths(in); err == nil {
			t.Errorf("parseThousandths(%q) = %d, want an error", in, got)
		}
	}
}
