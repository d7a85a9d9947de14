package storetest

import (
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Account makes a contributor who signs in with email; the password hash
// is "hash of " + email.
func (f *factory) Account(email string) workunits.Contributor {
	f.t.Helper()
	c, err := f.tx.ContributorInsert(f.ctx, store.ContributorInsertParams{Name: email, KeyHash: "account-key-" + email,
		Now: t0, Email: email, PasswordHash: "hash of " + email, DisplayName: "shown " + email})
	f.fail("inserting account", err)
	return c
}

func testSessions(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("AccountInsertGet", func(t *testing.T) {
		s := setup(t, newStore)
		var inserted workunits.Contributor
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			inserted, err = tx.ContributorInsert(t.Context(), store.ContributorInsertParams{Name: "Ada", KeyHash: "ck-ada", Now: t0,
				Email: "Ada@Example.org", PasswordHash: "$2a$10$hash", DisplayName: "Ada L."})
			return err
		})
		want := workunits.Contributor{ID: inserted.ID, Name: "Ada", CreatedAt: ms(t0), Email: "Ada@Example.org", DisplayName: "Ada L."}
		if inserted.ID == 0 || inserted != want {
			t.Errorf("ContributorInsert = %+v, want %+v", inserted, want)
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			login, err := tx.ContributorGetByEmail(t.Context(), "ada@EXAMPLE.org")
			if err != nil {
				return err
			}
			if login.Contributor != want || login.PasswordHash != "$2a$10$hash" {
				t.Errorf("ContributorGetByEmail = %+v, want %+v with the password hash", login, want)
			}
			byID, err := tx.ContributorGet(t.Context(), inserted.ID)
			if err != nil {
				return err
			}
			byKey, err := tx.ContributorGetByKeyHash(t.Context(), "ck-ada")
			if err != nil {
				return err
			}
			for name, got := range map[string]workunits.Contributor{"ContributorGet": byID, "ContributorGetByKeyHash": byKey} {
				if got != want {
					t.Errorf("%s = %+v, want %+v", name, got, want)
				}
			}
			_, err = tx.ContributorGet(t.Context(), inserted.ID+1000)
			wantCode(t, err, workunits.ENOTFOUND)
			_, err = tx.ContributorGetByEmail(t.Context(), "bob@example.org")
			wantCode(t, err, workunits.ENOTFOUND)
			return nil
		})
	})

	t.Run("EmailUniqueWithoutCase", func(t *testing.T) {
		s := setup(t, newStore)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			f.Account("ada@example.org")
			// Contributors made through the API have no email; any number may.
			f.Contributor()
			f.Contributor()
			return nil
		})
		wantTxCode(t, s, workunits.ECONFLICT, func(tx store.Tx) error {
			_, err := tx.ContributorInsert(t.Context(), store.ContributorInsertParams{Name: "x", KeyHash: "other-key", Now: t0,
				Email: "ADA@example.org", PasswordHash: "h"})
			return err
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			// The refused insert left nothing behind, and an empty email finds no one.
			if _, err := tx.ContributorGetByKeyHash(t.Context(), "other-key"); workunits.ErrorCode(err) != workunits.ENOTFOUND {
				t.Errorf("the refused contributor was stored: %v", err)
			}
			_, err := tx.ContributorGetByEmail(t.Context(), "")
			wantCode(t, err, workunits.ENOTFOUND)
			return nil
		})
	})

	t.Run("KeyAndProfile", func(t *testing.T) {
		s := setup(t, newStore)
		var c workunits.Contributor
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c = f.Account("ada@example.org")
			if c.LeaderboardOptIn {
				t.Errorf("a new account is on the leaderboard: %+v", c)
			}
			return tx.ContributorKeyHashSet(t.Context(), c.ID, "new-key")
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			if _, err := tx.ContributorGetByKeyHash(t.Context(), "account-key-ada@example.org"); workunits.ErrorCode(err) != workunits.ENOTFOUND {
				t.Errorf("the replaced key still finds the contributor: %v", err)
			}
			got, err := tx.ContributorGetByKeyHash(t.Context(), "new-key")
			if err != nil || got.ID != c.ID {
				t.Errorf("ContributorGetByKeyHash(new key) = %+v, %v; want contributor %d", got, err, c.ID)
			}
			wantCode(t, tx.ContributorKeyHashSet(t.Context(), c.ID+1000, "k"), workunits.ENOTFOUND)

			updated, err := tx.ContributorProfileSet(t.Context(), store.ContributorProfileParams{ID: c.ID, DisplayName: "Night owl", LeaderboardOptIn: true})
			if err != nil {
				return err
			}
			want := c
			want.DisplayName, want.LeaderboardOptIn = "Night owl", true
			if updated != want {
				t.Errorf("ContributorProfileSet = %+v, want %+v", updated, want)
			}
			if got, err := tx.ContributorGet(t.Context(), c.ID); err != nil || got != want {
				t.Errorf("ContributorGet after ContributorProfileSet = %+v, %v; want %+v", got, err, want)
			}
			_, err = tx.ContributorProfileSet(t.Context(), store.ContributorProfileParams{ID: c.ID + 1000})
			wantCode(t, err, workunits.ENOTFOUND)
			return nil
		})
	})

	t.Run("SessionLifecycle", func(t *testing.T) {
		s := setup(t, newStore)
		var c workunits.Contributor
		var inserted store.Session
		now := t0.Add(1234567 * time.Nanosecond)
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			c = f.Account("ada@example.org")
			inserted, err = tx.SessionInsert(t.Context(), store.SessionInsertParams{TokenHash: "th-1", ContributorID: c.ID,
				CSRFSecret: "csrf-1", Now: now, ExpiresAt: now.Add(time.Hour)})
			return err
		})
		want := store.Session{TokenHash: "th-1", ContributorID: c.ID, CSRFSecret: "csrf-1", CreatedAt: ms(now),
			ExpiresAt: ms(now.Add(time.Hour)), LastSeenAt: ms(now)}
		if inserted != want {
			t.Errorf("SessionInsert = %+v, want %+v", inserted, want)
		}
		wantTxCode(t, s, workunits.ECONFLICT, func(tx store.Tx) error {
			_, err := tx.SessionInsert(t.Context(), store.SessionInsertParams{TokenHash: "th-1", ContributorID: c.ID,
				CSRFSecret: "other", Now: now, ExpiresAt: now.Add(time.Hour)})
			return err
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.SessionGet(t.Context(), "th-1")
			if err != nil || got != want {
				t.Errorf("SessionGet = %+v, %v; want %+v (the refused insert changes nothing)", got, err, want)
			}
			_, err = tx.SessionGet(t.Context(), "th-none")
			wantCode(t, err, workunits.ENOTFOUND)

			// Touching slides the expiry forward and never back.
			later := now.Add(10 * time.Minute)
			if err := tx.SessionTouch(t.Context(), "th-1", later, later.Add(time.Hour)); err != nil {
				return err
			}
			if err := tx.SessionTouch(t.Context(), "th-1", now, now); err != nil {
				return err
			}
			got, err = tx.SessionGet(t.Context(), "th-1")
			if err != nil {
				return err
			}
			if !sameMS(got.LastSeenAt, later) || !sameMS(got.ExpiresAt, later.Add(time.Hour)) || !sameMS(got.CreatedAt, now) {
				t.Errorf("after touches, session = %+v; want last seen %v, expiring %v", got, ms(later), ms(later.Add(time.Hour)))
			}
			wantCode(t, tx.SessionTouch(t.Context(), "th-none", now, now), workunits.ENOTFOUND)

			if err := tx.SessionDelete(t.Context(), "th-1"); err != nil {
				return err
			}
			_, err = tx.SessionGet(t.Context(), "th-1")
			wantCode(t, err, workunits.ENOTFOUND)
			return tx.SessionDelete(t.Context(), "th-1") // already gone: no error
		})
	})

	t.Run("SessionDeleteExpired", func(t *testing.T) {
		s := setup(t, newStore)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c := f.Account("ada@example.org")
			for name, expires := range map[string]time.Time{"past": t0.Add(-time.Second), "now": t0, "future": t0.Add(time.Millisecond)} {
				if _, err := tx.SessionInsert(t.Context(), store.SessionInsertParams{TokenHash: name, ContributorID: c.ID,
					CSRFSecret: "c", Now: t0.Add(-time.Hour), ExpiresAt: expires}); err != nil {
					return err
				}
			}
			return nil
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			n, err := tx.SessionDeleteExpired(t.Context(), t0)
			if err != nil {
				return err
			}
			if n != 2 {
				t.Errorf("SessionDeleteExpired removed %d sessions, want 2 (expiring before and at now)", n)
			}
			for name, kept := range map[string]bool{"past": false, "now": false, "future": true} {
				_, err := tx.SessionGet(t.Context(), name)
				if (err == nil) != kept {
					t.Errorf("session %q: SessionGet error %v, want kept = %v", name, err, kept)
				}
			}
			return nil
		})
	})
}
