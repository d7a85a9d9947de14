package client

import (
	"context"
	"net/http"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/workunits"
)

// HostContact tells the coordinator what the host's worker is doing and
// returns its contributor's web preferences.
func (c *Client) HostContact(ctx context.Context, req api.HostContactRequest) (api.HostContactResponse, error) {
	var out api.HostContactResponse
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/host/contact", req, &out)
	return out, err
}

// WebPreferences returns the contributor's web preferences.
func (c *Client) WebPreferences(ctx context.Context) (api.ContributorPreferences, error) {
	var out api.ContributorPreferences
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/contributor/preferences", nil, &out)
	return out, err
}

// SetWebPreferences replaces the contributor's web preferences.
func (c *Client) SetWebPreferences(ctx context.Context, prefs workunits.WebPreferences) (api.ContributorPreferences, error) {
	var out api.ContributorPreferences
	err := c.doJSON(ctx, http.MethodPut, "/api/v1/contributor/preferences", prefs, &out)
	return out, err
}
