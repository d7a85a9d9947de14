package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/ratelimit"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Options configure NewServerWithOptions. The zero value is NewServer: no
// limits, and the connection's address as the client's.
type Options struct {
	// ClientIP names a request's client, for the limits per address and the
	// dashboard's sign-in limit; nil: the connection's peer address. Behind
	// a reverse proxy use ratelimit.ClientIP with the proxy's addresses.
	ClientIP func(*http.Request) string
	Limits   Limits
}

// Limits are the request rates allowed; a zero Rate is no limit.
type Limits struct {
	// Anonymous is per client address, for requests that create or try
	// something without credentials: sign-ups (API and dashboard) and
	// dashboard sign-ins.
	Anonymous ratelimit.Rate
	// AuthFailures is per client address, for requests whose credentials
	// are refused. A client that has used it up is refused before its
	// credentials are looked at, until it has some left again: guessing
	// keys is slow, and costs the database nothing.
	AuthFailures ratelimit.Rate
	// PerCredential is per host token, account key and project key, for
	// every request that authenticates with one: one runaway script or
	// worker cannot starve the others. The operator key is not limited.
	PerCredential ratelimit.Rate
}

// limits are Limits' buckets; a nil one allows everything.
type limits struct {
	anonymous, authFailures, perCredential *ratelimit.Limiter
}

func newLimits(l Limits) limits {
	return limits{
		anonymous:     ratelimit.New(l.Anonymous, ratelimit.DefaultMaxKeys),
		authFailures:  ratelimit.New(l.AuthFailures, ratelimit.DefaultMaxKeys),
		perCredential: ratelimit.New(l.PerCredential, ratelimit.DefaultMaxKeys),
	}
}

// tooMany is the error a limited request is answered with: 429 and a
// Retry-After.
func tooMany(wait time.Duration, what string) error {
	return &workunits.Error{Code: workunits.ETOOMANY, Err: service.RetryAfter(wait),
		Message: fmt.Sprintf("%s: try again in %d seconds", what, int(wait.Round(time.Second)/time.Second))}
}

func (s *server) clientKey(r *http.Request) string {
	return ratelimit.AddrKey(s.opts.ClientIP(r))
}

// limitAnonymous limits, per client address, a route anyone may call to
// create something.
func (s *server) limitAnonymous(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := s.limits.anonymous.Allow(s.clientKey(r)); !ok {
			s.error(w, r, tooMany(wait, "too many sign-ups from your address"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authAllowed refuses, before its credentials are checked, a request from
// a client address whose failed attempts have used up its allowance.
func (s *server) authAllowed(w http.ResponseWriter, r *http.Request) bool {
	if empty, wait := s.limits.authFailures.Empty(s.clientKey(r)); empty {
		s.error(w, r, tooMany(wait, "too many requests with refused credentials from your address"))
		return false
	}
	return true
}

// authFailed answers a request whose credentials were refused, counting
// the refusal against its client address.
func (s *server) authFailed(w http.ResponseWriter, r *http.Request, err error) {
	if workunits.ErrorCode(err) == workunits.EUNAUTHORIZED {
		s.limits.authFailures.Allow(s.clientKey(r))
	}
	s.error(w, r, err)
}

// credentialAllowed limits the requests of one authenticated credential.
func (s *server) credentialAllowed(w http.ResponseWriter, r *http.Request, credential string) bool {
	if ok, wait := s.limits.perCredential.Allow(credential); !ok {
		s.error(w, r, tooMany(wait, "too many requests with this credential"))
		return false
	}
	return true
}
