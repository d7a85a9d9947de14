package payouts

import (
	"errors"
	"fmt"
	"math/big"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Method is how a contributor is paid: the processor reads it from each
// line of a payout file, with the line's destination.
type Method string

// The payout methods a contributor may choose. The list is closed: a
// processor must know every method it is handed.
const (
	MethodBankTransfer Method = "bank_transfer" // destination: an IBAN
	MethodPayPal       Method = "paypal"        // destination: the PayPal account's email address
)

// Methods lists every payout method, in the order a form shows them.
var Methods = []Method{MethodBankTransfer, MethodPayPal}

// MaxDestinationLen bounds a payout destination, in characters.
const MaxDestinationLen = 200

// MaxThresholdMicros is the most a contributor may ask to be held back
// before a run pays them: 10,000 USD. A higher one would park money on
// the platform for years.
const MaxThresholdMicros = 10_000_000_000

// ErrBadDestination wraps every problem CheckDestination finds. Its
// messages never repeat the destination: it is personal data.
var ErrBadDestination = errors.New("bad payout destination")

func badDestination(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadDestination, fmt.Sprintf(format, args...))
}

// ParseMethod returns the method named s, or an error listing the methods.
func ParseMethod(s string) (Method, error) {
	for _, m := range Methods {
		if string(m) == s {
			return m, nil
		}
	}
	names := make([]string, len(Methods))
	for i, m := range Methods {
		names[i] = string(m)
	}
	return "", fmt.Errorf("unknown payout method %q: want one of %s", s, strings.Join(names, ", "))
}

// CheckDestination validates a destination for method m and returns it in
// its normal form: an IBAN without spaces in upper case, an email address
// as given but trimmed.
func CheckDestination(m Method, dest string) (string, error) {
	dest = strings.TrimSpace(dest)
	if dest == "" {
		return "", badDestination("%s needs a destination", m)
	}
	if !utf8.ValidString(dest) || utf8.RuneCountInString(dest) > MaxDestinationLen {
		return "", badDestination("a destination is at most %d characters of UTF-8", MaxDestinationLen)
	}
	switch m {
	case MethodBankTransfer:
		return checkIBAN(dest)
	case MethodPayPal:
		return checkEmail(dest)
	}
	_, err := ParseMethod(string(m))
	return "", err
}

// checkIBAN accepts an IBAN (ISO 13616), with or without spaces: a country
// code, two check digits and up to 30 letters and digits, whose check
// digits are right (mod 97 = 1).
func checkIBAN(s string) (string, error) {
	iban := strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	if len(iban) < 15 || len(iban) > 34 {
		return "", badDestination("an IBAN has 15 to 34 letters and digits")
	}
	for i, r := range iban {
		letter, digit := r >= 'A' && r <= 'Z', r >= '0' && r <= '9'
		switch {
		case i < 2 && !letter:
			return "", badDestination("an IBAN starts with a two-letter country code")
		case i >= 2 && i < 4 && !digit:
			return "", badDestination("an IBAN's third and fourth characters are its check digits")
		case !letter && !digit:
			return "", badDestination("an IBAN has only letters and digits")
		}
	}
	// Move the first four characters to the end, letters to 10..35.
	var num strings.Builder
	for _, r := range iban[4:] + iban[:4] {
		if r >= 'A' && r <= 'Z' {
			fmt.Fprintf(&num, "%d", r-'A'+10)
		} else {
			num.WriteRune(r)
		}
	}
	n, _ := new(big.Int).SetString(num.String(), 10)
	if new(big.Int).Mod(n, big.NewInt(97)).Int64() != 1 {
		return "", badDestination("the IBAN's check digits do not match: is it typed right?")
	}
	return iban, nil
}

func checkEmail(s string) (string, error) {
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return "", badDestination("paypal needs the account's email address, like name@example.com")
	}
	local, domain, _ := strings.Cut(s, "@")
	if local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", badDestination("paypal needs the account's email address, like name@example.com")
	}
	return s, nil
}

// MaskDestination hides all but the last four characters of a destination,
// so that a contributor can tell which account it is and nobody else can
// read it.
func MaskDestination(dest string) string {
	r := []rune(dest)
	shown := min(4, len(r)/2) // a short one keeps at least half hidden
	return strings.Repeat("*", len(r)-shown) + string(r[len(r)-shown:])
}
