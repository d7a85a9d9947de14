package workunits

import (
	"math"
	"strings"
	"testing"
)

func TestValidatorValidate(t *testing.T) {
	tests := []struct {
		name string
		v    Validator
		want Code
		msg  string // in the error message
	}{
		{"zero value is bitwise", Validator{}, "", ""},
		{"bitwise", Validator{Kind: ValidatorBitwise}, "", ""},
		{"numeric without tolerances", Validator{Kind: ValidatorNumeric}, "", ""},
		{"numeric", Validator{Kind: ValidatorNumeric, AbsTol: 1e-9, RelTol: 1e-6}, "", ""},
		{"numeric rel_tol at its limit", Validator{Kind: ValidatorNumeric, RelTol: MaxRelTol}, "", ""},
		{"unknown kind", Validator{Kind: "fuzzy"}, EINVALID, `got "fuzzy"`},
		{"kinds are lowercase", Validator{Kind: "Numeric"}, EINVALID, "validator kind"},
		{"bitwise with abs_tol", Validator{Kind: ValidatorBitwise, AbsTol: 1e-9}, EINVALID, "takes no tolerances"},
		{"zero value with rel_tol", Validator{RelTol: 1e-9}, EINVALID, "takes no tolerances"},
		{"negative abs_tol", Validator{Kind: ValidatorNumeric, AbsTol: -1}, EINVALID, "abs_tol"},
		{"negative rel_tol", Validator{Kind: ValidatorNumeric, RelTol: -1e-9}, EINVALID, "rel_tol"},
		{"NaN abs_tol", Validator{Kind: ValidatorNumeric, AbsTol: math.NaN()}, EINVALID, "abs_tol must be a finite number"},
		{"NaN rel_tol", Validator{Kind: ValidatorNumeric, RelTol: math.NaN()}, EINVALID, "rel_tol must be a finite number"},
		{"infinite abs_tol", Validator{Kind: ValidatorNumeric, AbsTol: math.Inf(1)}, EINVALID, "abs_tol"},
		{"rel_tol above 1", Validator{Kind: ValidatorNumeric, RelTol: 1.5}, EINVALID, "rel_tol must be at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.v.Validate()
			if got := ErrorCode(err); got != tt.want {
				t.Fatalf("Validate() = %v, want code %q", err, tt.want)
			}
			if err != nil && !strings.Contains(ErrorMessage(err), tt.msg) {
				t.Errorf("Validate() message %q, want it to contain %q", ErrorMessage(err), tt.msg)
			}
		})
	}
}

