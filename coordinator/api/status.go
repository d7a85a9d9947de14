package api

import (
	"net/http"

	"github.com/nightshift-platform/nightshift/workunits"
)

// HTTPStatus maps the domain's error codes to HTTP statuses, for the
// API and the dashboard alike.
func HTTPStatus(code workunits.Code) int {
	switch code {
	case workunits.EINVALID:
		return http.StatusBadRequest
	case workunits.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case workunits.EFORBIDDEN:
		return http.StatusForbidden
	case workunits.ENOTFOUND:
		return http.StatusNotFound
	case workunits.ECONFLICT:
		return http.StatusConflict
	case workunits.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case workunits.EINSUFFICIENT:
		return http.StatusPaymentRequired
	case workunits.EGONE:
		return http.StatusGone
	case workunits.ETOOMANY:
		return http.StatusTooManyRequests
	default:
		return http.StatusInternalServerError
	}
}
