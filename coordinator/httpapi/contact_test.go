package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/workunits"
)

func TestHostContactAndWebPreferencesHTTP(t *testing.T) {
	b := setupFair(t)
	ctx := context.Background()
	c, err := b.operator.WithKey("").CreateContributor(ctx, "grace")
	if err != nil {
		t.Fatal(err)
	}
	account := b.operator.WithKey(c.AccountKey)
	h, err := account.RegisterHost(ctx, api.RegisterHostRequest{Name: "laptop", Platform: "test", Cores: 2})
	if err != nil {
		t.Fatal(err)
	}
	host := b.operator.WithKey(h.HostToken)

	if p, err := account.WebPreferences(ctx); err != nil || p.Version != 0 || p.UpdatedAt != nil || len(p.Preferences.Set()) != 0 {
		t.Fatalf("GET preferences before any = %+v, %v", p, err)
	}

	// Bad input: 4xx with a JSON body saying what is wrong, and nothing stored.
	for _, tt := range []struct {
		name, method, path, key, body string
		want                          int
		wantMsg                       string
	}{
		{"idle out of range", "PUT", "/api/v1/contributor/preferences", c.AccountKey, `{"idle_minutes": 5000}`, 400, "idle_minutes"},
		{"cpu zero", "PUT", "/api/v1/contributor/preferences", c.AccountKey, `{"max_other_cpu_percent": 0}`, 400, "max_other_cpu_percent"},
		{"bad hours", "PUT", "/api/v1/contributor/preferences", c.AccountKey, `{"active_hours": "weekends"}`, 400, "active hours"},
		{"slots are not web-settable", "PUT", "/api/v1/contributor/preferences", c.AccountKey, `{"max_cores_percent": 50}`, 400, "unknown field"},
		{"wrong type", "PUT", "/api/v1/contributor/preferences", c.AccountKey, `{"run_on_battery": "yes"}`, 400, "run_on_battery"},
		{"not JSON", "PUT", "/api/v1/contributor/preferences", c.AccountKey, `idle=5`, 400, "malformed JSON"},
		{"a host token", "PUT", "/api/v1/contributor/preferences", h.HostToken, `{}`, 401, "account key"},
		{"no key", "GET", "/api/v1/contributor/preferences", "", ``, 401, "missing credentials"},
		{"unknown state", "POST", "/api/v1/host/contact", h.HostToken, `{"state": "asleep", "tasks_running": 0}`, 400, "state must be"},
		{"no state", "POST", "/api/v1/host/contact", h.HostToken, `{"tasks_running": 0}`, 400, "state must be"},
		{"bad reason", "POST", "/api/v1/host/contact", h.HostToken, `{"state": "suspended", "reason": "User Active", "tasks_running": 0}`, 400, "reason"},
		{"negative tasks", "POST", "/api/v1/host/contact", h.HostToken, `{"state": "idle", "tasks_running": -1}`, 400, "tasks_running"},
		{"bad benchmark", "POST", "/api/v1/host/contact", h.HostToken, `{"state": "idle", "tasks_running": 0, "ops_per_second": -5}`, 400, "ops_per_second"},
		{"detail too long", "POST", "/api/v1/host/contact", h.HostToken, `{"state": "idle", "tasks_running": 0, "detail": "` + strings.Repeat("x", 501) + `"}`, 400, "detail"},
		{"unknown field", "POST", "/api/v1/host/contact", h.HostToken, `{"state": "idle", "tasks_running": 0, "mood": "happy"}`, 400, "unknown field"},
		{"an account key", "POST", "/api/v1/host/contact", c.AccountKey, `{"state": "idle", "tasks_running": 0}`, 401, "host token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, msg := b.call(t, tt.method, tt.path, tt.key, tt.body)
			if status != tt.want || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("%s %s %s = %d %q, want %d mentioning %q", tt.method, tt.path, tt.body, status, msg, tt.want, tt.wantMsg)
			}
		})
	}
	if p, err := account.WebPreferences(ctx); err != nil || p.Version != 0 {
		t.Errorf("after refused PUTs, preferences = %+v, %v; want none stored", p, err)
	}

	idle, hours := 20.0, "sat,sun 00:00-24:00"
	put, err := account.SetWebPreferences(ctx, workunits.WebPreferences{IdleMinutes: &idle, ActiveHours: &hours})
	if err != nil || put.Version != 1 || put.UpdatedAt == nil || *put.Preferences.IdleMinutes != 20 {
		t.Fatalf("PUT preferences = %+v, %v", put, err)
	}
	got, err := host.HostContact(ctx, api.HostContactRequest{State: "suspended", Reason: "user_active", Detail: "input 2s ago", TasksRunning: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got.PreferencesVersion != 1 || got.Preferences.IdleMinutes == nil || *got.Preferences.IdleMinutes != 20 ||
		got.Preferences.ActiveHours == nil || *got.Preferences.ActiveHours != hours || got.Preferences.RunOnBattery != nil {
		t.Errorf("contact answered %+v, want version 1 with idle_minutes and active_hours only", got)
	}
	// Another contributor's host does not see them.
	if other, err := b.host.HostContact(ctx, api.HostContactRequest{State: "idle"}); err != nil || other.PreferencesVersion != 0 {
		t.Errorf("another contributor's host got %+v, %v", other, err)
	}
	ops := 2e9
	if _, err := host.HostContact(ctx, api.HostContactRequest{State: "running", TasksRunning: 2, OpsPerSecond: &ops}); err != nil {
		t.Errorf("contact with a benchmark: %v", err)
	}
}
