package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/signing"
	"github.com/nightshift-platform/nightshift/workunits"
)

// createProject creates a project, with its signing key if the request
// gives one; a bad key is refused before anything is stored.
func (s *server) createProject(ctx context.Context, req api.CreateProjectRequest) (workunits.Project, string, error) {
	np := service.NewProject{Name: req.Name, Description: req.Description}
	if req.Share != nil {
		if *req.Share == 0 {
			return workunits.Project{}, "", workunits.ValidateShare(0)
		}
		np.Share = *req.Share
	}
	if req.Admin != nil {
		np.Admin = &service.NewMember{Name: req.Admin.Name, Email: req.Admin.Email}
	}
	if req.SigningPublicKey != "" {
		key, err := signing.ParsePublicKey(req.SigningPublicKey)
		if err != nil {
			return workunits.Project{}, "", workunits.Errorf(workunits.EINVALID, "signing_public_key: %v", err)
		}
		np.SigningKey = key
	}
	return s.svc.CreateProjectWith(ctx, np)
}

// encodeOptional is a key or signature as the API shows it: empty when there is none.
func encodeOptional(key []byte) string {
	if len(key) == 0 {
		return ""
	}
	return signing.Encode(key)
}

func (s *server) handleProjectSigningKey() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "projectID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		var req api.SigningKeyRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		key, err := service.ParseSigningKey(req.PublicKey)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if _, err := s.svc.SetProjectSigningKey(r.Context(), id, key); err != nil {
			s.error(w, r, err)
			return
		}
		v, err := s.svc.Project(r.Context(), id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, projectJSON(v))
	}
}

func versionJSON(v workunits.AppVersion) api.AppVersion {
	out := api.AppVersion{App: v.AppName, Version: v.Version, SHA256: v.ModuleSHA256, Size: v.Size, CreatedAt: v.CreatedAt,
		Signature: encodeOptional(v.Signature), Ops: v.Estimates.Ops, MemoryMiB: v.Estimates.MemoryMiB,
		DiskMiB: v.Estimates.DiskMiB, DeadlineSeconds: int(v.Estimates.Deadline / time.Second), Validator: api.ValidatorOf(v.Validator)}
	if !v.DeprecatedAt.IsZero() {
		out.DeprecatedAt = &v.DeprecatedAt
	}
	return out
}

// handleAppVersionUpload takes the module as the body, its signature in
// the Nightshift-Signature header, and its resource estimates and validator
// as query parameters.
func (s *server) handleAppVersionUpload() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		if ct != "application/wasm" && ct != "application/octet-stream" {
			s.error(w, r, workunits.Errorf(workunits.EINVALID, "upload the module as the body with Content-Type application/wasm, got %q", ct))
			return
		}
		est, err := estimatesQuery(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		val, err := validatorQuery(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		var sig []byte
		if h := r.Header.Get(api.SignatureHeader); h != "" {
			if sig, err = signing.ParseSignature(h); err != nil {
				s.error(w, r, workunits.Errorf(workunits.EINVALID, "%s header: %v", api.SignatureHeader, err))
				return
			}
		}
		module, err := io.ReadAll(http.MaxBytesReader(w, r.Body, service.MaxModuleSize))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.error(w, r, workunits.Errorf(workunits.ETOOLARGE, "module is over %d bytes", tooBig.Limit))
			return
		}
		if err != nil {
			s.error(w, r, workunits.Errorf(workunits.EINVALID, "reading the upload: %v", err))
			return
		}
		v, err := s.svc.UploadAppVersion(r.Context(), projectOf(r).ID, service.AppUpload{App: chi.URLParam(r, "app"),
			Module: module, Signature: sig, Estimates: est, Validator: val})
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, versionJSON(v))
	}
}

// estimatesQuery reads the resource estimates of an upload; the service
// checks their bounds.
func estimatesQuery(r *http.Request) (workunits.Estimates, error) {
	q := r.URL.Query()
	var e workunits.Estimates
	var deadline int64
	for _, p := range []struct {
		name string
		into func(int64)
	}{
		{"ops", func(n int64) { e.Ops = n }},
		{"memory_mib", func(n int64) { e.MemoryMiB = int(min(n, 1<<31)) }},
		{"disk_mib", func(n int64) { e.DiskMiB = int(min(n, 1<<31)) }},
		{"deadline_seconds", func(n int64) { deadline = n }},
	} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return e, workunits.Errorf(workunits.EINVALID, "query parameter %s must be a positive integer, got %q", p.name, v)
		}
		p.into(n)
	}
	// Checked before converting: a huge value would wrap round to a small duration.
	if maxSec := int64(workunits.MaxDeadline / time.Second); deadline > maxSec {
		return e, workunits.Errorf(workunits.EINVALID, "deadline_seconds must be between %d and %d, got %d",
			int64(workunits.MinDeadline/time.Second), maxSec, deadline)
	}
	e.Deadline = time.Duration(deadline) * time.Second
	return e, nil
}

// validatorQuery reads the validator of an upload: validator (the kind),
// abs_tol and rel_tol; the service checks they make sense together.
func validatorQuery(r *http.Request) (workunits.Validator, error) {
	q := r.URL.Query()
	v := workunits.Validator{Kind: q.Get("validator")}
	for _, p := range []struct {
		name string
		into *float64
	}{{"abs_tol", &v.AbsTol}, {"rel_tol", &v.RelTol}} {
		s := q.Get(p.name)
		if s == "" {
			continue
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return v, workunits.Errorf(workunits.EINVALID, "query parameter %s must be a number, got %q", p.name, s)
		}
		*p.into = f
	}
	return v, nil
}

func (s *server) handleAppList() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		apps, err := s.svc.Apps(r.Context(), projectOf(r).ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := make([]api.App, len(apps))
		for i, a := range apps {
			out[i] = api.App{Name: a.Name, Versions: a.Versions, LatestVersion: a.Latest}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *server) handleAppVersionList() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		versions, err := s.svc.AppVersions(r.Context(), projectOf(r).ID, chi.URLParam(r, "app"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := make([]api.AppVersion, len(versions))
		for i, v := range versions {
			out[i] = versionJSON(v)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *server) handleAppVersionGet() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		version, err := pathVersion(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		v, err := s.svc.AppVersion(r.Context(), projectOf(r).ID, chi.URLParam(r, "app"), version)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, versionJSON(v))
	}
}

func (s *server) handleAppVersionDeprecate() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		version, err := pathVersion(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		v, err := s.svc.DeprecateAppVersion(r.Context(), projectOf(r).ID, chi.URLParam(r, "app"), version)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, versionJSON(v))
	}
}

func pathVersion(r *http.Request) (int, error) {
	v := chi.URLParam(r, "version")
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, workunits.Errorf(workunits.EINVALID, "version must be a positive integer, got %q", v)
	}
	return n, nil
}
