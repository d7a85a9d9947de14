package payouts

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMethod(t *testing.T) {
	for _, m := range Methods {
		if got, err := ParseMethod(string(m)); err != nil || got != m {
			t.Errorf("ParseMethod(%q) = %q, %v", m, got, err)
		}
	}
	for _, s := range []string{"", "BANK_TRANSFER", "cash", "paypal "} {
		if _, err := ParseMethod(s); err == nil || !strings.Contains(err.Error(), "bank_transfer, paypal") {
			t.Errorf("ParseMethod(%q) = %v, want an error listing the methods", s, err)
		}
	}
}

func TestCheckDestination(t *testing.T) {
	tests := []struct {
		method Method
		dest   string
		want   string // "" for an error
		errHas string
	}{
		{MethodBankTransfer, "GB82WEST12345698765432", "GB82WEST12345698765432", ""},
		{MethodBankTransfer, " gb82 west 1234 5698 7654 32 ", "GB82WEST12345698765432", ""},
		{MethodBankTransfer, "DE89370400440532013000", "DE89370400440532013000", ""},
		{MethodBankTransfer, "NO9386011117947", "NO9386011117947", ""},
		{MethodBankTransfer, "GB82WEST12345698765431", "", "check digits do not match"},
		{MethodBankTransfer, "GB82WEST1234", "", "15 to 34"},
		{MethodBankTransfer, "1282WEST12345698765432", "", "country code"},
		{MethodBankTransfer, "GBX2WEST12345698765432", "", "check digits"},
		{MethodBankTransfer, "GB82WEST1234569876543-", "", "only letters and digits"},
		{MethodBankTransfer, "", "", "needs a destination"},
		{MethodPayPal, "ada@example.com", "ada@example.com", ""},
		{MethodPayPal, " ada+pay@mail.example.org ", "ada+pay@mail.example.org", ""},
		{MethodPayPal, "Ada <ada@example.com>", "", "email address"},
		{MethodPayPal, "ada@localhost", "", "email address"},
		{MethodPayPal, "ada", "", "email address"},
		{MethodPayPal, strings.Repeat("a", 190) + "@example.com", "", "at most 200"},
		{MethodPayPal, "\xff@example.com", "", "UTF-8"},
		{Method("cash"), "in a jar", "", "unknown payout method"},
	}
	for _, tt := range tests {
		got, err := CheckDestination(tt.method, tt.dest)
		if tt.want != "" {
			if err != nil || got != tt.want {
				t.Errorf("CheckDestination(%s, %q) = %q, %v; want %q", tt.method, tt.dest, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("CheckDestination(%s, %q) = %q, %v; want an error with %q", tt.method, tt.dest, got, err, tt.errHas)
			continue
		}
		if tt.method != Method("cash") && !errors.Is(err, ErrBadDestination) {
			t.Errorf("CheckDestination(%s, %q): %v is not ErrBadDestination", tt.method, tt.dest, err)
		}
		if d := strings.TrimSpace(tt.dest); len(d) > 3 && strings.Contains(err.Error(), d) {
			t.Errorf("CheckDestination(%s, %q): the error %q repeats the destination", tt.method, tt.dest, err)
		}
	}
}

func TestMaskDestination(t *testing.T) {
	for dest, want := range map[string]string{
		"GB82WEST12345698765432": "******************5432",
		"ada@example.com":        "***********.com",
		"abcdef":                 "***def",
		"ab":                     "*b",
		"":                       "",
		"zürich-ü":               "****ch-ü",
	} {
		if got := MaskDestination(dest); got != want {
			t.Errorf("MaskDestination(%q) = %q, want %q", dest, got, want)
		}
	}
}
