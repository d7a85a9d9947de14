package service

import (
	"context"
	"fmt"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// WebPreferences returns the preferences a contributor set on the web for
// their workers; version 0 if they never set any.
func (s *Service) WebPreferences(ctx context.Context, contributorID int64) (store.ContributorPreferences, error) {
	var p store.ContributorPreferences
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		p, err = tx.ContributorPreferencesGet(ctx, contributorID)
		return err
	})
	if err != nil {
		return p, fmt.Errorf("loading web preferences: %w", err)
	}
	return p, nil
}

// SetWebPreferences replaces a contributor's web preferences (a field not
// set is no longer set) and bumps their version, which each of the
// contributor's workers sees at its next contact.
func (s *Service) SetWebPreferences(ctx context.Context, contributorID int64, prefs workunits.WebPreferences) (store.ContributorPreferences, error) {
	prefs = prefs.Normalized()
	if err := prefs.Validate(); err != nil {
		return store.ContributorPreferences{}, err
	}
	var p store.ContributorPreferences
	err := s.store.InTx(ctx, func(tx store.Tx) (err error) {
		p, err = tx.ContributorPreferencesPut(ctx, contributorID, prefs, s.now())
		return err
	})
	if err != nil {
		return p, fmt.Errorf("storing web preferences: %w", err)
	}
	s.log.Info("web preferences set", "contributor", contributorID, "version", p.Version, "fields", prefs.Set())
	return p, nil
}

// HostContact records the state a host's worker reports (as heard now)
// and answers with its contributor's web preferences. A blocked host is
// answered too: a worker that may not compute still says what it is doing.
func (s *Service) HostContact(ctx context.Context, host workunits.Host, state workunits.HostState) (store.ContributorPreferences, error) {
	state.At = s.now()
	if err := state.Validate(); err != nil {
		return store.ContributorPreferences{}, err
	}
	var p store.ContributorPreferences
	err := s.store.InTx(ctx, func(tx store.Tx) (err error) {
		if err := tx.HostStateSet(ctx, host.ID, state); err != nil {
			return err
		}
		p, err = tx.ContributorPreferencesGet(ctx, host.ContributorID)
		return err
	})
	if err != nil {
		return p, fmt.Errorf("recording the contact of host %d: %w", host.ID, err)
	}
	return p, nil
}

// HostStates returns the last state each given host reported; hosts that
// never reported one are left out.
func (s *Service) HostStates(ctx context.Context, hostIDs []int64) (map[int64]workunits.HostState, error) {
	var out map[int64]workunits.HostState
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		out, err = tx.HostStateGetMany(ctx, hostIDs)
		return err
	})
	return out, err
}
