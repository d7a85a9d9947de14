package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testHostContact(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("PreferencesVersioned", func(t *testing.T) {
		s := setup(t, newStore)
		var a, b workunits.Contributor
		inTx(t, s, func(tx store.Tx, f *factory) error {
			a, b = f.Contributor(), f.Contributor()
			got, err := tx.ContributorPreferencesGet(t.Context(), a.ID)
			if err != nil {
				return err
			}
			if want := (store.ContributorPreferences{ContributorID: a.ID}); !reflect.DeepEqual(got, want) {
				t.Errorf("never set: %+v, want %+v", got, want)
			}
			return nil
		})
		idle, cpu, battery, anyTime := 7.5, 40.0, true, ""
		first := workunits.WebPreferences{IdleMinutes: &idle, MaxOtherCPUPercent: &cpu, RunOnBattery: &battery, ActiveHours: &anyTime}
		hours := "mon-fri 18:00-08:00"
		second := workunits.WebPreferences{ActiveHours: &hours}
		for i, p := range []workunits.WebPreferences{first, second} {
			at := t0.Add(time.Duration(i) * time.Minute)
			inTx(t, s, func(tx store.Tx, f *factory) error {
				put, err := tx.ContributorPreferencesPut(t.Context(), a.ID, p, at)
				if err != nil {
					return err
				}
				if put.Version != int64(i+1) || !sameMS(put.UpdatedAt, at) || !reflect.DeepEqual(put.Preferences, p) {
					t.Errorf("put %d returned %+v, want version %d at %v", i+1, put, i+1, at)
				}
				return nil
			})
			err := s.InReadTx(t.Context(), func(tx store.Tx) error {
				got, err := tx.ContributorPreferencesGet(t.Context(), a.ID)
				if err != nil {
					return err
				}
				// An empty active hours (any time) must come back set, not
				// lost as if never set.
				if got.Version != int64(i+1) || !sameMS(got.UpdatedAt, at) || !reflect.DeepEqual(got.Preferences, p) {
					t.Errorf("after put %d: %+v (%s), want version %d, %s", i+1, got, show(got.Preferences), i+1, show(p))
				}
				other, err := tx.ContributorPreferencesGet(t.Context(), b.ID)
				if err != nil {
					return err
				}
				if other.Version != 0 || len(other.Preferences.Set()) != 0 {
					t.Errorf("another contributor's preferences changed: %+v", other)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("PreferencesUnknownContributor", func(t *testing.T) {
		s := setup(t, newStore)
		err := s.InTx(t.Context(), func(tx store.Tx) error {
			_, err := tx.ContributorPreferencesPut(t.Context(), 987654, workunits.WebPreferences{}, t0)
			return err
		})
		wantCode(t, err, workunits.ENOTFOUND)
	})

	t.Run("HostStateLatestWins", func(t *testing.T) {
		s := setup(t, newStore)
		var a, b workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c := f.Contributor()
			a, b = f.Host(c.ID), f.Host(c.ID)
			got, err := tx.HostStateGetMany(t.Context(), []int64{a.ID, b.ID})
			if err == nil && len(got) != 0 {
				t.Errorf("fresh hosts have states %+v", got)
			}
			return err
		})
		suspended := workunits.HostState{State: workunits.HostSuspended, Reason: "on_battery", Detail: "on battery power",
			TasksRunning: 2, At: t0}
		running := workunits.HostState{State: workunits.HostRunning, Reason: "running", Detail: "the PC is idle",
			TasksRunning: 3, At: t0.Add(time.Minute)}
		late := workunits.HostState{State: workunits.HostIdle, At: t0.Add(30 * time.Second)} // heard before running, written after
		for _, st := range []workunits.HostState{suspended, running, late} {
			inTx(t, s, func(tx store.Tx, f *factory) error { return tx.HostStateSet(t.Context(), a.ID, st) })
		}
		err := s.InReadTx(t.Context(), func(tx store.Tx) error {
			got, err := tx.HostStateGetMany(t.Context(), []int64{a.ID, b.ID, a.ID})
			if err != nil {
				return err
			}
			if len(got) != 1 || !sameHostState(got[a.ID], running) {
				t.Errorf("states = %+v, want only host %d's latest, %+v", got, a.ID, running)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("HostStateUnknownHost", func(t *testing.T) {
		s := setup(t, newStore)
		err := s.InTx(t.Context(), func(tx store.Tx) error {
			return tx.HostStateSet(t.Context(), 987654, workunits.HostState{State: workunits.HostIdle, At: t0})
		})
		wantCode(t, err, workunits.ENOTFOUND)
		err = s.InReadTx(t.Context(), func(tx store.Tx) error {
			got, err := tx.HostStateGetMany(t.Context(), nil)
			if err == nil && len(got) != 0 {
				t.Errorf("no hosts asked, got %+v", got)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func sameHostState(a, b workunits.HostState) bool {
	a.At, b.At = ms(a.At), ms(b.At)
	return a == b
}

func show(p workunits.WebPreferences) string {
	out := ""
	for _, f := range p.Set() {
		out += f + " "
	}
	return "set: " + out
}
