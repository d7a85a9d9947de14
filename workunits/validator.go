package workunits

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Validator kinds: how the outputs of a unit's replicas are compared.
const (
	// ValidatorBitwise accepts outputs that are byte for byte the same. It is
	// the default (the zero Validator).
	ValidatorBitwise = "bitwise"
	// ValidatorNumeric reads outputs as JSON and accepts numbers that differ
	// by no more than the tolerances, for apps whose floating point results
	// vary in the last bits from one machine to another.
	ValidatorNumeric = "numeric"
)

// Validator says when two outputs of one unit agree, as an app version
// declares at upload. Under ValidatorNumeric two JSON numbers a and b agree
// when |a−b| ≤ AbsTol or |a−b| ≤ RelTol·max(|a|,|b|); everything else
// (object keys, strings, booleans, nulls, array lengths) must be the same,
// object keys in any order.
type Validator struct {
	Kind   string // ValidatorBitwise ("" too) or ValidatorNumeric
	AbsTol float64
	RelTol float64
}

// WithDefaults names the kind of the zero Validator.
func (v Validator) WithDefaults() Validator {
	if v.Kind == "" {
		v.Kind = ValidatorBitwise
	}
	return v
}

// Bitwise reports whether v compares outputs byte for byte.
func (v Validator) Bitwise() bool { return v.Kind == "" || v.Kind == ValidatorBitwise }

// MaxRelTol bounds a relative tolerance: one that accepts a result
// whatever it is checks nothing.
const MaxRelTol = 1

// Validate reports the first thing wrong with v.
func (v Validator) Validate() error {
	switch v.Kind {
	case "", ValidatorBitwise:
		if v.AbsTol != 0 || v.RelTol != 0 {
			return Errorf(EINVALID, "validator %q takes no tolerances; use %q to compare numbers within abs_tol and rel_tol",
				ValidatorBitwise, ValidatorNumeric)
		}
		return nil
	case ValidatorNumeric:
	default:
		return Errorf(EINVALID, "validator kind must be %q or %q, got %q", ValidatorBitwise, ValidatorNumeric, v.Kind)
	}
	for _, t := range []struct {
		name string
		v    float64
	}{{"abs_tol", v.AbsTol}, {"rel_tol", v.RelTol}} {
		if math.IsNaN(t.v) || math.IsInf(t.v, 0) || t.v < 0 {
			return Errorf(EINVALID, "%s must be a finite number, zero or more, got %v", t.name, t.v)
		}
	}
	if v.RelTol > MaxRelTol {
		return Errorf(EINVALID, "rel_tol must be at most %d, got %v", MaxRelTol, v.RelTol)
	}
	return nil
}

// Equivalent reports whether outputs a and b agree under v. It fails with
// an EINVALID error naming the output (a or b) that a numeric validator
// cannot read as JSON.
func (v Validator) Equivalent(a, b []byte) (bool, error) {
	if v.Bitwise() {
		return bytes.Equal(a, b), nil
	}
	x, err := parseOutput(a)
	if err != nil {
		return false, Errorf(EINVALID, "output a: %v", err)
	}
	y, err := parseOutput(b)
	if err != nil {
		return false, Errorf(EINVALID, "output b: %v", err)
	}
	return v.same(x, y), nil
}

// parseOutput reads an output as exactly one JSON value, numbers kept as
// their text so none is rounded before it is compared.
func parseOutput(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("output is empty, not JSON")
		}
		return nil, fmt.Errorf("output is not JSON: %v", err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("output is not one JSON value: more follows it")
	}
	return v, nil
}

// same compares two parsed outputs under v's tolerances.
func (v Validator) same(x, y any) bool {
	switch x := x.(type) {
	case json.Number:
		y, ok := y.(json.Number)
		return ok && v.sameNumber(x, y)
	case string:
		y, ok := y.(string)
		return ok && x == y
	case bool:
		y, ok := y.(bool)
		return ok && x == y
	case nil:
		return y == nil
	case []any:
		y, ok := y.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !v.same(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := y.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !v.same(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}

// Bounds of the numbers compared by value: reading a decimal number costs
// time quadratic in its length (an output is up to a MiB), and a number
// 10^e is a fraction of about 3.3·e bits. Any float64, written out in full
// or in exponent form, is within them; numbers beyond must match as text.
const (
	maxNumberLen      = 1000
	maxNumberExponent = 1000
)

// sameNumber compares two JSON numbers exactly, as decimals (1, 1.0 and
// 1e0 are equal; so are 0 and -0; integers of any size compare exactly),
// then within the tolerances, taken as the decimals they print as: a
// difference of exactly AbsTol is within it.
func (v Validator) sameNumber(x, y json.Number) bool {
	if x == y {
		return true
	}
	a, okA := decimal(string(x))
	b, okB := decimal(string(y))
	if !okA || !okB {
		return false
	}
	if a.Cmp(b) == 0 {
		return true
	}
	diff := new(big.Rat).Sub(a, b)
	diff.Abs(diff)
	if diff.Cmp(tolerance(v.AbsTol)) <= 0 {
		return true
	}
	largest := new(big.Rat).Abs(a)
	if absB := new(big.Rat).Abs(b); absB.Cmp(largest) > 0 {
		largest = absB
	}
	return diff.Cmp(largest.Mul(largest, tolerance(v.RelTol))) <= 0
}

// decimal reads a JSON number exactly, if it is within the bounds.
func decimal(s string) (*big.Rat, bool) {
	if len(s) > maxNumberLen {
		return nil, false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.ParseInt(s[i+1:], 10, 64)
		if err != nil || e > maxNumberExponent || e < -maxNumberExponent {
			return nil, false
		}
	}
	return new(big.Rat).SetString(s)
}

// tolerance is t as the shortest decimal that reads back as it: 1e-6, not
// the binary fraction just below it.
func tolerance(t float64) *big.Rat {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(t, 'g', -1, 64))
	if !ok { // NaN or infinite: Validate refuses them
		return new(big.Rat)
	}
	return r
}
