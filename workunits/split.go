package workunits

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// SweepParam is one axis of a parameter sweep: either an explicit list of
// JSON values or an integer range From..To (inclusive) by Step.
type SweepParam struct {
	Values []json.RawMessage `json:"values,omitempty"`
	From   *int64            `json:"from,omitempty"`
	To     *int64            `json:"to,omitempty"`
	Step   int64             `json:"step,omitempty"`
}

// values returns the axis as JSON values.
func (p SweepParam) values(name string) ([]json.RawMessage, error) {
	hasRange := p.From != nil || p.To != nil || p.Step != 0
	switch {
	case len(p.Values) > 0 && hasRange:
		return nil, Errorf(EINVALID, "sweep parameter %q: give either values or from/to, not both", name)
	case len(p.Values) > 0:
		out := make([]json.RawMessage, len(p.Values))
		for i, v := range p.Values {
			c, err := compactJSON(v)
			if err != nil {
				return nil, Errorf(EINVALID, "sweep parameter %q value %d: %v", name, i, err)
			}
			out[i] = c
		}
		return out, nil
	case p.From == nil || p.To == nil:
		return nil, Errorf(EINVALID, "sweep parameter %q: give values, or both from and to", name)
	}
	step := p.Step
	if step == 0 {
		step = 1
	}
	if step < 0 {
		return nil, Errorf(EINVALID, "sweep parameter %q: step must be positive", name)
	}
	if *p.To < *p.From {
		return nil, Errorf(EINVALID, "sweep parameter %q: to (%d) is below from (%d)", name, *p.To, *p.From)
	}
	// Count before materialising, in unsigned arithmetic so that the
	// widest int64 range cannot wrap around.
	span := uint64(*p.To) - uint64(*p.From)
	if span/uint64(step) >= MaxUnitsPerJob {
		return nil, Errorf(EINVALID, "sweep parameter %q has more than %d values, the most units a job may have", name, MaxUnitsPerJob)
	}
	count := span/uint64(step) + 1
	out := make([]json.RawMessage, count)
	for i := range out {
		out[i] = json.RawMessage(strconv.FormatInt(*p.From+int64(i)*step, 10))
	}
	return out, nil
}

// ExpandSweep turns a parameter grid into unit inputs: one JSON object per
// combination, parameters in name order, the last name varying fastest.
func ExpandSweep(params map[string]SweepParam) ([][]byte, error) {
	if len(params) == 0 {
		return nil, Errorf(EINVALID, "sweep has no parameters")
	}
	names := make([]string, 0, len(params))
	for name := range params {
		if name == "" {
			return nil, Errorf(EINVALID, "sweep parameter names must not be empty")
		}
		names = append(names, name)
	}
	sort.Strings(names)
	axes := make([][]json.RawMessage, len(names))
	total := 1
	for i, name := range names {
		vals, err := params[name].values(name)
		if err != nil {
			return nil, err
		}
		axes[i] = vals
		total *= len(vals)
		if total > MaxUnitsPerJob {
			return nil, Errorf(EINVALID, "sweep expands to more than %d units", MaxUnitsPerJob)
		}
	}
	inputs := make([][]byte, 0, total)
	idx := make([]int, len(names))
	for {
		var b bytes.Buffer
		b.WriteByte('{')
		for i, name := range names {
			if i > 0 {
				b.WriteByte(',')
			}
			key, _ := json.Marshal(name) // a string always marshals
			b.Write(key)
			b.WriteByte(':')
			b.Write(axes[i][idx[i]])
		}
		b.WriteByte('}')
		if err := checkUnitInput(len(inputs), b.Bytes()); err != nil {
			return nil, err
		}
		inputs = append(inputs, b.Bytes())
		// Odometer increment, last axis fastest.
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(axes[i]) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return inputs, nil
		}
	}
}

// ListInputs checks explicitly given unit inputs and returns them compacted.
func ListInputs(list []json.RawMessage) ([][]byte, error) {
	if len(list) == 0 {
		return nil, Errorf(EINVALID, "units: a job needs at least one unit")
	}
	if len(list) > MaxUnitsPerJob {
		return nil, Errorf(EINVALID, "units: %d given, a job may have at most %d", len(list), MaxUnitsPerJob)
	}
	inputs := make([][]byte, len(list))
	for i, raw := range list {
		c, err := compactJSON(raw)
		if err != nil {
			return nil, Errorf(EINVALID, "units[%d]: %v", i, err)
		}
		if err := checkUnitInput(i, c); err != nil {
			return nil, err
		}
		inputs[i] = c
	}
	return inputs, nil
}

func checkUnitInput(i int, input []byte) error {
	if len(input) > MaxUnitInputSize {
		return Errorf(ETOOLARGE, "unit %d input is %d bytes, the limit is %d", i, len(input), MaxUnitInputSize)
	}
	return nil
}

func compactJSON(raw json.RawMessage) (json.RawMessage, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if b.Len() == 0 {
		return nil, fmt.Errorf("empty value")
	}
	return b.Bytes(), nil
}
