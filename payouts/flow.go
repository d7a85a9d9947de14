package payouts

import "fmt"

// A task's reward moves in two steps. When its success is reported the
// reward is reserved (escrow → the contributor's pending); when it is
// judged the reservation is posted (pending → available, less the platform
// fee) or voided (pending → escrow). Every key names the task, so each step
// happens at most once per task however often it is recorded, and a task
// has a post or a void, never both.

// Reserve sets aside a reported task's reward for its contributor.
func Reserve(taskID, jobID, contributorID, amount int64) Transaction {
	return transfer(fmt.Sprintf("reserve:task:%d", taskID), "result reported: reward reserved",
		JobEscrow(jobID), ContributorPending(contributorID), amount)
}

// Post pays a valid task's reserved reward: amount leaves pending, fee goes
// to the platform and the rest to the contributor's available balance.
// Entries of zero are left out.
func Post(taskID, contributorID, amount, fee int64) Transaction {
	t := Transaction{Key: fmt.Sprintf("post:task:%d", taskID), Memo: "result valid: reward posted",
		Entries: []Entry{{ContributorPending(contributorID), -amount}}}
	if amount-fee != 0 {
		t.Entries = append(t.Entries, Entry{ContributorAvailable(contributorID), amount - fee})
	}
	if fee != 0 {
		t.Entries = append(t.Entries, Entry{PlatformFees, fee})
	}
	return t
}

// Void returns a task's reserved reward to its job's escrow: the task was
// found invalid, or its unit ended before it could be checked.
func Void(taskID, jobID, contributorID, amount int64) Transaction {
	return transfer(fmt.Sprintf("void:task:%d", taskID), "result not valid: reservation voided",
		ContributorPending(contributorID), JobEscrow(jobID), amount)
}

// Clawback takes back a task's reward, found undeserved after it was paid,
// for the project that paid it. It may leave the contributor in debt.
func Clawback(taskID, contributorID, projectID, amount int64) Transaction {
	t := transfer(fmt.Sprintf("clawback:task:%d", taskID), "reward clawed back",
		ContributorAvailable(contributorID), ProjectBudget(projectID), amount)
	t.Overdraft = true
	return t
}

// MaxFeeBPS is a fee of the whole amount.
const MaxFeeBPS = 10_000

// FeeFor is the platform fee on amount at bps basis points (hundredths of
// a percent), rounded down, without overflowing: bps outside 0 to
// MaxFeeBPS is clamped, and a negative amount pays none.
func FeeFor(amount int64, bps int) int64 {
	if amount <= 0 || bps <= 0 {
		return 0
	}
	if bps >= MaxFeeBPS {
		return amount
	}
	b := int64(bps)
	return amount/MaxFeeBPS*b + amount%MaxFeeBPS*b/MaxFeeBPS
}
