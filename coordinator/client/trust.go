package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

// HostStanding returns a host's quota, block, benchmark and trust; the
// client must hold the operator key.
func (c *Client) HostStanding(ctx context.Context, hostID int64) (api.HostStanding, error) {
	var out api.HostStanding
	err := c.doJSON(ctx, http.MethodGet, fmt.Sprintf("/api/v1/hosts/%d/trust", hostID), nil, &out)
	return out, err
}
