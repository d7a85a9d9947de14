package storetest

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testAccounts(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("ProjectInsertGet", func(t *testing.T) {
		s := setup(t, newStore)
		now := t0.Add(1234567 * time.Nanosecond) // stored to the millisecond
		var inserted workunits.Project
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			inserted, err = tx.ProjectInsert(t.Context(), store.ProjectInsertParams{Name: "Protein folding", KeyHash: "kh-1", Now: now})
			return err
		})
		if inserted.ID == 0 || inserted.Name != "Protein folding" || !sameMS(inserted.CreatedAt, now) {
			t.Errorf("ProjectInsert = %+v, want an id, the name and CreatedAt %v", inserted, ms(now))
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			byHash, err := tx.ProjectGetByKeyHash(t.Context(), "kh-1")
			if err != nil {
				return err
			}
			byID, err := tx.ProjectGet(t.Context(), inserted.ID)
			if err != nil {
				return err
			}
			for name, got := range map[string]workunits.Project{"ProjectGetByKeyHash": byHash, "ProjectGet": byID} {
				if got.ID != inserted.ID || got.Name != inserted.Name || !sameMS(got.CreatedAt, inserted.CreatedAt) {
					t.Errorf("%s = %+v, want %+v", name, got, inserted)
				}
			}
			return nil
		})
	})

	t.Run("ContributorInsertGet", func(t *testing.T) {
		s := setup(t, newStore)
		var inserted workunits.Contributor
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			inserted, err = tx.ContributorInsert(t.Context(), store.ContributorInsertParams{Name: "Ada", KeyHash: "ck-1", Now: t0})
			return err
		})
		if inserted.ID == 0 || inserted.Name != "Ada" || !sameMS(inserted.CreatedAt, t0) {
			t.Errorf("ContributorInsert = %+v, want an id, the name and CreatedAt %v", inserted, t0)
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.ContributorGetByKeyHash(t.Context(), "ck-1")
			if err != nil {
				return err
			}
			if got.ID != inserted.ID || got.Name != inserted.Name || !sameMS(got.CreatedAt, inserted.CreatedAt) {
				t.Errorf("ContributorGetByKeyHash = %+v, want %+v", got, inserted)
			}
			return nil
		})
	})

	t.Run("HostInsertGet", func(t *testing.T) {
		s := setup(t, newStore)
		var inserted workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			c := f.Contributor()
			inserted, err = tx.HostInsert(t.Context(), store.HostInsertParams{ContributorID: c.ID, Name: "attic",
				Platform: "windows/amd64", Cores: 16, TokenHash: "ht-1", Now: t0})
			return err
		})
		if inserted.ID == 0 || inserted.Name != "attic" || inserted.Platform != "windows/amd64" || inserted.Cores != 16 ||
			!sameMS(inserted.CreatedAt, t0) || !sameMS(inserted.LastContactAt, t0) {
			t.Errorf("HostInsert = %+v, want its fields with CreatedAt and LastContactAt %v", inserted, t0)
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.HostGetByTokenHash(t.Context(), "ht-1")
			if err != nil {
				return err
			}
			if got.ID != inserted.ID || got.ContributorID != inserted.ContributorID || got.Name != inserted.Name ||
				got.Platform != inserted.Platform || got.Cores != inserted.Cores ||
				!sameMS(got.CreatedAt, inserted.CreatedAt) || !sameMS(got.LastContactAt, inserted.LastContactAt) {
				t.Errorf("HostGetByTokenHash = %+v, want %+v", got, inserted)
			}
			return nil
		})
	})

	t.Run("NotFound", func(t *testing.T) {
		s := setup(t, newStore)
		var p workunits.Project
		inTx(t, s, func(tx store.Tx, f *factory) error {
			p = f.Project()
			f.Host(f.Contributor().ID)
			return nil
		})
		tests := []struct {
			name string
			get  func(store.Tx) error
		}{
			{"ProjectGet", func(tx store.Tx) error { _, err := tx.ProjectGet(t.Context(), p.ID+1000); return err }},
			{"ProjectGetByKeyHash", func(tx store.Tx) error { _, err := tx.ProjectGetByKeyHash(t.Context(), "no-such-key"); return err }},
			{"ContributorGetByKeyHash", func(tx store.Tx) error { _, err := tx.ContributorGetByKeyHash(t.Context(), "no-such-key"); return err }},
			{"HostGetByTokenHash", func(tx store.Tx) error { _, err := tx.HostGetByTokenHash(t.Context(), "no-such-token"); return err }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.InTx(t.Context(), tt.get)
				wantCode(t, err, workunits.ENOTFOUND)
			})
		}
	})

	t.Run("DuplicateKeyHash", func(t *testing.T) {
		s := setup(t, newStore)
		var c workunits.Contributor
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c = f.Contributor()
			return nil
		})
		tests := []struct {
			name   string
			insert func(store.Tx) error
		}{
			{"Project", func(tx store.Tx) error {
				_, err := tx.ProjectInsert(t.Context(), store.ProjectInsertParams{Name: "p", KeyHash: "dup", Now: t0})
				return err
			}},
			{"Contributor", func(tx store.Tx) error {
				_, err := tx.ContributorInsert(t.Context(), store.ContributorInsertParams{Name: "c", KeyHash: "dup", Now: t0})
				return err
			}},
			{"Host", func(tx store.Tx) error {
				_, err := tx.HostInsert(t.Context(), store.HostInsertParams{ContributorID: c.ID, Name: "h", Platform: "linux/arm64",
					Cores: 4, TokenHash: "dup", Now: t0})
				return err
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := s.InTx(t.Context(), tt.insert); err != nil {
					t.Fatalf("first insert: %v", err)
				}
				if err := s.InTx(t.Context(), tt.insert); err == nil {
					t.Errorf("second insert with the same hash succeeded, want an error")
				}
			})
		}
	})

	t.Run("HostTouchMany", func(t *testing.T) {
		s := setup(t, newStore)
		var h, other workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c := f.Contributor()
			h, other = f.Host(c.ID), f.Host(c.ID)
			return nil
		})
		later := t0.Add(90*time.Minute + 999*time.Microsecond)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			return tx.HostTouchMany(t.Context(), map[int64]time.Time{h.ID: later, other.ID: t0.Add(time.Minute)})
		})
		// A contact flushed late never moves a host back in time.
		inTx(t, s, func(tx store.Tx, f *factory) error {
			return tx.HostTouchMany(t.Context(), map[int64]time.Time{h.ID: later.Add(-time.Minute)})
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			for _, tt := range []struct {
				host workunits.Host
				want time.Time
			}{{h, later}, {other, t0.Add(time.Minute)}} {
				got, err := tx.HostGetByTokenHash(t.Context(), hostToken(tt.host))
				if err != nil {
					return err
				}
				if !sameMS(got.LastContactAt, tt.want) {
					t.Errorf("host %d: LastContactAt = %v, want %v", tt.host.ID, got.LastContactAt, tt.want)
				}
			}
			return nil
		})
	})

	t.Run("HostContributorMany", func(t *testing.T) {
		s := setup(t, newStore)
		want := map[int64]int64{}
		var unasked workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			a, b := f.Contributor(), f.Contributor()
			for _, c := range []workunits.Contributor{a, a, b} {
				want[f.Host(c.ID).ID] = c.ID
			}
			unasked = f.Host(b.ID)
			return nil
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			ids := append(slices.Collect(maps.Keys(want)), unasked.ID+1000) // an unknown host is left out
			got, err := tx.HostContributorMany(t.Context(), ids)
			if err != nil {
				return err
			}
			if !maps.Equal(got, want) {
				t.Errorf("HostContributorMany = %v, want %v", got, want)
			}
			none, err := tx.HostContributorMany(t.Context(), nil)
			if err != nil {
				return err
			}
			if len(none) != 0 {
				t.Errorf("HostContributorMany(nil) = %v, want empty", none)
			}
			return nil
		})
	})
}
