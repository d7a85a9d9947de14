package payouts

import (
	"fmt"
	"strconv"
	"strings"
)

// Hold moves a contributor's payable balance into a payout run. One key per
// run and contributor: a run holds each contributor's money once, however
// often it is retried.
func Hold(runID, contributorID, amount int64) Transaction {
	return transfer(fmt.Sprintf("payout:run:%d:contributor:%d", runID, contributorID), "payout run: held for payment",
		ContributorAvailable(contributorID), ContributorInflight(contributorID), amount)
}

// Settle records a held payment as made: the money has left the platform.
func Settle(runID, contributorID, amount int64) Transaction {
	return transfer(fmt.Sprintf("settle:run:%d:contributor:%d", runID, contributorID), "payout run: paid",
		ContributorInflight(contributorID), ExternalPayouts, amount)
}

// Return gives a held payment that failed back to the contributor's
// available balance, to be paid by a later run.
func Return(runID, contributorID, amount int64) Transaction {
	return transfer(fmt.Sprintf("return:run:%d:contributor:%d", runID, contributorID), "payout run: payment failed, returned",
		ContributorInflight(contributorID), ContributorAvailable(contributorID), amount)
}

// ContributorAccount splits an account named contributor:C:KIND into C and
// KIND (available, pending, inflight, …); ok is false for other accounts.
func ContributorAccount(a Account) (contributorID int64, kind string, ok bool) {
	rest, found := strings.CutPrefix(string(a), "contributor:")
	if !found {
		return 0, "", false
	}
	idText, kind, found := strings.Cut(rest, ":")
	if !found || kind == "" {
		return 0, "", false
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != idText {
		return 0, "", false
	}
	return id, kind, true
}

// KeyKind is the kind of a transaction, read from its key's first part
// (fund, escrow, reward, release, payout, settle, return, …).
func KeyKind(key string) string {
	kind, _, _ := strings.Cut(key, ":")
	return kind
}

// KeyID returns the number that follows name in a transaction key, e.g.
// KeyID("reserve:task:12", "task") = 12; ok is false if there is none.
func KeyID(key, name string) (id int64, ok bool) {
	parts := strings.Split(key, ":")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == name {
			id, err := strconv.ParseInt(parts[i+1], 10, 64)
			return id, err == nil
		}
	}
	return 0, false
}
