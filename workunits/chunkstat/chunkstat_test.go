package chunkstat

import (
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/workunits"
)

func TestStat(t *testing.T) {
	tests := []struct {
		in   string
		want Stats
	}{
		{"", Stats{}},
		{">a\nAC\n>b\nGT\n", Stats{Bytes: 12, Lines: 4, Records: 2, First: ">a"}},
		{"no newline", Stats{Bytes: 10, Lines: 1, First: "no newline"}},
		{"x\r\n\n", Stats{Bytes: 4, Lines: 2, First: "x"}},
		{strings.Repeat("n", 10000) + "\n>r\n", Stats{Bytes: 10004, Lines: 2, Records: 1, First: strings.Repeat("n", 4096)}},
	}
	for _, tt := range tests {
		got, err := Stat(strings.NewReader(tt.in))
		tt.want.SHA256 = workunits.Hash([]byte(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("Stat(%.20q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}