func TestValidatorEquivalent(t *testing.T) {
	exact := Validator{Kind: ValidatorNumeric}
	abs := Validator{Kind: ValidatorNumeric, AbsTol: 1e-6}
	rel := Validator{Kind: ValidatorNumeric, RelTol: 1e-6}
	tests := []struct {
		name string
		v    Validator
		a, b string
		want bool
	}{
		{"bitwise: same bytes", Validator{}, `{"x":1}`, `{"x":1}`, true},
		{"bitwise: reordered keys differ", Validator{}, `{"x":1,"y":2}`, `{"y":2,"x":1}`, false},
		{"bitwise: anything goes, even non-JSON", Validator{Kind: ValidatorBitwise}, "not json", "not json", true},

		{"same text", exact, `[1.5, "a"]`, `[1.5, "a"]`, true},
		{"whitespace does not matter", exact, `{"x": [1, 2]}`, "{\"x\":[1,2]}\n", true},
		{"reordered object keys are the same object", exact, `{"x":1,"y":{"a":true,"b":null}}`, `{"y":{"b":null,"a":true},"x":1}`, true},
		{"one number, three spellings", exact, `[1, 1, 100]`, `[1.0, 1e0, 1E2]`, true},
		{"0 and -0", exact, `[0, 0.0]`, `[-0, -0.0]`, true},
		{"big integers compare exactly: equal", exact, `12345678901234567890123`, `12345678901234567890123.0`, true},
		{"big integers compare exactly: off by one", exact, `12345678901234567890123`, `12345678901234567890124`, false},
		{"beyond float64 range", exact, `1e400`, `10e399`, true},
		{"beyond float64 range, different", exact, `1e400`, `2e400`, false},
		{"a number too long to read must match as text", exact, "1" + strings.Repeat("0", maxNumberLen), "1" + strings.Repeat("0", maxNumberLen) + ".0", false},
		{"an exponent beyond the bound must match as text", abs, `1e2000`, `10e1999`, false},
		{"an exponent beyond the bound, same text", abs, `[1e2000]`, `[1e2000]`, true},
		{"below float64 range, within abs_tol of zero", abs, `1e-400`, `0`, true},
		{"exact: no tolerance", exact, `0.1`, `0.10000000001`, false},

		{"abs: within", abs, `{"e": 1.0000005}`, `{"e": 1.0}`, true},
		{"abs: at the bound", abs, `2.000001`, `2`, true},
		{"abs: beyond", abs, `1.000002`, `1.0`, false},
		{"abs: around zero", abs, `1e-7`, `-1e-7`, true},
		{"rel: within for large numbers", rel, `1000000`, `1000000.5`, true},
		{"rel: beyond for small numbers", rel, `0.001`, `0.0011`, false},
		{"rel: zero against tiny is beyond", rel, `0`, `1e-300`, false},
		{"either tolerance suffices", Validator{Kind: ValidatorNumeric, AbsTol: 1e-3, RelTol: 1e-9}, `5.0005`, `5`, true},
		{"nested arrays and objects", rel, `{"a":[[1,2],[3,{"b":4}]]}`, `{"a":[[1.0000001,2],[3,{"b":4.000001}]]}`, true},
		{"nested: one number beyond", rel, `{"a":[[1,2],[3,{"b":4}]]}`, `{"a":[[1,2],[3,{"b":4.1}]]}`, false},

		{"strings must be identical", abs, `"1.0"`, `"1"`, false},
		{"a number is not a string", abs, `1`, `"1"`, false},
		{"bools", abs, `[true, false]`, `[true, false]`, true},
		{"bools differ", abs, `true`, `false`, false},
		{"null is not zero", abs, `null`, `0`, false},
		{"null is not false", abs, `{"x":null}`, `{"x":false}`, false},
		{"array lengths must match", abs, `[1, 2]`, `[1, 2, 3]`, false},
		{"missing key", abs, `{"x":1,"y":2}`, `{"x":1}`, false},
		{"different key", abs, `{"x":1}`, `{"z":1}`, false},
		{"array is not object", abs, `[]`, `{}`, false},
		{"empty containers", abs, `[{}, []]`, `[{}, []]`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.v.Equivalent([]byte(tt.a), []byte(tt.b))
			if err != nil {
				t.Fatalf("Equivalent(%s, %s) error: %v", tt.a, tt.b, err)
			}
			if got != tt.want {
				t.Errorf("Equivalent(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if back, _ := tt.v.Equivalent([]byte(tt.b), []byte(tt.a)); back != got {
				t.Errorf("Equivalent is not symmetric: (a, b) = %v, (b, a) = %v", got, back)
			}
		})
	}
}

func TestValidatorEquivalentUnreadable(t *testing.T) {
	numeric := Validator{Kind: ValidatorNumeric, RelTol: 1e-6}
	tests := []struct {
		name, a, b string
		which      string
	}{
		{"empty", "", "1", "output a"},
		{"not JSON", "1", "hello", "output b"},
		{"NaN is not JSON", "NaN", "1", "output a"},
		{"Infinity is not JSON", "[1]", "[Infinity]", "output b"},
		{"two values", "1 2", "1", "output a"},
		{"truncated", `{"x": [1, 2`, "1", "output a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := numeric.Equivalent([]byte(tt.a), []byte(tt.b))
			if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tt.which) {
				t.Errorf("Equivalent(%q, %q) error = %v, want EINVALID naming %s", tt.a, tt.b, err, tt.which)
			}
		})
	}
}
