package service

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Payout runs pay contributors in batches, through a payment processor
// outside the platform:
//
//  1. CreatePayoutRun takes every contributor whose available balance is at
//     least the threshold and, in one transaction, writes the run, one line
//     per contributor and the Hold (available → inflight) of each line.
//  2. ExportPayoutRun (or GET …/file.csv|json) hands the processor the
//     run's file, the same bytes every time.
//  3. ImportPayoutResults reads the processor's answer and, in one
//     transaction, settles each paid line (inflight → external:payouts) or
//     returns each failed one (inflight → available) and marks it so.
//
// Crash safety: every step is one store transaction, so a crash leaves a
// step done or not done, and each is safe to run again. A run's key makes
// creating it idempotent (same key, same run, same lines); the ledger keys
// payout:/settle:/return:run:R:contributor:C record each movement of a
// line's money once; a line's state makes a repeated import a no-op, and
// an import that contradicts an earlier one a conflict. Export writes each
// file to a temporary name and renames it, so a file is whole or absent,
// and marks the run exported only after both files are in place; a rerun
// writes the same bytes again.

// DefaultPayoutThreshold is the least a contributor is paid in a run: 10 USD.
const DefaultPayoutThreshold = 10_000_000

// MaxPayoutKey bounds a payout run's idempotency key.
const MaxPayoutKey = 200

// MaxPayoutRunList is the most runs one listing returns.
const MaxPayoutRunList = 100

// PayoutRun is a run with its lines.
type PayoutRun struct {
	store.PayoutRun
	Lines   []store.PayoutLine
	Created bool // false when the key named a run made before
}

// CreatePayoutRun creates the run keyed key, paying every contributor whose
// available balance is at least threshold (0: Options.PayoutThreshold). A
// key used before returns that run unchanged.
func (s *Service) CreatePayoutRun(ctx context.Context, key string, threshold int64) (PayoutRun, error) {
	if key == "" || len(key) > MaxPayoutKey {
		return PayoutRun{}, workunits.Errorf(workunits.EINVALID, "a payout run needs an idempotency key of 1 to %d characters", MaxPayoutKey)
	}
	if threshold < 0 {
		return PayoutRun{}, workunits.Errorf(workunits.EINVALID, "threshold_micros must be positive, got %d", threshold)
	}
	if threshold == 0 {
		threshold = s.payoutThreshold
	}
	var out PayoutRun
	now := s.now()
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		run, lines, created, err := tx.PayoutRunCreate(ctx, store.PayoutRunCreateParams{Key: key, ThresholdMicros: threshold, Now: now})
		if err != nil {
			return err
		}
		out = PayoutRun{PayoutRun: run, Lines: lines, Created: created}
		if !created || len(lines) == 0 {
			return nil
		}
		holds := make([]payouts.Transaction, len(lines))
		for i, l := range lines {
			holds[i] = payouts.Hold(run.ID, l.ContributorID, l.AmountMicros)
		}
		_, err = tx.LedgerRecordMany(ctx, holds, now)
		return err
	})
	if err != nil {
		return PayoutRun{}, fmt.Errorf("creating payout run %q: %w", key, err)
	}
	if out.Created {
		s.obs.PayoutRunCreated()
	}
	return out, nil
}

// GetPayoutRun loads a run with its lines.
func (s *Service) GetPayoutRun(ctx context.Context, runID int64) (PayoutRun, error) {
	var out PayoutRun
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		if out.PayoutRun, err = tx.PayoutRunGet(ctx, runID); err != nil {
			return err
		}
		out.Lines, err = tx.PayoutLineList(ctx, runID)
		return err
	})
	return out, err
}

