package markers

import (
	"slices"
	"strings"
	"testing"
)

func TestParseDataset(t *testing.T) {
	csv := `index,accession,description,a_ALL,b_AML,c_ALL,d_AML
7,X1_at,"kinase, ""putative"", 3' end",1.0004,-0.0005,2,0
3,Y2_at,plain,0.1,0.2,0.3,-3.89822
`
	d, err := ParseDataset(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	wantGenes := []Gene{{7, "X1_at"}, {3, "Y2_at"}}
	if got := d.Genes(); !slices.Equal(got, wantGenes) {
		t.Errorf("Genes() = %v, want %v", got, wantGenes)
	}
	wantClasses := []Class{ALL, AML, ALL, AML}
	if got := d.Classes(); !slices.Equal(got, wantClasses) {
		t.Errorf("Classes() = %v, want %v", got, wantClasses)
	}
	wantValues := [][]int64{{1000, -1, 2000, 0}, {100, 200, 300, -3898}}
	for g, row := range wantValues {
		for s, want := range row {
			if got := d.Value(g, s); got != want {
				t.Errorf("Value(%d, %d) = %d, want %d", g, s, got, want)
			}
		}
	}
}

func TestParseDatasetRejects(t *testing.T) {
	const header = "index,accession,description,a_ALL,b_ALL,c_AML,d_AML\n"
	tests := []struct {
		name, csv, wantErr string
	}{
		{"empty", "", "read header"},
		{"wrong fixed columns", "id,accession,description,a_ALL,b_ALL,c_AML,d_AML\n", "header must start with"},
		{"unlabelled sample", "index,accession,description,a_ALL,b_ALL,c_AML,d_AML,e\n", `sample column "e"`},
		{"one AML sample", "index,accession,description,a_ALL,b_ALL,c_AML\n", "1 AML samples, need at least 2"},
		{"no genes", header, "no gene rows"},
		{"short row", header + "1,A_at,x,1,2,3\n", "wrong number of fields"},
		{"bad index", header + "one,A_at,x,1,2,3,4\n", `line 2: index "one"`},
		{"duplicate index", header + "1,A_at,x,1,2,3,4\n1,B_at,y,1,2,3,4\n", "line 3: duplicate index 1"},
		{"empty accession", header + "1,,x,1,2,3,4\n", "line 2: empty accession"},
		{"bad value", header + "1,A_at,x,1,2,1e3,4\n", `line 2, column c_AML: value "1e3"`},
		{"value too large", header + "1,A_at,x,1,2,3,12.5\n", `column d_AML: value "12.5": magnitude above 10.000`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDataset(strings.NewReader(tt.csv))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseDataset error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadDataset(t *testing.T) {
	d := loadGolub(t)
	if got := len(d.Genes()); got != 3051 {
		t.Errorf("%d genes, want 3051", got)
	}
	var counts [2]int
	for _, c := range d.Classes() {
		counts[c]++
	}
	if counts != [2]int{27, 11} {
		t.Errorf("classes ALL, AML = %v, want [27 11]", counts)
	}
	// First and last values of the CSV: -1.45769 and 1.60048.
	if got := d.Value(0, 0); got != -1458 {
		t.Errorf("first value = %d, want -1458", got)
	}
	if got := d.Value(3050, 37); got != 1600 {
		t.Errorf("last value = %d, want 1600", got)
	}
}

func loadGolub(t testing.TB) *Dataset {
	t.Helper()
	d, err := LoadDataset()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
