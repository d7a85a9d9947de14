package api

import "time"

// PutPayoutSettingsRequest replaces the contributor's payout settings.
// threshold_micros absent or null: the run's threshold. method absent or
// empty: no method, so no run pays the contributor. A method with no
// destination keeps the destination stored if the method is unchanged.
type PutPayoutSettingsRequest struct {
	ThresholdMicros *int64 `json:"threshold_micros"`
	Method          string `json:"method"`
	Destination     string `json:"destination"`
}

// PayoutSettings are the contributor's payout settings as shown back: the
// destination masked but for its last four characters.
type PayoutSettings struct {
	ThresholdMicros    *int64     `json:"threshold_micros,omitempty"` // absent: the run's threshold
	MinThresholdMicros int64      `json:"min_threshold_micros"`
	MaxThresholdMicros int64      `json:"max_threshold_micros"`
	Method             string     `json:"method,omitempty"`
	DestinationMasked  string     `json:"destination_masked,omitempty"`
	Methods            []string   `json:"methods"` // the methods one may choose
	Currency           string     `json:"currency"`
	UpdatedAt          *time.Time `json:"updated_at,omitempty"`
}
