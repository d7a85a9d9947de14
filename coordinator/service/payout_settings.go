package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// PayoutSettings are what a contributor chooses about being paid: the
// least a run pays them (0: the run's threshold) and how and where. A run
// pays a contributor only with a method set, and only once the available
// balance reaches both the run's threshold and their own.
type PayoutSettings struct {
	ThresholdMicros int64          // 0, or from Options.PayoutThreshold to payouts.MaxThresholdMicros
	Method          payouts.Method // "": not paid until one is set
	Destination     string         // IBAN for bank_transfer, email for paypal; "" without a method
	UpdatedAt       time.Time      // zero if never set; set by SetPayoutSettings
}

// MaskedDestination is the destination as it may be shown: all but its
// last four characters hidden.
func (p PayoutSettings) MaskedDestination() string { return payouts.MaskDestination(p.Destination) }

// MinPayoutThreshold is the least a contributor may ask to be paid in one
// go: the platform's payout threshold (Options.PayoutThreshold).
func (s *Service) MinPayoutThreshold() int64 { return s.payoutThreshold }

// PayoutSettings returns a contributor's payout settings (the zero
// settings if they never set any).
func (s *Service) PayoutSettings(ctx context.Context, contributorID int64) (PayoutSettings, error) {
	var st store.PayoutSettings
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		st, err = tx.PayoutSettingsGet(ctx, contributorID)
		return err
	})
	if err != nil {
		return PayoutSettings{}, err
	}
	return payoutSettingsOf(st), nil
}

// SetPayoutSettings validates and replaces a contributor's payout
// settings, and returns them as stored (the destination normalised: an
// IBAN without spaces, in capitals). A method with no destination keeps
// the destination stored if the method is the one stored: a form that
// shows the destination masked need not ask for it again. The runs made
// before keep what they were made with. Errors never repeat the
// destination: it is personal data.
func (s *Service) SetPayoutSettings(ctx context.Context, contributorID int64, p PayoutSettings) (PayoutSettings, error) {
	var st store.PayoutSettings
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		if p.Method != "" && p.Destination == "" {
			old, err := tx.PayoutSettingsGet(ctx, contributorID)
			if err != nil {
				return err
			}
			if old.Method == p.Method {
				p.Destination = old.Destination
			}
		}
		if err := s.checkPayoutSettings(&p); err != nil {
			return err
		}
		var err error
		st, err = tx.PayoutSettingsPut(ctx, store.PayoutSettings{ContributorID: contributorID, ThresholdMicros: p.ThresholdMicros,
			Method: p.Method, Destination: p.Destination, UpdatedAt: s.now()})
		return err
	})
	if err != nil {
		if workunits.ErrorCode(err) != workunits.EINTERNAL {
			return PayoutSettings{}, err
		}
		return PayoutSettings{}, fmt.Errorf("setting payout settings of contributor %d: %w", contributorID, err)
	}
	return payoutSettingsOf(st), nil
}

// checkPayoutSettings validates p and normalises its destination.
func (s *Service) checkPayoutSettings(p *PayoutSettings) error {
	if t := p.ThresholdMicros; t != 0 && (t < s.payoutThreshold || t > payouts.MaxThresholdMicros) {
		return workunits.Errorf(workunits.EINVALID, "threshold_micros must be from %d (%s %s, the platform's minimum) to %d (%s %s), or absent for the run's; got %d",
			s.payoutThreshold, payouts.FormatMicros(s.payoutThreshold), payouts.Currency,
			int64(payouts.MaxThresholdMicros), payouts.FormatMicros(payouts.MaxThresholdMicros), payouts.Currency, t)
	}
	if p.Method == "" {
		if p.Destination != "" {
			return workunits.Errorf(workunits.EINVALID, "a destination needs a method: one of %s", methodNames())
		}
		return nil
	}
	if _, err := payouts.ParseMethod(string(p.Method)); err != nil {
		return workunits.Errorf(workunits.EINVALID, "%v", err)
	}
	dest, err := payouts.CheckDestination(p.Method, p.Destination)
	if errors.Is(err, payouts.ErrBadDestination) {
		return workunits.Errorf(workunits.EINVALID, "%v", err)
	}
	if err != nil {
		return err
	}
	p.Destination = dest
	return nil
}

func methodNames() string {
	var out string
	for i, m := range payouts.Methods {
		if i > 0 {
			out += ", "
		}
		out += string(m)
	}
	return out
}

func payoutSettingsOf(st store.PayoutSettings) PayoutSettings {
	return PayoutSettings{ThresholdMicros: st.ThresholdMicros, Method: st.Method, Destination: st.Destination, UpdatedAt: st.UpdatedAt}
}
