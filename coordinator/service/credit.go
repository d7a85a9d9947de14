package service

import (
	"context"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// CheckOpsPerSecond refuses a benchmark that is not a positive, finite
// number of at most payouts.MaxOpsPerSecond operations per second.
func CheckOpsPerSecond(ops float64) error {
	if !(ops > 0 && ops <= payouts.MaxOpsPerSecond) { // NaN fails too
		return workunits.Errorf(workunits.EINVALID, "ops_per_second must be a number above 0 and at most %g, got %g",
			float64(payouts.MaxOpsPerSecond), ops)
	}
	return nil
}

// SetHostBenchmark records a host's benchmark (operations per second), used
// for the credit it claims from now on. Hosts send it with every request
// for work, so a value this coordinator has already stored is not written
// again.
func (s *Service) SetHostBenchmark(ctx context.Context, hostID int64, opsPerSecond float64) error {
	if err := CheckOpsPerSecond(opsPerSecond); err != nil {
		return err
	}
	if v, ok := s.benchmarks.Load(hostID); ok && v.(float64) == opsPerSecond {
		return nil
	}
	if err := s.store.InTx(ctx, func(tx store.Tx) error {
		return tx.HostOpsPerSecondSet(ctx, hostID, opsPerSecond)
	}); err != nil {
		return fmt.Errorf("recording the benchmark of host %d: %w", hostID, err)
	}
	s.benchmarks.Store(hostID, opsPerSecond)
	return nil
}

// grantCredit grants credit to the newly valid tasks of done units. When
// a unit has no granted credit yet (it just became done), every valid
// task claims payouts.ClaimedCredit from its CPU time and its host's
// benchmark, and all of them are granted the least claim, which is fixed
// on the unit; a task found valid later gets that same credit. Credit is
// work done, not money: nothing here touches the ledger.
func (s *Service) grantCredit(ctx context.Context, tx store.Tx, advanced []advancedUnit) error {
	var doneIDs []int64
	for _, a := range advanced {
		if len(a.Plan.NewlyValid) > 0 && a.Plan.Unit.State == workunits.UnitDone {
			doneIDs = append(doneIDs, a.Before.ID)
		}
	}
	if len(doneIDs) == 0 {
		return nil
	}
	granted, err := tx.UnitGrantedCreditMany(ctx, doneIDs)
	if err != nil {
		return err
	}
	// The units to grant for the first time, and what their claims need.
	var fresh []advancedUnit
	var hostIDs, versionIDs []int64
	for _, a := range advanced {
		if _, ok := granted[a.Before.ID]; ok || len(a.Plan.NewlyValid) == 0 || a.Plan.Unit.State != workunits.UnitDone {
			continue
		}
		fresh = append(fresh, a)
		versionIDs = append(versionIDs, a.Job.AppVersionID)
		for _, t := range a.Tasks {
			if t.ValidateState == workunits.ValidateValid {
				hostIDs = append(hostIDs, t.HostID)
			}
		}
	}
	var grants []store.CreditGrant
	if len(fresh) > 0 {
		ops, err := tx.HostOpsPerSecondMany(ctx, dedupe(hostIDs))
		if err != nil {
			return err
		}
		estimates, err := tx.AppVersionEstimatesMany(ctx, dedupe(versionIDs))
		if err != nil {
			return err
		}
		set := make(map[int64]float64, len(fresh))
		for _, a := range fresh {
			var claims []float64
			var valid []int64
			for _, t := range a.Tasks {
				if t.ValidateState == workunits.ValidateValid {
					claims = append(claims, payouts.ClaimedCredit(t.CPUTime, ops[t.HostID], estimates[a.Job.AppVersionID].Ops))
					valid = append(valid, t.ID)
				}
			}
			g := payouts.GrantedCredit(claims)
			set[a.Before.ID] = g
			for _, id := range valid {
				grants = append(grants, store.CreditGrant{TaskID: id, Credit: g})
			}
		}
		if err := tx.UnitGrantedCreditSetMany(ctx, set); err != nil {
			return err
		}
	}
	for _, a := range advanced {
		g, ok := granted[a.Before.ID]
		if !ok {
			continue
		}
		for _, t := range a.Plan.NewlyValid {
			grants = append(grants, store.CreditGrant{TaskID: t.ID, Credit: g})
		}
	}
	return tx.CreditGrantMany(ctx, grants, s.now())
}

// ContributorCredit returns a contributor's credit and their hosts'.
func (s *Service) ContributorCredit(ctx context.Context, contributorID int64) (store.ContributorCredit, error) {
	var c store.ContributorCredit
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		c, err = tx.ContributorCreditGet(ctx, contributorID, s.now())
		return err
	})
	return c, err
}

