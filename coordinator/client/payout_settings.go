package client

import (
	"context"
	"net/http"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

// PayoutSettings returns the contributor's payout settings (account key).
func (c *Client) PayoutSettings(ctx context.Context) (api.PayoutSettings, error) {
	var out api.PayoutSettings
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/contributor/payout-settings", nil, &out)
	return out, err
}

// SetPayoutSettings replaces the contributor's payout settings (account key).
func (c *Client) SetPayoutSettings(ctx context.Context, req api.PutPayoutSettingsRequest) (api.PayoutSettings, error) {
	var out api.PayoutSettings
	err := c.doJSON(ctx, http.MethodPut, "/api/v1/contributor/payout-settings", req, &out)
	return out, err
}
