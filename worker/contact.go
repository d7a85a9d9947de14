package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/worker/atomicfile"
	"github.com/nightshift-platform/nightshift/worker/governor"
	"github.com/nightshift-platform/nightshift/worker/policy"
	"github.com/nightshift-platform/nightshift/workunits"
)

// webPrefsFile keeps the last web preferences heard, so that a worker
// restarted while the coordinator cannot be reached still applies them.
const webPrefsFile = "web_preferences.json"

// Contact timing: --contact-every's default and least value, and how soon
// after another contact a change of state is told.
const (
	defaultContactEvery = 5 * time.Minute
	minContactEvery     = time.Second
	stateContactGap     = 30 * time.Second
	contactPoll         = 2 * time.Second
)

// webField is one preference a contributor can set on the web: its JSON
// name (in preferences.json, the API and worker status), its flag, and how
// to apply the web's value.
type webField struct {
	json, flag, label string
	// apply sets p's field from w, reporting whether w sets it.
	apply func(p *policy.Preferences, w workunits.WebPreferences) (bool, error)
	// show is w's value for people; only called when w sets it.
	show func(w workunits.WebPreferences) string
}

var webFields = []webField{
	{"idle_minutes", "idle-minutes", "idle minutes", func(p *policy.Preferences, w workunits.WebPreferences) (bool, error) {
		if w.IdleMinutes != nil {
			p.IdleMinutes = *w.IdleMinutes
		}
		return w.IdleMinutes != nil, nil
	}, func(w workunits.WebPreferences) string { return fmt.Sprint(*w.IdleMinutes) }},
	{"max_other_cpu_percent", "max-other-cpu", "other programs' CPU limit", func(p *policy.Preferences, w workunits.WebPreferences) (bool, error) {
		if w.MaxOtherCPUPercent != nil {
			p.MaxOtherCPUPercent = *w.MaxOtherCPUPercent
		}
		return w.MaxOtherCPUPercent != nil, nil
	}, func(w workunits.WebPreferences) string { return fmt.Sprintf("%v%%", *w.MaxOtherCPUPercent) }},
	{"run_on_battery", "run-on-battery", "run on battery", func(p *policy.Preferences, w workunits.WebPreferences) (bool, error) {
		if w.RunOnBattery != nil {
			p.RunOnBattery = *w.RunOnBattery
		}
		return w.RunOnBattery != nil, nil
	}, func(w workunits.WebPreferences) string {
		return map[bool]string{true: "yes", false: "no"}[*w.RunOnBattery]
	}},
	{"active_hours", "active-hours", "active hours", func(p *policy.Preferences, w workunits.WebPreferences) (bool, error) {
		if w.ActiveHours == nil {
			return false, nil
		}
		week, err := policy.ParseWeek(*w.ActiveHours)
		if err != nil {
			return false, err
		}
		p.ActiveHours = week
		return true, nil
	}, func(w workunits.WebPreferences) string {
		if strings.TrimSpace(*w.ActiveHours) == "" {
			return "any time"
		}
		return fmt.Sprintf("%q", *w.ActiveHours)
	}},
}

