package markers

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

//go:embed data/golub.csv
var golubCSV []byte

// maxSamples bounds the number of sample columns; with maxAbsValue it keeps
// the integer scoring far from int64 overflow (see nearer).
const maxSamples = 128

// minPerClass is the fewest samples a class may have: leaving one out must
// still leave a centroid to compare against.
const minPerClass = 2

// Class is a sample's diagnosis.
type Class uint8

const (
	ALL Class = 0 // acute lymphoblastic leukemia
	AML Class = 1 // acute myeloid leukemia
)

func (c Class) String() string {
	switch c {
	case ALL:
		return "ALL"
	case AML:
		return "AML"
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Gene identifies one row of the data set.
type Gene struct {
	Index     int    `json:"index"` // the CSV's index column
	Accession string `json:"accession"`
}

// Dataset is a gene-expression matrix with one class label per sample.
// Values are integers in thousandths so that all arithmetic on them is
// exact and identical on every machine.
type Dataset struct {
	genes   []Gene
	classes []Class
	values  []int32 // gene-major: values[g*len(classes)+s]
}

// Genes returns the genes in row order.
func (d *Dataset) Genes() []Gene { return slices.Clone(d.genes) }

// Classes returns the class of each sample in column order.
func (d *Dataset) Classes() []Class { return slices.Clone(d.classes) }

// Value returns the expression of gene in sample, in thousandths.
func (d *Dataset) Value(gene, sample int) int64 {
	return int64(d.values[gene*len(d.classes)+sample])
}

// row returns one gene's values across all samples.
func (d *Dataset) row(gene int) []int32 {
	n := len(d.classes)
	return d.values[gene*n : (gene+1)*n]
}

// LoadDataset parses the embedded Golub leukemia data (3051 genes × 38
// samples, see data/README.md).
func LoadDataset() (*Dataset, error) {
	d, err := ParseDataset(bytes.NewReader(golubCSV))
	if err != nil {
		return nil, fmt.Errorf("load embedded golub.csv: %w", err)
	}
	return d, nil
}

// ParseDataset reads a CSV whose header is index,accession,description
// followed by one column per sample named with an _ALL or _AML suffix, and
// whose rows are genes with decimal expression values.
func ParseDataset(r io.Reader) (*Dataset, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	header = slices.Clone(header) // ReuseRecord would overwrite it
	classes, err := parseHeader(header)
	if err != nil {
		return nil, err
	}

	d := &Dataset{classes: classes}
	seen := make(map[int]bool)
	for {
		record, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read genes: %w", err)
		}
		line, _ := cr.FieldPos(0)
		index, err := strconv.Atoi(record[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: index %q is not an integer", line, record[0])
		}
		// Output names genes by index, so it must be unambiguous.
		if seen[index] {
			return nil, fmt.Errorf("line %d: duplicate index %d", line, index)
		}
		seen[index] = true
		if record[1] == "" {
			return nil, fmt.Errorf("line %d: empty accession", line)
		}
		d.genes = append(d.genes, Gene{Index: index, Accession: record[1]})
		for s, field := range record[3:] {
			v, err := parseThousandths(field)
			if err != nil {
				return nil, fmt.Errorf("line %d, column %s: %w", line, header[3+s], err)
			}
			d.values = append(d.values, int32(v))
		}
	}
	if len(d.genes) == 0 {
		return nil, errors.New("no gene rows")
	}
	return d, nil
}

// parseHeader checks the fixed columns and returns the class of each
// sample column.
func parseHeader(header []string) ([]Class, error) {
	fixed := []string{"index", "accession", "description"}
	if len(header) < len(fixed) || !slices.Equal(header[:len(fixed)], fixed) {
		return nil, fmt.Errorf("header must start with %s", strings.Join(fixed, ","))
	}
	samples := header[len(fixed):]
	if len(samples) > maxSamples {
		return nil, fmt.Errorf("%d sample columns, at most %d allowed", len(samples), maxSamples)
	}
	classes := make([]Class, len(samples))
	var counts [2]int
	for i, name := range samples {
		switch {
		case strings.HasSuffix(name, "_ALL"):
			classes[i] = ALL
		case strings.HasSuffix(name, "_AML"):
			classes[i] = AML
		default:
			return nil, fmt.Errorf("sample column %q: name must end in _ALL or _AML", name)
		}
		counts[classes[i]]++
	}
	for c, n := range counts {
		if n < minPerClass {
			return nil, fmt.Errorf("%d %s samples, need at least %d", n, Class(c), minPerClass)
		}
	}
	return classes, nil
}
