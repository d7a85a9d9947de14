package payouts

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestPayoutTransactions(t *testing.T) {
	tests := []struct {
		name     string
		tx       Transaction
		key      string
		from, to Account
	}{
		{"hold", Hold(3, 7, 500), "payout:run:3:contributor:7", ContributorAvailable(7), ContributorInflight(7)},
		{"settle", Settle(3, 7, 500), "settle:run:3:contributor:7", ContributorInflight(7), ExternalPayouts},
		{"return", Return(3, 7, 500), "return:run:3:contributor:7", ContributorInflight(7), ContributorAvailable(7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.tx.Validate(); err != nil {
				t.Fatal(err)
			}
			if tt.tx.Key != tt.key {
				t.Errorf("key = %q, want %q", tt.tx.Key, tt.key)
			}
			if want := map[Account]int64{tt.from: -500, tt.to: 500}; !reflect.DeepEqual(tt.tx.EntryMap(), want) {
				t.Errorf("entries = %v, want %v", tt.tx.EntryMap(), want)
			}
		})
	}
	if ContributorInflight(7) != "contributor:7:inflight" || ExternalPayouts != "external:payouts" {
		t.Error("account names differ from DESIGN.md")
	}
}

func TestContributorAccount(t *testing.T) {
	tests := []struct {
		in   Account
		id   int64
		kind string
		ok   bool
	}{
		{ContributorAvailable(12), 12, "available", true},
		{ContributorInflight(3), 3, "inflight", true},
		{"contributor:5:pending", 5, "pending", true},
		{"contributor:05:available", 0, "", false},
		{"contributor:x:available", 0, "", false},
		{"contributor:5", 0, "", false},
		{"contributor:-5:available", 0, "", false},
		{ProjectBudget(5), 0, "", false},
		{ExternalPayouts, 0, "", false},
	}
	for _, tt := range tests {
		id, kind, ok := ContributorAccount(tt.in)
		if id != tt.id || kind != tt.kind || ok != tt.ok {
			t.Errorf("ContributorAccount(%q) = %d, %q, %v; want %d, %q, %v", tt.in, id, kind, ok, tt.id, tt.kind, tt.ok)
		}
	}
}

func TestKeyKindAndID(t *testing.T) {
	tests := []struct {
		key, kind, name string
		id              int64
		ok              bool
	}{
		{"reserve:task:12", "reserve", "task", 12, true},
		{"escrow:job:4", "escrow", "job", 4, true},
		{"settle:run:3:contributor:7", "settle", "contributor", 7, true},
		{"settle:run:3:contributor:7", "settle", "run", 3, true},
		{"fund:project:1:abc", "fund", "job", 0, false},
		{"plain", "plain", "task", 0, false},
	}
	for _, tt := range tests {
		if got := KeyKind(tt.key); got != tt.kind {
			t.Errorf("KeyKind(%q) = %q, want %q", tt.key, got, tt.kind)
		}
		if id, ok := KeyID(tt.key, tt.name); id != tt.id || ok != tt.ok {
			t.Errorf("KeyID(%q, %q) = %d, %v; want %d, %v", tt.key, tt.name, id, ok, tt.id, tt.ok)
		}
	}
}