// localWebFields returns the JSON names of the web-settable preferences
// the volunteer set on this PC: in the preferences file or with a flag.
// Those always win over the web's.
func localWebFields(fs *flag.FlagSet, dir string) (map[string]bool, error) {
	set := map[string]bool{}
	path := filepath.Join(dir, preferencesFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(b, &fields); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, f := range webFields {
			if _, ok := fields[f.json]; ok {
				set[f.json] = true
			}
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	fs.Visit(func(fl *flag.Flag) {
		for _, f := range webFields {
			if f.flag == fl.Name {
				set[f.json] = true
			}
		}
	})
	return set, nil
}

// savedWebPrefs is webPrefsFile's content.
type savedWebPrefs struct {
	Version     int64                    `json:"version"`
	Preferences workunits.WebPreferences `json:"preferences"`
	ReceivedAt  time.Time                `json:"received_at"`
}

// webPrefs holds the preferences in effect: the defaults, overlaid by the
// web preferences, overlaid by what the volunteer set on this PC. The
// governor reads Current on every full observation, so a change heard at a
// contact applies without a restart.
type webPrefs struct {
	local    policy.Preferences // the file and flags; defaults where neither sets a field
	localSet map[string]bool    // web-settable fields set locally (localWebFields)
	dir      string
	log      *slog.Logger

	mu      sync.Mutex
	saved   savedWebPrefs
	current policy.Preferences
}

// newWebPrefs starts from the web preferences saved in dir, if any; a
// saved file that cannot be read is logged and ignored (the next contact
// replaces it).
func newWebPrefs(local policy.Preferences, localSet map[string]bool, dir string, log *slog.Logger) *webPrefs {
	w := &webPrefs{local: local, localSet: localSet, dir: dir, log: log, current: local}
	path := filepath.Join(dir, webPrefsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return w
	}
	var saved savedWebPrefs
	if err == nil {
		err = json.Unmarshal(b, &saved)
	}
	if err == nil {
		var merged policy.Preferences
		if merged, err = mergePreferences(local, localSet, saved.Preferences); err == nil {
			w.saved, w.current = saved, merged
		}
	}
	if err != nil {
		log.Warn("ignoring the saved web preferences until the next contact", "file", path, "err", err)
	}
	return w
}

// mergePreferences overlays web on local for each field not set locally.
func mergePreferences(local policy.Preferences, localSet map[string]bool, web workunits.WebPreferences) (policy.Preferences, error) {
	if err := web.Validate(); err != nil {
		return local, err
	}
	p := local
	for _, f := range webFields {
		if localSet[f.json] {
			continue
		}
		if _, err := f.apply(&p, web); err != nil {
			return local, fmt.Errorf("%s: %w", f.json, err)
		}
	}
	return p, p.Validate()
}

// Current returns the preferences in effect.
func (w *webPrefs) Current() policy.Preferences {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.current
}

// apply takes the web preferences a contact returned, saving them when
// they changed; it reports whether they did.
func (w *webPrefs) apply(version int64, web workunits.WebPreferences, now time.Time) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if version == w.saved.Version && reflect.DeepEqual(web, w.saved.Preferences) {
		return false, nil
	}
	merged, err := mergePreferences(w.local, w.localSet, web)
	if err != nil {
		return false, err
	}
	w.saved, w.current = savedWebPrefs{Version: version, Preferences: web, ReceivedAt: now.UTC()}, merged
	b, err := json.MarshalIndent(w.saved, "", "  ")
	if err == nil {
		err = atomicfile.Write(filepath.Join(w.dir, webPrefsFile), b, 0o600)
	}
	if err != nil {
		// In effect all the same; only a restart while offline loses them.
		w.log.Warn("could not save the web preferences", "err", err)
	}
	return true, nil
}

// webPrefsStatus is what worker status shows of the web preferences.
type webPrefsStatus struct {
	Version     int64                    `json:"version"`
	Preferences workunits.WebPreferences `json:"preferences"`
	// FromWeb lists the preferences in effect from the web; SetLocally
	// those the web sets but the volunteer set on this PC, which win.
	FromWeb    []string `json:"from_web,omitempty"`
	SetLocally []string `json:"set_locally,omitempty"`
}

func (w *webPrefs) status() *webPrefsStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := &webPrefsStatus{Version: w.saved.Version, Preferences: w.saved.Preferences}
	for _, f := range webFields {
		var scratch policy.Preferences
		if set, _ := f.apply(&scratch, w.saved.Preferences); !set {
			continue
		}
		if w.localSet[f.json] {
			s.SetLocally = append(s.SetLocally, f.json)
		} else {
			s.FromWeb = append(s.FromWeb, f.json)
		}
	}
	return s
}