// ListPayoutRuns returns up to limit runs older than beforeID (0: the
// newest), newest first.
func (s *Service) ListPayoutRuns(ctx context.Context, beforeID int64, limit int) ([]store.PayoutRun, error) {
	if limit <= 0 || limit > MaxPayoutRunList {
		limit = MaxPayoutRunList
	}
	var runs []store.PayoutRun
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		runs, err = tx.PayoutRunList(ctx, beforeID, limit)
		return err
	})
	return runs, err
}

// PayoutFormat is a payout file's format.
type PayoutFormat string

const (
	PayoutCSV  PayoutFormat = "csv"
	PayoutJSON PayoutFormat = "json"
)

// PayoutFileName is the name a run's file has in each format.
func PayoutFileName(runID int64, f PayoutFormat) string {
	return fmt.Sprintf("payout-run-%d.%s", runID, f)
}

// PayoutRunFile renders a run's file for the processor, lines in id order:
// the same run always gives the same bytes. Handing the file out marks the
// run exported (the first time only).
func (s *Service) PayoutRunFile(ctx context.Context, runID int64, f PayoutFormat) ([]byte, error) {
	files, err := s.payoutRunFiles(ctx, runID)
	if err != nil {
		return nil, err
	}
	if err := s.markExported(ctx, runID); err != nil {
		return nil, err
	}
	return files[f], nil
}

func (s *Service) payoutRunFiles(ctx context.Context, runID int64) (map[PayoutFormat][]byte, error) {
	run, err := s.GetPayoutRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	lines := make([]payouts.PayoutLine, len(run.Lines))
	for i, l := range run.Lines {
		lines[i] = l.File()
	}
	var csvFile, jsonFile bytes.Buffer
	if err := payouts.WritePayoutCSV(&csvFile, lines); err != nil {
		return nil, fmt.Errorf("writing payout run %d as CSV: %w", runID, err)
	}
	if err := payouts.WritePayoutJSON(&jsonFile, lines); err != nil {
		return nil, fmt.Errorf("writing payout run %d as JSON: %w", runID, err)
	}
	return map[PayoutFormat][]byte{PayoutCSV: csvFile.Bytes(), PayoutJSON: jsonFile.Bytes()}, nil
}

func (s *Service) markExported(ctx context.Context, runID int64) error {
	return s.store.InTx(ctx, func(tx store.Tx) error {
		_, err := tx.PayoutRunExported(ctx, runID, s.now())
		return err
	})
}

