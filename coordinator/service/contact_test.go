package service

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

func TestWebPreferencesReachTheContributorsHosts(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	alice, aliceHost := b.host(t, "alice")
	_, bobHost := b.host(t, "bob")

	got, err := b.svc.HostContact(ctx, aliceHost, workunits.HostState{State: workunits.HostIdle})
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 0 || len(got.Preferences.Set()) != 0 {
		t.Fatalf("before any are set, a contact answers %+v", got)
	}

	idle, hours := 12.0, "  mon-fri 18:00-08:00 "
	set, err := b.svc.SetWebPreferences(ctx, alice.ID, workunits.WebPreferences{IdleMinutes: &idle, ActiveHours: &hours})
	if err != nil {
		t.Fatal(err)
	}
	if set.Version != 1 || *set.Preferences.ActiveHours != "mon-fri 18:00-08:00" {
		t.Errorf("set returned %+v, want version 1 and trimmed active hours", set)
	}
	b.now = b.now.Add(time.Minute)
	battery := true
	if set, err = b.svc.SetWebPreferences(ctx, alice.ID, workunits.WebPreferences{RunOnBattery: &battery}); err != nil {
		t.Fatal(err)
	}
	if set.Version != 2 || !set.UpdatedAt.Equal(b.now) {
		t.Errorf("second set returned %+v, want version 2 at %v", set, b.now)
	}

	b.now = b.now.Add(time.Minute)
	state := workunits.HostState{State: workunits.HostSuspended, Reason: "user_active", Detail: "input 3s ago", TasksRunning: 1}
	got, err = b.svc.HostContact(ctx, aliceHost, state)
	if err != nil {
		t.Fatal(err)
	}
	want := workunits.WebPreferences{RunOnBattery: &battery} // replaced, not merged
	if got.Version != 2 || !reflect.DeepEqual(got.Preferences, want) {
		t.Errorf("contact answered %+v, want version 2 with only run_on_battery", got)
	}
	if other, err := b.svc.HostContact(ctx, bobHost, workunits.HostState{State: workunits.HostRunning, TasksRunning: 1}); err != nil || other.Version != 0 {
		t.Errorf("another contributor's host got %+v, %v; want no preferences", other, err)
	}
	states, err := b.svc.HostStates(ctx, []int64{aliceHost.ID, bobHost.ID})
	if err != nil {
		t.Fatal(err)
	}
	state.At = b.now
	if states[aliceHost.ID] != state || states[bobHost.ID].State != workunits.HostRunning {
		t.Errorf("states = %+v, want alice's %+v", states, state)
	}
	read, err := b.svc.WebPreferences(ctx, alice.ID)
	if err != nil || read.Version != 2 {
		t.Errorf("WebPreferences = %+v, %v", read, err)
	}
}

func TestWebPreferencesAndStatesRefuseBadInput(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	alice, host := b.host(t, "alice")
	bad := -3.0
	hours := "tomorrow"
	_, err := b.svc.SetWebPreferences(ctx, alice.ID, workunits.WebPreferences{IdleMinutes: &bad, ActiveHours: &hours})
	if workunits.ErrorCode(err) != workunits.EINVALID {
		t.Errorf("bad preferences: %v, want invalid", err)
	}
	if p, _ := b.svc.WebPreferences(ctx, alice.ID); p.Version != 0 {
		t.Errorf("refused preferences were stored: %+v", p)
	}
	if _, err := b.svc.SetWebPreferences(ctx, 987654, workunits.WebPreferences{}); workunits.ErrorCode(err) != workunits.ENOTFOUND {
		t.Errorf("unknown contributor: %v, want not found", err)
	}
	_, err = b.svc.HostContact(ctx, host, workunits.HostState{State: "dreaming"})
	if workunits.ErrorCode(err) != workunits.EINVALID {
		t.Errorf("bad state: %v, want invalid", err)
	}
	if states, _ := b.svc.HostStates(ctx, []int64{host.ID}); len(states) != 0 {
		t.Errorf("a refused state was stored: %+v", states)
	}
}
