// Package httpapi serves the coordinator's HTTP API over a service.Service.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/ratelimit"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Body limits: JSON requests are small; reports carry outputs; modules are large.
const (
	maxJSONBody   = 1 << 20
	maxJobBody    = 16 << 20
	maxReportBody = 32 << 20
)

type server struct {
	svc    *service.Service
	log    *slog.Logger
	opts   Options
	limits limits
}

// NewServer returns the coordinator's HTTP handler, without rate limits.
func NewServer(svc *service.Service, log *slog.Logger) http.Handler {
	return NewServerWithOptions(svc, log, Options{})
}

// NewServerWithOptions returns the coordinator's HTTP handler with the
// rate limits and client address of opts.
func NewServerWithOptions(svc *service.Service, log *slog.Logger, opts Options) http.Handler {
	if opts.ClientIP == nil {
		opts.ClientIP = ratelimit.ClientIP(nil)
	}
	s := &server{svc: svc, log: log, opts: opts, limits: newLimits(opts.Limits)}
	r := chi.NewRouter()
	s.routes(r)
	return r
}

func (s *server) error(w http.ResponseWriter, r *http.Request, err error) {
	code := workunits.ErrorCode(err)
	status := api.HTTPStatus(code)
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="nightshift"`)
	}
	if wait := service.RetryAfterOf(err); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)))
	}
	writeJSON(w, status, api.ErrorResponse{Error: api.ErrorBody{Code: string(code), Message: workunits.ErrorMessage(err)}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client is gone if this fails
}

// decode reads exactly one JSON value into v, refusing unknown fields and
// bodies over limit, and says precisely what is wrong.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return workunits.Errorf(workunits.EINVALID, "Content-Type must be application/json, got %q", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return workunits.Errorf(workunits.EINVALID, "malformed JSON: the body must hold exactly one JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return workunits.Errorf(workunits.EINVALID, "malformed JSON: the body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return workunits.Errorf(workunits.EINVALID, "malformed JSON: the body ends too early")
	case errors.As(err, &syntax):
		return workunits.Errorf(workunits.EINVALID, "malformed JSON at byte %d: %v", syntax.Offset, err)
	case errors.As(err, &typeErr):
		return workunits.Errorf(workunits.EINVALID, "field %q must be %s, got JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.As(err, &tooBig):
		return workunits.Errorf(workunits.ETOOLARGE, "the body is over %d bytes", tooBig.Limit)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return workunits.Errorf(workunits.EINVALID, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return workunits.Errorf(workunits.EINVALID, "malformed JSON: %v", err)
	}
}

// bearer returns the token of an "Authorization: Bearer …" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func pathID(r *http.Request, name string) (int64, error) {
	v := chi.URLParam(r, name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, workunits.Errorf(workunits.EINVALID, "%s must be a positive integer, got %q", name, v)
	}
	return id, nil
}

func queryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, workunits.Errorf(workunits.EINVALID, "query parameter %s must be a non-negative integer, got %q", name, v)
	}
	return n, nil
}

// The authenticated caller travels in the request context.
type ctxKey int

const (
	projectKey ctxKey = iota
	contributorKey
	hostKey
)

func (s *server) requireOperator(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authAllowed(w, r) {
			return
		}
		if err := s.svc.CheckOperator(bearer(r)); err != nil {
			s.authFailed(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) requireProject(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authAllowed(w, r) {
			return
		}
		c, err := s.svc.AuthProjectKey(r.Context(), bearer(r))
		if err != nil {
			s.authFailed(w, r, err)
			return
		}
		if !s.credentialAllowed(w, r, fmt.Sprint("project-key:", c.Key.ID)) {
			return
		}
		next.ServeHTTP(w, r.WithContext(withCaller(r.Context(), c)))
	})
}

func (s *server) requireContributor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authAllowed(w, r) {
			return
		}
		c, err := s.svc.AuthContributor(r.Context(), bearer(r))
		if err != nil {
			s.authFailed(w, r, err)
			return
		}
		if !s.credentialAllowed(w, r, fmt.Sprint("contributor:", c.ID)) {
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), contributorKey, c)))
	})
}

func (s *server) requireHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authAllowed(w, r) {
			return
		}
		h, err := s.svc.AuthHost(r.Context(), bearer(r))
		if err != nil {
			s.authFailed(w, r, err)
			return
		}
		if !s.credentialAllowed(w, r, fmt.Sprint("host:", h.ID)) {
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), hostKey, h)))
	})
}

func projectOf(r *http.Request) workunits.Project {
	return r.Context().Value(projectKey).(workunits.Project)
}
func contributorOf(r *http.Request) workunits.Contributor {
	return r.Context().Value(contributorKey).(workunits.Contributor)
}
func hostOf(r *http.Request) workunits.Host { return r.Context().Value(hostKey).(workunits.Host) }

func notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, api.ErrorResponse{Error: api.ErrorBody{Code: string(workunits.ENOTFOUND),
		Message: fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)}})
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusMethodNotAllowed, api.ErrorResponse{Error: api.ErrorBody{Code: "method_not_allowed",
		Message: fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)}})
}