// ExportPayoutRun writes a run's files, payout-run-R.csv and .json, into
// dir, each whole or not at all, and then marks the run exported. Running
// it again writes the same bytes. It returns the paths written.
func (s *Service) ExportPayoutRun(ctx context.Context, runID int64, dir string) ([]string, error) {
	files, err := s.payoutRunFiles(ctx, runID)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range []PayoutFormat{PayoutCSV, PayoutJSON} {
		path := filepath.Join(dir, PayoutFileName(runID, f))
		if err := writeFileAtomic(path, files[f]); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	if err := s.markExported(ctx, runID); err != nil {
		return nil, err
	}
	return paths, nil
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, so a reader never sees a partial file.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// PayoutImport is what an import of results did.
type PayoutImport struct {
	Run       store.PayoutRun
	Settled   int // lines newly paid
	Returned  int // lines newly failed, their money back in available
	Unchanged int // lines the file reports as they already were
}

// ImportPayoutResults applies the processor's result file (see
// payouts.ParsePayoutResults) to a run, in one transaction: a paid line is
// settled, a failed one returned. A line already in the state reported is
// left alone (a repeated import changes nothing); a line reported the
// other way from before is a conflict, and a line not of this run is
// invalid: either refuses the whole file.
func (s *Service) ImportPayoutResults(ctx context.Context, runID int64, data []byte) (PayoutImport, error) {
	results, err := payouts.ParsePayoutResults(data)
	if err != nil {
		return PayoutImport{}, workunits.Errorf(workunits.EINVALID, "%v", err)
	}
	var out PayoutImport
	now := s.now()
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.PayoutRunGet(ctx, runID); err != nil {
			return err
		}
		lines, err := tx.PayoutLineList(ctx, runID)
		if err != nil {
			return err
		}
		byID := make(map[int64]store.PayoutLine, len(lines))
		for _, l := range lines {
			byID[l.ID] = l
		}
		var txs []payouts.Transaction
		var updates []store.PayoutLineUpdate
		for _, r := range results {
			l, ok := byID[r.LineID]
			if !ok {
				return workunits.Errorf(workunits.EINVALID, "line_id %d is not a line of payout run %d", r.LineID, runID)
			}
			want, lt := store.PayoutLineSettled, payouts.Settle(runID, l.ContributorID, l.AmountMicros)
			if r.Status == payouts.ResultFailed {
				want, lt = store.PayoutLineReturned, payouts.Return(runID, l.ContributorID, l.AmountMicros)
			}
			switch l.State {
			case want:
				out.Unchanged++
				continue
			case store.PayoutLinePending:
			default:
				return workunits.Errorf(workunits.ECONFLICT, "payout line %d is already %s; the file reports it %s", l.ID, l.State, r.Status)
			}
			txs = append(txs, lt)
			updates = append(updates, store.PayoutLineUpdate{LineID: l.ID, State: want, Reference: r.Reference})
			if want == store.PayoutLineSettled {
				out.Settled++
			} else {
				out.Returned++
			}
		}
		if _, err := tx.LedgerRecordMany(ctx, txs, now); err != nil {
			return err
		}
		if err := tx.PayoutLineUpdateMany(ctx, runID, updates, now); err != nil {
			return err
		}
		out.Run, err = tx.PayoutRunGet(ctx, runID)
		return err
	})
	if err != nil {
		return PayoutImport{}, err
	}
	return out, nil
}

// ContributorPayouts returns a contributor's payout lines, newest first.
func (s *Service) ContributorPayouts(ctx context.Context, contributorID int64) ([]store.PayoutLine, error) {
	var lines []store.PayoutLine
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		lines, err = tx.PayoutLineListByContributor(ctx, contributorID)
		return err
	})
	return lines, err
}

// StatementEntry is one ledger entry on a contributor's accounts, with the
// account's balance after it.
type StatementEntry struct {
	At      time.Time
	Key     string
	Kind    string // from the key: reward, reserve, post, payout, settle, …
	Memo    string
	Account payouts.Account
	Amount  int64
	Balance int64
}

// ContributorStatement lists every entry on the contributor's accounts
// (contributor:C:*) in the order recorded, each with its account's running
// balance.
func (s *Service) ContributorStatement(ctx context.Context, contributorID int64) ([]StatementEntry, error) {
	var entries []store.LedgerEntry
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		entries, err = tx.LedgerEntryList(ctx, store.LedgerEntryListParams{Prefixes: []string{fmt.Sprintf("contributor:%d:", contributorID)}})
		return err
	})
	if err != nil {
		return nil, err
	}
	balances := map[payouts.Account]int64{}
	out := make([]StatementEntry, len(entries))
	for i, e := range entries {
		balances[e.Account] += e.Amount
		out[i] = StatementEntry{At: e.At, Key: e.Key, Kind: payouts.KeyKind(e.Key), Memo: e.Memo, Account: e.Account,
			Amount: e.Amount, Balance: balances[e.Account]}
	}
	return out, nil
}

// Spend is where a project's money went, read from the ledger.
type Spend struct {
	Funded       int64 // paid in
	Escrowed     int64 // set aside for jobs
	Contributors int64 // moved from escrow to contributors (rewards, reservations less voids), fees taken out
	Fees         int64 // the platform's fee on what contributors were paid
	Voided       int64 // reservations given back to escrow (invalid or unchecked results)
	Released     int64 // escrow returned to the budget when a job ended
	ClawedBack   int64 // taken back from contributors into the budget
}