func TestWritePayoutFiles(t *testing.T) {
	lines := []PayoutLine{
		{ID: 9, RunID: 2, ContributorID: 4, ContributorName: `Ada "the" Lovelace, Esq.`, AmountMicros: 12_500_000,
			Method: MethodBankTransfer, Destination: "GB82WEST12345698765432"},
		{ID: 3, RunID: 2, ContributorID: 1, ContributorName: "bob", AmountMicros: 10_000_001, Method: MethodPayPal, Destination: "bob@example.com"},
		{ID: 1, RunID: 2, ContributorID: 5, ContributorName: "old", AmountMicros: 10_000_000}, // a line from before payout settings
	}
	tests := []struct {
		name  string
		write func(*bytes.Buffer, []PayoutLine) error
		lines []PayoutLine
		want  string
	}{
		{"csv", func(b *bytes.Buffer, l []PayoutLine) error { return WritePayoutCSV(b, l) }, lines,
			"line_id,run_id,contributor_id,contributor_name,amount_micros,amount,currency,method,destination\n" +
				"1,2,5,old,10000000,10.000000,USD,,\n" +
				"3,2,1,bob,10000001,10.000001,USD,paypal,bob@example.com\n" +
				`9,2,4,"Ada ""the"" Lovelace, Esq.",12500000,12.500000,USD,bank_transfer,GB82WEST12345698765432` + "\n"},
		{"csv empty", func(b *bytes.Buffer, l []PayoutLine) error { return WritePayoutCSV(b, l) }, nil,
			"line_id,run_id,contributor_id,contributor_name,amount_micros,amount,currency,method,destination\n"},
		{"json", func(b *bytes.Buffer, l []PayoutLine) error { return WritePayoutJSON(b, l) }, lines,
			"[\n" +
				`  {"line_id":1,"run_id":2,"contributor_id":5,"contributor_name":"old","amount_micros":10000000,"amount":"10.000000","currency":"USD","method":"","destination":""},` + "\n" +
				`  {"line_id":3,"run_id":2,"contributor_id":1,"contributor_name":"bob","amount_micros":10000001,"amount":"10.000001","currency":"USD","method":"paypal","destination":"bob@example.com"},` + "\n" +
				`  {"line_id":9,"run_id":2,"contributor_id":4,"contributor_name":"Ada \"the\" Lovelace, Esq.","amount_micros":12500000,"amount":"12.500000","currency":"USD","method":"bank_transfer","destination":"GB82WEST12345698765432"}` + "\n" +
				"]\n"},
		{"json empty", func(b *bytes.Buffer, l []PayoutLine) error { return WritePayoutJSON(b, l) }, nil, "[]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b, tt.lines); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("wrote\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
	if lines[0].ID != 9 {
		t.Error("writing sorted the caller's slice")
	}
}

func TestParsePayoutResults(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []PayoutResult
		wantErr string // a substring of the error; "" for none
	}{
		{"csv", "line_id,status,reference\n1,paid,tx-1\n2,failed,\n", []PayoutResult{{1, ResultPaid, "tx-1"}, {2, ResultFailed, ""}}, ""},
		{"csv columns reordered, no reference, CRLF, BOM", "\ufeffstatus,line_id\r\nPAID,5\r\n", []PayoutResult{{5, ResultPaid, ""}}, ""},
		{"csv header only", "line_id,status,reference\n", nil, ""},
		{"json", `[{"line_id":1,"status":"paid","reference":"r"},` + "\n" + `{"line_id":2,"status":"failed"}]`,
			[]PayoutResult{{1, ResultPaid, "r"}, {2, ResultFailed, ""}}, ""},
		{"json empty", " [ ] ", nil, ""},
		{"empty", "  \n", nil, "empty"},
		{"csv bad status", "line_id,status,reference\n1,paid,a\n2,maybe,b\n", nil, "line 3: status must be"},
		{"csv bad id", "line_id,status\n1,paid\nx,paid\n", nil, `line 3: line_id must be a positive integer, got "x"`},
		{"csv zero id", "line_id,status\n0,paid\n", nil, "line 2: line_id must be a positive integer"},
		{"csv missing column", "line_id,reference\n1,a\n", nil, `line 1: the header lacks column "status"`},
		{"csv unknown column", "line_id,status,amount\n1,paid,3\n", nil, `line 1: unknown column "amount"`},
		{"csv wrong field count", "line_id,status,reference\n1,paid,a\n2,paid\n", nil, "line 3:"},
		{"csv duplicate line", "line_id,status\n1,paid\n2,paid\n1,failed\n", nil, "line 4: line_id 1 appears again (first on line 2)"},
		{"csv long reference", "line_id,status,reference\n1,paid," + strings.Repeat("r", 201) + "\n", nil, "line 2: reference is over 200"},
		{"json bad status", "[\n{\"line_id\":1,\"status\":\"paid\"},\n{\"line_id\":2,\"status\":\"lost\"}\n]", nil, "line 3: status must be"},
		{"json missing status", "[\n{\"line_id\":1}\n]", nil, "line 2: each entry needs line_id and status"},
		{"json unknown field", "[\n{\"line_id\":1,\"status\":\"paid\",\"amount\":3}\n]", nil, `line 2: unknown field "amount"`},
		{"json wrong type", "[\n{\"line_id\":\"1\",\"status\":\"paid\"}\n]", nil, "line 2:"},
		{"json syntax", "[\n{\"line_id\":1,\"status\":\"paid\"},\n{\"line_id\":2,\n]", nil, "line 4: malformed JSON"},
		{"json trailing", "[]\n[]", nil, "line 2: unexpected data after the array"},
		{"json duplicate", "[{\"line_id\":1,\"status\":\"paid\"},\n{\"line_id\":1,\"status\":\"paid\"}]", nil, "line 2: line_id 1 appears again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePayoutResults([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrBadResults) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
