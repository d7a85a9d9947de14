package payouts_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/payouts"
)

// FuzzParsePayoutResults: a processor's result file is read or refused
// with ErrBadResults; what is read holds valid, distinct lines and reads
// back the same from both formats.
func FuzzParsePayoutResults(f *testing.F) {
	for _, s := range []string{
		"line_id,status,reference\n1,paid,TX-1\n2,failed,\n",
		"status,line_id\npaid,7\n",
		"\ufeffline_id,status\r\n3,paid\r\n",
		`[{"line_id":1,"status":"paid","reference":"TX-1"},{"line_id":2,"status":"failed"}]`,
		`[]`, ``, "line_id,status\n1,paid\n1,failed\n", "line_id,line_id,status\n", `[{"line_id":-1,"status":"paid"}]`,
		"line_id,status\n\"1,paid\n", `[{"line_id":1,"status":"paid","extra":1}]`, "line_id,status\n99999999999999999999,paid\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		results, err := payouts.ParsePayoutResults(data)
		if err != nil {
			if !errors.Is(err, payouts.ErrBadResults) {
				t.Fatalf("error %v does not wrap ErrBadResults", err)
			}
			return
		}
		seen := map[int64]bool{}
		for _, r := range results {
			if r.LineID <= 0 || seen[r.LineID] || (r.Status != payouts.ResultPaid && r.Status != payouts.ResultFailed) ||
				len(r.Reference) > payouts.MaxReferenceLen {
				t.Fatalf("accepted a bad result %+v", r)
			}
			seen[r.LineID] = true
		}
		if len(results) == 0 {
			return
		}
		// Written back as CSV and as JSON, the results read the same.
		var c bytes.Buffer
		w := csv.NewWriter(&c)
		w.Write([]string{"line_id", "status", "reference"})
		type jsonResult struct {
			LineID    int64  `json:"line_id"`
			Status    string `json:"status"`
			Reference string `json:"reference"`
		}
		var js []jsonResult
		for _, r := range results {
			w.Write([]string{strconv.FormatInt(r.LineID, 10), string(r.Status), r.Reference})
			js = append(js, jsonResult{r.LineID, string(r.Status), r.Reference})
		}
		w.Flush()
		j, _ := json.Marshal(js)
		for format, raw := range map[string][]byte{"CSV": c.Bytes(), "JSON": j} {
			back, err := payouts.ParsePayoutResults(raw)
			if err != nil {
				t.Fatalf("%q read as %+v; written as %s %q it is refused: %v", data, results, format, raw, err)
			}
			if !reflect.DeepEqual(back, results) {
				t.Fatalf("%q read as %+v; written as %s it reads as %+v", data, results, format, back)
			}
		}
	})
}

// FuzzPayoutSettings: a method name and destination are accepted only in
// a normal form that checks again unchanged, and masking never shows the
// whole of a destination longer than a few characters.
func FuzzPayoutSettings(f *testing.F) {
	f.Add("sepa", "DE89 3704 0044 0532 0130 00")
	f.Add("paypal", "ada@example.com")
	f.Add("paypal", " not an email ")
	f.Add("bitcoin", "x")
	f.Add("sepa", "GB00")
	f.Fuzz(func(t *testing.T, method, dest string) {
		m, err := payouts.ParseMethod(method)
		if err != nil {
			return
		}
		norm, err := payouts.CheckDestination(m, dest)
		if err != nil {
			return
		}
		again, err := payouts.CheckDestination(m, norm)
		if err != nil || again != norm {
			t.Fatalf("CheckDestination(%q, %q) = %q, which checks as %q, %v", m, dest, norm, again, err)
		}
		if masked := payouts.MaskDestination(norm); len(norm) > 8 && masked == norm {
			t.Fatalf("MaskDestination(%q) shows it whole", norm)
		}
	})
}

// A reference that is not UTF-8 was accepted from CSV (found by
// FuzzParsePayoutResults): stored, it would be mangled in JSON and refused by
// PostgreSQL's text columns as a server error.
func TestParsePayoutResultsRefusesNonUTF8Reference(t *testing.T) {
	for _, data := range []string{"line_id,stAtus,referenCe\n1,pAid,\x80", "line_id,status,reference\n2,failed,TX-\xff\xfe\n"} {
		if _, err := payouts.ParsePayoutResults([]byte(data)); !errors.Is(err, payouts.ErrBadResults) || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("ParsePayoutResults(%q) = %v, want a bad-results error about UTF-8", data, err)
		}
	}
}