// MaxTeamName and MaxTeamDescription bound what a team says of itself.
const (
	MaxTeamName        = 64
	MaxTeamDescription = 1000
)

// CreateTeam creates a team and puts its creator in it (leaving any other
// team). Names are unique whatever their case: a taken one is ECONFLICT.
func (s *Service) CreateTeam(ctx context.Context, contributorID int64, name, description string) (store.Team, error) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxTeamName {
		return store.Team{}, workunits.Errorf(workunits.EINVALID, "name must be 1 to %d characters of text", MaxTeamName)
	}
	if !utf8.ValidString(description) || utf8.RuneCountInString(description) > MaxTeamDescription {
		return store.Team{}, workunits.Errorf(workunits.EINVALID, "description must be at most %d characters of text", MaxTeamDescription)
	}
	var tm store.Team
	err := s.store.InTx(ctx, func(tx store.Tx) (err error) {
		now := s.now()
		created, err := tx.TeamInsert(ctx, store.TeamInsertParams{Name: name, Description: description, CreatedBy: contributorID, Now: now})
		if err != nil {
			return err
		}
		if err := tx.TeamJoin(ctx, contributorID, created.ID); err != nil {
			return err
		}
		tm, err = tx.TeamGet(ctx, created.ID, now)
		return err
	})
	if err != nil {
		return tm, fmt.Errorf("creating team: %w", err)
	}
	return tm, nil
}

// JoinTeam puts a contributor in a team, leaving any other.
func (s *Service) JoinTeam(ctx context.Context, contributorID, teamID int64) error {
	return s.store.InTx(ctx, func(tx store.Tx) error { return tx.TeamJoin(ctx, contributorID, teamID) })
}

// LeaveTeam takes a contributor out of their team; it is no error if they
// are in none.
func (s *Service) LeaveTeam(ctx context.Context, contributorID int64) error {
	return s.store.InTx(ctx, func(tx store.Tx) error { return tx.TeamLeave(ctx, contributorID) })
}

// Team returns a team with its members, highest RAC first.
func (s *Service) Team(ctx context.Context, teamID int64) (store.Team, []store.CreditStanding, error) {
	var tm store.Team
	var members []store.CreditStanding
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		now := s.now()
		if tm, err = tx.TeamGet(ctx, teamID, now); err != nil {
			return err
		}
		members, err = tx.TeamMemberList(ctx, teamID, now)
		return err
	})
	return tm, members, err
}

// checkPage refuses a page out of range.
func checkPage(offset, limit int) error {
	if limit < 1 || limit > MaxListLimit {
		return workunits.Errorf(workunits.EINVALID, "limit must be between 1 and %d, got %d", MaxListLimit, limit)
	}
	if offset < 0 || offset > math.MaxInt32 {
		return workunits.Errorf(workunits.EINVALID, "offset out of range")
	}
	return nil
}

// Teams returns up to limit teams by RAC, after the first offset, and
// whether more follow. Ranks shift as RAC decays, so a page boundary is a
// rank, not a team.
func (s *Service) Teams(ctx context.Context, offset, limit int) (teams []store.Team, more bool, err error) {
	if err := checkPage(offset, limit); err != nil {
		return nil, false, err
	}
	err = s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		teams, err = tx.TeamList(ctx, offset, limit+1, s.now())
		return err
	})
	if len(teams) > limit {
		teams, more = teams[:limit], true
	}
	return teams, more, err
}

// Leaderboard returns up to limit contributors that earned credit, by
// RAC, after the first offset, and whether more follow.
func (s *Service) Leaderboard(ctx context.Context, offset, limit int) (board []store.CreditStanding, more bool, err error) {
	if err := checkPage(offset, limit); err != nil {
		return nil, false, err
	}
	err = s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		board, err = tx.ContributorLeaderboard(ctx, offset, limit+1, s.now())
		return err
	})
	if len(board) > limit {
		board, more = board[:limit], true
	}
	return board, more, err
}
