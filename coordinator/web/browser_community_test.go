package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/web"
	"github.com/nightshift-platform/nightshift/workunits"
)

// TestBrowserCommunityPages: a contributor with a suspended PC sees its
// state, saves web preferences through the form (the service has them),
// finds their own row on the leaderboard and their project's progress.
func TestBrowserCommunityPages(t *testing.T) {
	b := newBrowser(t)
	svc, ctx := b.coord.Service, t.Context()
	ada, err := svc.AuthContributor(ctx, b.signUp("ada@example.org", browserPassword))
	if err != nil {
		t.Fatal(err)
	}
	desk, _, err := svc.RegisterHost(ctx, ada.ID, service.HostInfo{Name: "desk", Platform: "linux/amd64", Cores: 4})
	if err != nil {
		t.Fatal(err)
	}
	project := web.SeedWork(t, svc, "ada@example.org", desk)
	if _, err := svc.HostContact(ctx, desk, workunits.HostState{State: workunits.HostSuspended, Reason: "user_active", Detail: "keyboard used 5 s ago"}); err != nil {
		t.Fatal(err)
	}

	if status := b.open("/hosts"); status != 200 {
		t.Fatalf("GET /hosts: %d", status)
	}
	row := fmt.Sprintf(`#hosts tr[data-host-id="%d"]`, desk.ID)
	if got := b.text(row + " .state"); got != "suspended — user active" {
		t.Errorf("the host's state shows %q, want suspended — user active", got)
	}
	if got := b.text(row + " .valid"); got != "1" {
		t.Errorf("the host's valid tasks show %q, want 1", got)
	}
	b.screenshot("hosts")

	b.open("/preferences")
	if got := b.text("#preferences-version"); got != "0" {
		t.Errorf("preferences version %q before saving, want 0", got)
	}
	b.fill(map[string]string{"idle_minutes": "5000"})
	if status := b.submit("#save-preferences"); status != 400 {
		t.Errorf("idle minutes 5000: status %d, want 400", status)
	}
	if msg := b.text("#form-error"); !strings.Contains(msg, "Nothing was saved") || !strings.Contains(msg, "idle_minutes") {
		t.Errorf("the refusal says %q", msg)
	}
	b.fill(map[string]string{"idle_minutes": "12", "max_other_cpu_percent": "55", "run_on_battery": "no", "active_hours": "mon-fri 18:00-08:00"})
	if status := b.submit("#save-preferences"); status != 200 || b.location() != "/preferences?saved=1" {
		t.Fatalf("saving preferences ends at %s with status %d: %q", b.location(), status, b.text("main"))
	}
	if got := b.text("#preferences-version"); got != "1" {
		t.Errorf("preferences version %q after saving, want 1", got)
	}
	if msg := b.text(".notice"); !strings.Contains(msg, "next contact") {
		t.Errorf("the notice says %q; want it to say PCs pick them up at their next contact", msg)
	}
	p, err := svc.WebPreferences(ctx, ada.ID)
	w := p.Preferences
	if err != nil || p.Version != 1 || w.IdleMinutes == nil || *w.IdleMinutes != 12 || w.MaxOtherCPUPercent == nil || *w.MaxOtherCPUPercent != 55 ||
		w.RunOnBattery == nil || *w.RunOnBattery || w.ActiveHours == nil || *w.ActiveHours != "mon-fri 18:00-08:00" {
		t.Errorf("stored preferences = %+v (%v), want what the form sent", p, err)
	}
	b.screenshot("preferences")

	if _, err := svc.UpdateProfile(ctx, ada.ID, "Night owl", true); err != nil {
		t.Fatal(err)
	}
	b.open("/leaderboard")
	if got := b.text("#leaderboard-contributors tr.me"); !strings.Contains(got, "Night owl") || !strings.Contains(got, "(you)") {
		t.Errorf("Ada's row on the leaderboard says %q", got)
	}
	b.text("#leaderboard-teams")
	b.screenshot("leaderboard")

	b.open("/projects")
	if got := b.text(fmt.Sprintf(`#projects li[data-project-id="%d"]`, project.ID)); !strings.Contains(got, "Folding proteins") || !strings.Contains(got, "50% done") {
		t.Errorf("the project shows %q", got)
	}
	if got := b.text("#my-projects"); !strings.Contains(got, "Protein lab") || !strings.Contains(got, "1 of 2") {
		t.Errorf("Ada's projects show %q", got)
	}
	b.screenshot("projects")

	// On a phone the pages fit; wide tables scroll inside themselves.
	b.step("narrowing to a phone", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	for _, path := range []string{"/hosts", "/preferences", "/leaderboard", "/projects"} {
		b.open(path)
		if w := eval[int](b, "document.documentElement.scrollWidth"); w > 375 {
			t.Errorf("at 375 px %s is %d px wide", path, w)
		}
	}
	b.screenshot("hosts-375px")
}
