package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// payoutsPage is the payouts page's data: the balance, the runs that paid
// the contributor, and the settings form.
type payoutsPage struct {
	Earnings     service.Earnings
	Lines        []store.PayoutLine
	Settings     service.PayoutSettings
	Methods      []methodOption
	Form         payoutSettingsForm
	MinThreshold int64
	MaxThreshold int64
}

// payoutSettingsForm is what the form shows: the stored settings, or what
// was sent when it is shown again after a mistake. The destination is
// never shown back: only the stored one, masked.
type payoutSettingsForm struct {
	Method    string
	Threshold string // in currency units; "" for the run's threshold
}

type methodOption struct {
	Value payouts.Method
	Label string
}

var methodLabels = map[payouts.Method]string{
	payouts.MethodBankTransfer: "Bank transfer (IBAN)",
	payouts.MethodPayPal:       "PayPal (email address)",
}

func methodLabel(m payouts.Method) string {
	if l, ok := methodLabels[m]; ok {
		return l
	}
	if m == "" {
		return "–"
	}
	return string(m)
}

func (s *server) payoutsPage(r *http.Request) (payoutsPage, error) {
	id := contributorOf(r).ID
	p := payoutsPage{MinThreshold: s.svc.MinPayoutThreshold(), MaxThreshold: payouts.MaxThresholdMicros}
	for _, m := range payouts.Methods {
		p.Methods = append(p.Methods, methodOption{m, methodLabel(m)})
	}
	var err error
	if p.Earnings, err = s.svc.ContributorEarnings(r.Context(), id); err != nil {
		return p, err
	}
	if p.Lines, err = s.svc.ContributorPayouts(r.Context(), id); err != nil {
		return p, err
	}
	if p.Settings, err = s.svc.PayoutSettings(r.Context(), id); err != nil {
		return p, err
	}
	p.Form = payoutSettingsForm{Method: string(p.Settings.Method)}
	if p.Settings.ThresholdMicros != 0 {
		p.Form.Threshold = formatMoney(p.Settings.ThresholdMicros)
	}
	return p, nil
}

func (s *server) handlePayouts() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.payoutsPage(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v := view{Title: "Payouts", Nav: "payouts", Data: p}
		if r.URL.Query().Has("saved") {
			v.Notice = "Your payout settings are saved."
		}
		s.render(w, r, http.StatusOK, "payouts", v)
	}
}

// handlePayoutSettings saves the settings form. A mistake shows the page
// again with what is wrong and what was sent (but the destination).
func (s *server) handlePayoutSettings() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		form := payoutSettingsForm{Method: r.PostFormValue("method"), Threshold: strings.TrimSpace(r.PostFormValue("threshold"))}
		settings := service.PayoutSettings{Method: payouts.Method(form.Method), Destination: strings.TrimSpace(r.PostFormValue("destination"))}
		threshold, err := parseMoney(form.Threshold)
		if err == nil {
			settings.ThresholdMicros = threshold
			_, err = s.svc.SetPayoutSettings(r.Context(), contributorOf(r).ID, settings)
		}
		if err == nil {
			http.Redirect(w, r, "/payouts?saved=1", http.StatusSeeOther)
			return
		}
		status := statusOf(workunits.ErrorCode(err))
		if status >= 500 {
			s.fail(w, r, err)
			return
		}
		p, perr := s.payoutsPage(r)
		if perr != nil {
			s.fail(w, r, perr)
			return
		}
		p.Form = form
		s.render(w, r, status, "payouts", view{Title: "Payouts", Nav: "payouts", Error: workunits.ErrorMessage(err), Data: p})
	}
}

// handleStatement serves the contributor's statement: the same CSV as the
// API's GET /api/v1/contributor/statement.csv.
func (s *server) handleStatement() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := contributorOf(r).ID
		entries, err := s.svc.ContributorStatement(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, service.StatementFilename(id)))
		_ = csv.NewWriter(w).WriteAll(service.StatementCSV(entries)) // the client is gone if this fails
	}
}

// parseMoney reads an amount in currency units ("25", "25.5", "25.00")
// as micro-units; "" is 0.
func parseMoney(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	bad := workunits.Errorf(workunits.EINVALID, "threshold must be an amount in %s like 25.00, or empty for the run's threshold; got %q", payouts.Currency, s)
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || dot && frac == "" || len(whole) > 12 || len(frac) > 6 || !digits(whole) || !digits(frac) {
		return 0, bad
	}
	frac += strings.Repeat("0", 6-len(frac))
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, bad
	}
	return w*1_000_000 + f, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func init() {
	funcs["methodLabel"] = methodLabel
}
