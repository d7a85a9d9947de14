package payouts

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PayoutLine is one payment a payout run asks the processor to make.
type PayoutLine struct {
	ID              int64
	RunID           int64
	ContributorID   int64
	ContributorName string
	AmountMicros    int64
	Method          Method // how to pay: copied from the contributor's settings when the run was made
	Destination     string // where to: IBAN, email, … (personal data)
}

// payoutColumns are the columns of a payout file, in order.
var payoutColumns = []string{"line_id", "run_id", "contributor_id", "contributor_name", "amount_micros", "amount", "currency", "method", "destination"}

// payoutRecord is a payout line as the JSON payout file holds it.
type payoutRecord struct {
	LineID          int64  `json:"line_id"`
	RunID           int64  `json:"run_id"`
	ContributorID   int64  `json:"contributor_id"`
	ContributorName string `json:"contributor_name"`
	AmountMicros    int64  `json:"amount_micros"`
	Amount          string `json:"amount"`
	Currency        string `json:"currency"`
	Method          Method `json:"method"`
	Destination     string `json:"destination"`
}

// sortedLines is lines in id order, so the same run always writes the same
// bytes.
func sortedLines(lines []PayoutLine) []PayoutLine {
	out := slices.Clone(lines)
	slices.SortFunc(out, func(a, b PayoutLine) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// WritePayoutCSV writes lines as a CSV payout file: a header, then one row
// per line in id order, amounts both in micro-units and as a decimal, and
// how and where to pay (method and destination; both empty on lines of
// runs made before contributors had payout settings).
func WritePayoutCSV(w io.Writer, lines []PayoutLine) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(payoutColumns); err != nil {
		return err
	}
	for _, l := range sortedLines(lines) {
		if err := cw.Write([]string{strconv.FormatInt(l.ID, 10), strconv.FormatInt(l.RunID, 10),
			strconv.FormatInt(l.ContributorID, 10), l.ContributorName, strconv.FormatInt(l.AmountMicros, 10),
			FormatMicros(l.AmountMicros), Currency, string(l.Method), l.Destination}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WritePayoutJSON writes lines as a JSON payout file: an array of objects
// with the CSV file's columns as fields, in id order, one per line.
func WritePayoutJSON(w io.Writer, lines []PayoutLine) error {
	var buf bytes.Buffer
	buf.WriteString("[")
	for i, l := range sortedLines(lines) {
		if i > 0 {
			buf.WriteString(",")
		}
		b, err := json.Marshal(payoutRecord{LineID: l.ID, RunID: l.RunID, ContributorID: l.ContributorID,
			ContributorName: l.ContributorName, AmountMicros: l.AmountMicros, Amount: FormatMicros(l.AmountMicros), Currency: Currency,
			Method: l.Method, Destination: l.Destination})
		if err != nil {
			return err
		}
		buf.WriteString("\n  ")
		buf.Write(b)
	}
	if len(lines) > 0 {
		buf.WriteString("\n")
	}
	buf.WriteString("]\n")
	_, err := w.Write(buf.Bytes())
	return err
}

// ResultStatus is what the processor says became of a payout line.
type ResultStatus string

const (
	ResultPaid   ResultStatus = "paid"
	ResultFailed ResultStatus = "failed"
)

// PayoutResult is one line of the processor's result file.
type PayoutResult struct {
	LineID    int64
	Status    ResultStatus
	Reference string // the processor's payment reference; may be empty
}

// MaxReferenceLen bounds a payment reference.
const MaxReferenceLen = 200

// ErrBadResults wraps every problem ParsePayoutResults finds in a file.
var ErrBadResults = errors.New("bad payout result file")

func badResults(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadResults, fmt.Sprintf(format, args...))
}

// ParsePayoutResults reads the processor's result file: a JSON array of
// {"line_id", "status", "reference"} if it begins with '[', else CSV with
// a header naming the columns line_id, status and (optionally) reference
// in any order. Status is paid or failed. A line may appear once. Errors
// name the line of the file that is wrong.
func ParsePayoutResults(data []byte) ([]PayoutResult, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, badResults("the file is empty")
	}
	var results []PayoutResult
	var lines []int
	var err error
	if trimmed[0] == '[' {
		results, lines, err = parseResultsJSON(data)
	} else {
		results, lines, err = parseResultsCSV(data)
	}
	if err != nil {
		return nil, err
	}
	seen := make(map[int64]int, len(results))
	for i, r := range results {
		if first, dup := seen[r.LineID]; dup {
			return nil, badResults("line %d: line_id %d appears again (first on line %d)", lines[i], r.LineID, first)
		}
		seen[r.LineID] = lines[i]
	}
	return results, nil
}

// checkResult validates one result read from the given line.
func checkResult(line int, r PayoutResult) error {
	if r.LineID <= 0 {
		return badResults("line %d: line_id must be a positive integer", line)
	}
	if r.Status != ResultPaid && r.Status != ResultFailed {
		return badResults("line %d: status must be %q or %q, got %q", line, ResultPaid, ResultFailed, r.Status)
	}
	if len(r.Reference) > MaxReferenceLen {
		return badResults("line %d: reference is over %d characters", line, MaxReferenceLen)
	}
	// The reference is stored as text and shown in JSON: bytes that are not
	// UTF-8 would be mangled, or refused by PostgreSQL as a server error.
	if !utf8.ValidString(r.Reference) {
		return badResults("line %d: reference is not UTF-8 text", line)
	}
	return nil
}

func parseResultsCSV(data []byte) ([]PayoutResult, []int, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, nil, badResults("reading the CSV header: %v", err)
	}
	col := map[string]int{}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		switch name {
		case "line_id", "status", "reference":
		default:
			return nil, nil, badResults("line 1: unknown column %q (want line_id, status, reference)", name)
		}
		if _, dup := col[name]; dup {
			return nil, nil, badResults("line 1: column %q appears twice", name)
		}
		col[name] = i
	}
	for _, need := range []string{"line_id", "status"} {
		if _, ok := col[need]; !ok {
			return nil, nil, badResults("line 1: the header lacks column %q (want line_id,status,reference)", need)
		}
	}
	var results []PayoutResult
	var lines []int
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, nil, badResults("line %d: %v", pe.Line, pe.Err)
			}
			return nil, nil, badResults("%v", err)
		}
		line, _ := cr.FieldPos(0)
		id, err := strconv.ParseInt(strings.TrimSpace(rec[col["line_id"]]), 10, 64)
		if err != nil {
			return nil, nil, badResults("line %d: line_id must be a positive integer, got %q", line, rec[col["line_id"]])
		}
		r := PayoutResult{LineID: id, Status: ResultStatus(strings.ToLower(strings.TrimSpace(rec[col["status"]])))}
		if i, ok := col["reference"]; ok {
			r.Reference = strings.TrimSpace(rec[i])
		}
		if err := checkResult(line, r); err != nil {
			return nil, nil, err
		}
		results = append(results, r)
		lines = append(lines, line)
	}
	return results, lines, nil
}

