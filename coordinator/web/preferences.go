package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// preferencesPage is the preferences form: the values as typed (so that a
// refused form shows what was sent) and the stored version.
type preferencesPage struct {
	IdleMinutes        string
	MaxOtherCPUPercent string
	RunOnBattery       string // "", "yes", "no"
	ActiveHours        string
	Version            int64
	UpdatedAt          string // "" if never set
	MaxIdleMinutes     int
}

func newPreferencesPage(p store.ContributorPreferences) preferencesPage {
	page := preferencesPage{Version: p.Version, MaxIdleMinutes: workunits.MaxIdleMinutes}
	w := p.Preferences
	if w.IdleMinutes != nil {
		page.IdleMinutes = strconv.FormatFloat(*w.IdleMinutes, 'f', -1, 64)
	}
	if w.MaxOtherCPUPercent != nil {
		page.MaxOtherCPUPercent = strconv.FormatFloat(*w.MaxOtherCPUPercent, 'f', -1, 64)
	}
	if w.RunOnBattery != nil {
		page.RunOnBattery = map[bool]string{true: "yes", false: "no"}[*w.RunOnBattery]
	}
	if w.ActiveHours != nil {
		page.ActiveHours = *w.ActiveHours
	}
	if !p.UpdatedAt.IsZero() {
		page.UpdatedAt = p.UpdatedAt.UTC().Format("2 Jan 2006 15:04 UTC")
	}
	return page
}

func (s *server) handlePreferences() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.svc.WebPreferences(r.Context(), contributorOf(r).ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v := view{Title: "Preferences", Nav: "preferences", Data: newPreferencesPage(p)}
		if r.URL.Query().Has("saved") {
			v.Notice = fmt.Sprintf("Your preferences are saved (version %d). Each of your PCs picks them up at its next contact with the coordinator.", p.Version)
		}
		s.render(w, r, http.StatusOK, "preferences", v)
	}
}

func (s *server) handlePreferencesSave() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := contributorOf(r).ID
		form := preferencesPage{IdleMinutes: strings.TrimSpace(r.PostFormValue("idle_minutes")),
			MaxOtherCPUPercent: strings.TrimSpace(r.PostFormValue("max_other_cpu_percent")),
			RunOnBattery:       r.PostFormValue("run_on_battery"), ActiveHours: strings.TrimSpace(r.PostFormValue("active_hours")),
			MaxIdleMinutes: workunits.MaxIdleMinutes}
		refuse := func(err error) {
			if status := statusOf(workunits.ErrorCode(err)); status < 500 {
				// Show the version stored, which the refused form did not change.
				if p, err := s.svc.WebPreferences(r.Context(), id); err == nil {
					form.Version = p.Version
				}
				s.render(w, r, status, "preferences", view{Title: "Preferences", Nav: "preferences",
					Error: "Nothing was saved: " + workunits.ErrorMessage(err), Data: form})
				return
			}
			s.fail(w, r, err)
		}
		prefs, err := form.parse()
		if err != nil {
			refuse(err)
			return
		}
		if _, err := s.svc.SetWebPreferences(r.Context(), id, prefs); err != nil {
			refuse(err)
			return
		}
		http.Redirect(w, r, "/preferences?saved=1", http.StatusSeeOther)
	}
}

// parse reads the form: an empty field is not set on the web. It reports
// every field it cannot read at once; ranges are the service's to check.
func (f preferencesPage) parse() (workunits.WebPreferences, error) {
	var p workunits.WebPreferences
	var errs []string
	number := func(label, s string) *float64 {
		if s == "" {
			return nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s must be a number, got %q", label, s))
			return nil
		}
		return &v
	}
	p.IdleMinutes = number("idle minutes", f.IdleMinutes)
	p.MaxOtherCPUPercent = number("CPU use of other programs", f.MaxOtherCPUPercent)
	switch f.RunOnBattery {
	case "":
	case "yes", "no":
		b := f.RunOnBattery == "yes"
		p.RunOnBattery = &b
	default:
		errs = append(errs, fmt.Sprintf("run on battery must be yes, no or left to each PC, got %q", f.RunOnBattery))
	}
	if f.ActiveHours != "" {
		h := f.ActiveHours
		p.ActiveHours = &h
	}
	if len(errs) > 0 {
		return p, workunits.Errorf(workunits.EINVALID, "%s", strings.Join(errs, "; "))
	}
	return p, nil
}
