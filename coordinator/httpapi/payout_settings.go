package httpapi

import (
	"net/http"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// payoutSettingsJSON shows settings back with the destination masked: it
// is personal data, and the contributor only needs to recognise it.
func (s *server) payoutSettingsJSON(p service.PayoutSettings) api.PayoutSettings {
	out := api.PayoutSettings{MinThresholdMicros: s.svc.MinPayoutThreshold(), MaxThresholdMicros: payouts.MaxThresholdMicros,
		Method: string(p.Method), DestinationMasked: p.MaskedDestination(), Currency: payouts.Currency}
	for _, m := range payouts.Methods {
		out.Methods = append(out.Methods, string(m))
	}
	if p.ThresholdMicros != 0 {
		out.ThresholdMicros = &p.ThresholdMicros
	}
	if !p.UpdatedAt.IsZero() {
		out.UpdatedAt = &p.UpdatedAt
	}
	return out
}

func (s *server) handlePayoutSettingsGet() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.svc.PayoutSettings(r.Context(), contributorOf(r).ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, s.payoutSettingsJSON(p))
	}
}

func (s *server) handlePayoutSettingsPut() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.PutPayoutSettingsRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		p := service.PayoutSettings{Method: payouts.Method(req.Method), Destination: req.Destination}
		if req.ThresholdMicros != nil {
			if *req.ThresholdMicros <= 0 {
				s.error(w, r, workunits.Errorf(workunits.EINVALID, "threshold_micros must be positive, or null for the run's threshold; got %d", *req.ThresholdMicros))
				return
			}
			p.ThresholdMicros = *req.ThresholdMicros
		}
		p, err := s.svc.SetPayoutSettings(r.Context(), contributorOf(r).ID, p)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, s.payoutSettingsJSON(p))
	}
}