// JobSpend is one job's part of a project's spend.
type JobSpend struct {
	JobID int64
	Spend
	Escrow int64 // still in escrow
}

// ProjectSpend is a project's spend in total and per job.
type ProjectSpend struct {
	ProjectID int64
	Budget    int64 // unspent
	Total     Spend
	Jobs      []JobSpend // in job id order
}

// ProjectSpend reads a project's spend from the ledger: the entries on its
// budget name its jobs (escrow:job:J), the entries on their escrows what
// went to contributors, and the posts of the tasks reserved there the fees.
func (s *Service) ProjectSpend(ctx context.Context, projectID int64) (ProjectSpend, error) {
	out := ProjectSpend{ProjectID: projectID}
	jobs := map[int64]*JobSpend{}
	job := func(key, name string) *JobSpend {
		id, _ := payouts.KeyID(key, name)
		if jobs[id] == nil {
			jobs[id] = &JobSpend{JobID: id}
		}
		return jobs[id]
	}
	err := s.store.InReadTx(ctx, func(tx store.Tx) error {
		if _, err := tx.ProjectGet(ctx, projectID); err != nil {
			return err
		}
		budget := payouts.ProjectBudget(projectID)
		onBudget, err := tx.LedgerEntryList(ctx, store.LedgerEntryListParams{Accounts: []payouts.Account{budget}})
		if err != nil {
			return err
		}
		for _, e := range onBudget {
			out.Budget += e.Amount
			switch payouts.KeyKind(e.Key) {
			case "fund":
				out.Total.Funded += e.Amount
			case "escrow":
				job(e.Key, "job").Escrowed -= e.Amount
			case "clawback":
				out.Total.ClawedBack += e.Amount
			}
		}
		escrows := make([]payouts.Account, 0, len(jobs))
		for id := range jobs {
			escrows = append(escrows, payouts.JobEscrow(id))
		}
		onEscrow, err := tx.LedgerEntryList(ctx, store.LedgerEntryListParams{Accounts: escrows})
		if err != nil {
			return err
		}
		taskJob := map[int64]int64{}
		var posts []string
		for _, e := range onEscrow {
			var id int64
			if _, err := fmt.Sscanf(string(e.Account), "job:%d:escrow", &id); err != nil || jobs[id] == nil {
				continue
			}
			j := jobs[id]
			j.Escrow += e.Amount
			switch payouts.KeyKind(e.Key) {
			case "release":
				j.Released -= e.Amount
			case "reward":
				j.Contributors -= e.Amount
			case "reserve":
				j.Contributors -= e.Amount
				if task, ok := payouts.KeyID(e.Key, "task"); ok {
					taskJob[task] = id
					posts = append(posts, fmt.Sprintf("post:task:%d", task))
				}
			case "void":
				j.Contributors -= e.Amount
				j.Voided += e.Amount
			}
		}
		if len(posts) == 0 {
			return nil
		}
		postEntries, err := tx.LedgerEntryList(ctx, store.LedgerEntryListParams{Keys: posts})
		if err != nil {
			return err
		}
		for _, e := range postEntries {
			if e.Account != payouts.PlatformFees {
				continue
			}
			task, _ := payouts.KeyID(e.Key, "task")
			if j := jobs[taskJob[task]]; j != nil {
				j.Fees += e.Amount
				j.Contributors -= e.Amount
			}
		}
		return nil
	})
	if err != nil {
		return ProjectSpend{}, err
	}
	for _, j := range jobs {
		out.Jobs = append(out.Jobs, *j)
		out.Total.Escrowed += j.Escrowed
		out.Total.Contributors += j.Contributors
		out.Total.Fees += j.Fees
		out.Total.Voided += j.Voided
		out.Total.Released += j.Released
	}
	slices.SortFunc(out.Jobs, func(a, b JobSpend) int { return cmp.Compare(a.JobID, b.JobID) })
	return out, nil
}