// renderWebPrefs says, for worker status, which preferences come from the
// web.
func renderWebPrefs(w *strings.Builder, s *webPrefsStatus) {
	if s == nil || s.Version == 0 {
		return
	}
	describe := func(names []string) string {
		var parts []string
		for _, f := range webFields {
			if slices.Contains(names, f.json) {
				parts = append(parts, f.label+" "+f.show(s.Preferences))
			}
		}
		return strings.Join(parts, ", ")
	}
	if len(s.FromWeb) == 0 {
		fmt.Fprintf(w, "Preferences from the web (version %d): none in effect", s.Version)
	} else {
		fmt.Fprintf(w, "Preferences from the web (version %d): %s", s.Version, describe(s.FromWeb))
	}
	if len(s.SetLocally) > 0 {
		fmt.Fprintf(w, "; set on this PC instead of the web's: %s", describe(s.SetLocally))
	}
	w.WriteString("\n")
}

// contactLoop tells the coordinator what the worker is doing, whatever the
// gate says (a suspended PC still tells its state), and applies the web
// preferences it answers with. It contacts at start, every Every, and soon
// after the state changes (at most once per stateContactGap); a failed
// contact is retried after stateContactGap.
type contactLoop struct {
	Client *client.Client
	State  func() api.HostContactRequest // what to report now
	// OpsPerSecond is the host's benchmark to send; 0 sends none.
	OpsPerSecond float64
	Prefs        *webPrefs
	Every        time.Duration
	Log          *slog.Logger
	// Gap and Poll override stateContactGap and contactPoll, for tests.
	Gap, Poll time.Duration
}

// hostReport is the state a worker reports: what the governor decided and
// whether tasks are running.
func hostReport(gov *governor.Governor, tasksRunning func() int) api.HostContactRequest {
	state, _ := gov.State()
	r := api.HostContactRequest{State: string(workunits.HostSuspended), Reason: string(state.Code), Detail: state.Detail,
		TasksRunning: tasksRunning()}
	switch {
	case state.Code == "":
		r.Reason, r.Detail = "starting", "the worker is starting"
	case state.Run && r.TasksRunning > 0:
		r.State = string(workunits.HostRunning)
	case state.Run:
		r.State = string(workunits.HostIdle)
	}
	if len(r.Detail) > workunits.MaxStateDetailLen {
		r.Detail = strings.ToValidUTF8(r.Detail[:workunits.MaxStateDetailLen], "")
	}
	return r
}

// Run contacts until ctx ends.
func (c *contactLoop) Run(ctx context.Context) {
	gap, poll := cmpOr(c.Gap, stateContactGap), cmpOr(c.Poll, contactPoll)
	t := time.NewTicker(poll)
	defer t.Stop()
	var sent api.HostContactRequest // the last state the coordinator heard
	var last time.Time              // the last attempt
	ok := false
	for {
		now := time.Now()
		report := c.State()
		changed := report.State != sent.State || report.Reason != sent.Reason
		since := now.Sub(last)
		if last.IsZero() || since >= c.Every || !ok && since >= min(gap, c.Every) || changed && since >= gap {
			last = now
			if ok = c.contact(ctx, report); ok {
				sent = report
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// contact makes one contact and applies the answer; it reports whether
// the coordinator answered.
func (c *contactLoop) contact(ctx context.Context, report api.HostContactRequest) bool {
	if ops := c.OpsPerSecond; ops > 0 {
		report.OpsPerSecond = &ops
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := c.Client.HostContact(ctx, report)
	if err != nil {
		if !errors.Is(ctx.Err(), context.Canceled) { // not the worker stopping
			c.Log.Warn("could not tell the coordinator this PC's state; the last web preferences stay in effect", "err", err)
		}
		return false
	}
	changed, err := c.Prefs.apply(resp.PreferencesVersion, resp.Preferences, time.Now())
	switch {
	case err != nil:
		c.Log.Warn("ignoring web preferences the worker cannot apply", "version", resp.PreferencesVersion, "err", err)
	case changed:
		st := c.Prefs.status()
		c.Log.Info("web preferences changed", "version", resp.PreferencesVersion, "from_web", st.FromWeb, "set_locally", st.SetLocally)
	}
	return true
}