// resultRecord is a line of a JSON result file.
type resultRecord struct {
	LineID    *int64  `json:"line_id"`
	Status    *string `json:"status"`
	Reference string  `json:"reference"`
}

func parseResultsJSON(data []byte) ([]PayoutResult, []int, error) {
	lineAt := func(offset int64) int { return 1 + bytes.Count(data[:min(int(offset), len(data))], []byte("\n")) }
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	fail := func(err error) error {
		// A streaming decoder's offsets are not the file's: the whole
		// file, parsed at once, says where its syntax breaks.
		var syntax *json.SyntaxError
		var whole any
		if errors.As(json.Unmarshal(data, &whole), &syntax) {
			return badResults("line %d: malformed JSON: %v", lineAt(syntax.Offset), syntax)
		}
		return badResults("line %d: %v", lineAt(dec.InputOffset()), err)
	}
	if _, err := dec.Token(); err != nil { // '['
		return nil, nil, fail(err)
	}
	var results []PayoutResult
	var lines []int
	for dec.More() {
		// The element starts after the separator and spaces that
		// InputOffset has not yet passed.
		start := dec.InputOffset()
		rest := data[start:]
		start += int64(len(rest) - len(bytes.TrimLeft(rest, ", \t\r\n")))
		line := lineAt(start)
		var rec resultRecord
		if err := dec.Decode(&rec); err != nil {
			var syntax *json.SyntaxError
			if errors.As(err, &syntax) {
				return nil, nil, fail(err)
			}
			return nil, nil, badResults("line %d: %v", line, strings.TrimPrefix(err.Error(), "json: "))
		}
		if rec.LineID == nil || rec.Status == nil {
			return nil, nil, badResults("line %d: each entry needs line_id and status", line)
		}
		r := PayoutResult{LineID: *rec.LineID, Status: ResultStatus(strings.ToLower(*rec.Status)), Reference: strings.TrimSpace(rec.Reference)}
		if err := checkResult(line, r); err != nil {
			return nil, nil, err
		}
		results = append(results, r)
		lines = append(lines, line)
	}
	if _, err := dec.Token(); err != nil { // ']'
		return nil, nil, fail(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, badResults("line %d: unexpected data after the array", lineAt(dec.InputOffset()))
	}
	return results, lines, nil
}
