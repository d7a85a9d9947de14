package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/signing"
)

// call sends one request to the coordinator and returns its status and body.
func (b *bundle) call(t *testing.T, method, path, key, contentType string, body io.Reader, header http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, b.coord.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw
}

// blobCount counts the blobs the coordinator stores.
func (b *bundle) blobCount(t *testing.T) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+b.dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM blobs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// wantStatus fails the test unless err is a coordinator answer with status
// and a message mentioning what.
func wantStatus(t *testing.T, err error, status int, what string) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Status != status || !strings.Contains(e.Message, what) {
		t.Errorf("error = %v, want %d mentioning %q", err, status, what)
	}
}

func TestSigningKeys(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	pub := signing.Encode(signing.PublicKey(b.signer.Key))

	// The project shows its key.
	p, err := b.research.Project(ctx)
	if err != nil || p.SigningPublicKey != pub {
		t.Fatalf("GET /project = %+v, %v; want signing_public_key %s", p, err, pub)
	}

	// A project created with its key has it from the start.
	priv, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other := signing.Encode(signing.PublicKey(priv))
	p2, err := b.operator.CreateProjectWith(ctx, api.CreateProjectRequest{Name: "second lab", SigningPublicKey: other})
	if err != nil || p2.SigningPublicKey != other {
		t.Fatalf("POST /projects with a key = %+v, %v", p2, err)
	}
	if got, err := b.operator.WithKey(p2.APIKey).Project(ctx); err != nil || got.SigningPublicKey != other {
		t.Errorf("GET /project of the second lab = %+v, %v; want key %s", got, err, other)
	}
	// Without one, it shows none, and the operator sets it.
	p3, err := b.operator.CreateProject(ctx, "third lab")
	if err != nil || p3.SigningPublicKey != "" {
		t.Fatalf("POST /projects without a key = %+v, %v", p3, err)
	}
	if got, err := b.operator.SetSigningKey(ctx, p3.ID, other); err != nil || got.SigningPublicKey != other || got.ID != p3.ID || got.Name != "third lab" {
		t.Errorf("PUT signing-key = %+v, %v", got, err)
	}
	if got, err := b.operator.WithKey(p3.APIKey).Project(ctx); err != nil || got.SigningPublicKey != other {
		t.Errorf("GET /project after PUT signing-key = %+v, %v", got, err)
	}

	// Only the operator sets keys, and bad keys are refused before
	// anything is stored.
	short := signing.Encode(make([]byte, 31))
	tests := []struct {
		name       string
		method     string
		path       string
		key        string
		body       string
		wantStatus int
		wantInMsg  string
	}{
		{"project key cannot set keys", "PUT", "/api/v1/projects/" + itoa(b.project.ID) + "/signing-key", b.project.APIKey, `{"public_key":"` + other + `"}`, 401, "operator"},
		{"unknown project", "PUT", "/api/v1/projects/99999/signing-key", b.operator.Key(), `{"public_key":"` + other + `"}`, 404, "project 99999 not found"},
		{"key not base64", "PUT", "/api/v1/projects/" + itoa(b.project.ID) + "/signing-key", b.operator.Key(), `{"public_key":"not base64!"}`, 400, "public_key"},
		{"key too short", "PUT", "/api/v1/projects/" + itoa(b.project.ID) + "/signing-key", b.operator.Key(), `{"public_key":"` + short + `"}`, 400, "32 bytes"},
		{"key missing", "PUT", "/api/v1/projects/" + itoa(b.project.ID) + "/signing-key", b.operator.Key(), `{}`, 400, "public_key"},
		{"unknown field", "PUT", "/api/v1/projects/" + itoa(b.project.ID) + "/signing-key", b.operator.Key(), `{"public_key":"` + other + `","x":1}`, 400, `unknown field "x"`},
		{"bad project id", "PUT", "/api/v1/projects/abc/signing-key", b.operator.Key(), `{"public_key":"` + other + `"}`, 400, "projectID"},
		{"new project with a bad key", "POST", "/api/v1/projects", b.operator.Key(), `{"name":"x","signing_public_key":"` + short + `"}`, 400, "signing_public_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, raw := b.call(t, tt.method, tt.path, tt.key, "application/json", strings.NewReader(tt.body), nil)
			var e api.ErrorResponse
			if status != tt.wantStatus || json.Unmarshal(raw, &e) != nil || !strings.Contains(e.Error.Message, tt.wantInMsg) {
				t.Errorf("%s %s = %d %s, want %d mentioning %q", tt.method, tt.path, status, raw, tt.wantStatus, tt.wantInMsg)
			}
		})
	}
	if got, err := b.research.Project(ctx); err != nil || got.SigningPublicKey != pub {
		t.Errorf("after the refused requests the key is %q (%v), want %s unchanged", got.SigningPublicKey, err, pub)
	}
	// The refused project was not created: the next one takes the next id.
	if p4, err := b.operator.CreateProject(ctx, "fourth lab"); err != nil || p4.ID != p3.ID+1 {
		t.Errorf("next project = %+v, %v; want id %d (the refused one stored nothing)", p4, err, p3.ID+1)
	}
}

func TestAppVersions(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	markers, _ := buildPrograms(t)

	// The same module again is a new version, with its own estimates, and
	// its bytes are stored once.
	blobs := b.blobCount(t)
	v2, err := b.research.UploadAppVersion(ctx, "markers", client.AppUpload{Module: markers,
		Signature: signing.Sign(b.signer.Key, markers), Ops: 3e12, MemoryMiB: 512, DiskMiB: 10, DeadlineSeconds: 7200})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || v2.Ops != 3e12 || v2.MemoryMiB != 512 || v2.DiskMiB != 10 || v2.DeadlineSeconds != 7200 ||
		v2.DeprecatedAt != nil || v2.Signature != signing.Encode(signing.Sign(b.signer.Key, markers)) {
		t.Errorf("second upload = %+v, want version 2 with the estimates given and its signature", v2)
	}
	if n := b.blobCount(t); n != blobs {
		t.Errorf("blobs after uploading the same module again = %d, want %d", n, blobs)
	}
	versions, err := b.research.AppVersions(ctx, "markers")
	if err != nil || len(versions) != 2 || versions[0].SHA256 != versions[1].SHA256 {
		t.Fatalf("GET versions = %+v, %v; want two versions of one module", versions, err)
	}
	if v1 := versions[0]; v1.Ops != 1e12 || v1.MemoryMiB != 256 || v1.DiskMiB != 64 || v1.DeadlineSeconds != 3600 {
		t.Errorf("version 1 = %+v, want the default estimates", v1)
	}
	if got, err := b.research.AppVersion(ctx, "markers", 2); err != nil || !reflect.DeepEqual(got, v2) {
		t.Errorf("GET version 2 = %+v, %v; want %+v", got, err, v2)
	}
	if apps, err := b.research.Apps(ctx); err != nil || len(apps) != 1 || apps[0].Name != "markers" || apps[0].Versions != 2 || apps[0].LatestVersion != 2 {
		t.Errorf("GET /apps = %+v, %v", apps, err)
	}

	// A job on version 2, then version 2 deprecated: new jobs cannot name
	// it, version 0 means version 1, and the running job carries on.
	running, err := b.research.SubmitJob(ctx, api.SubmitJobRequest{App: "markers", Version: 2, Units: []json.RawMessage{json.RawMessage(`{"k":1,"seed":1,"n":5}`)}})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := b.research.DeprecateAppVersion(ctx, "markers", 2)
	if err != nil || dep.DeprecatedAt == nil {
		t.Fatalf("deprecate = %+v, %v", dep, err)
	}
	again, err := b.research.DeprecateAppVersion(ctx, "markers", 2)
	if err != nil || again.DeprecatedAt == nil || !again.DeprecatedAt.Equal(*dep.DeprecatedAt) {
		t.Errorf("deprecating again = %+v, %v; want it unchanged (deprecated at %v)", again, err, dep.DeprecatedAt)
	}
	_, err = b.research.SubmitJob(ctx, api.SubmitJobRequest{App: "markers", Version: 2, Units: []json.RawMessage{json.RawMessage(`{"k":1}`)}})
	wantStatus(t, err, http.StatusConflict, "deprecated")
	if _, err := b.research.SubmitJob(ctx, api.SubmitJobRequest{App: "markers", Units: []json.RawMessage{json.RawMessage(`{"k":1,"seed":1,"n":5}`)}}); err != nil {
		t.Errorf("a job naming no version after version 2 was deprecated: %v", err)
	}
	if apps, err := b.research.Apps(ctx); err != nil || len(apps) != 1 || apps[0].LatestVersion != 1 {
		t.Errorf("GET /apps after deprecating version 2 = %+v, %v; want latest 1", apps, err)
	}
	host := b.host(t, b.contributor(t, "Ada"), "pc")
	work, err := host.RequestWork(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, task := range work.Tasks {
		if task.JobID == running.ID {
			found = true
		}
		if task.ProjectID != b.project.ID || signing.Verify(task.SigningKey, markers, task.ModuleSignature) != nil {
			t.Errorf("leased task = project %d, key %x, signature %x; want project %d and a signature that verifies",
				task.ProjectID, task.SigningKey, task.ModuleSignature, b.project.ID)
		}
	}
	if !found {
		t.Errorf("no task of job %d on the deprecated version was leased: running jobs must carry on", running.ID)
	}
	if _, err := b.research.DeprecateAppVersion(ctx, "markers", 1); err != nil {
		t.Fatal(err)
	}
	_, err = b.research.SubmitJob(ctx, api.SubmitJobRequest{App: "markers", Units: []json.RawMessage{json.RawMessage(`{"k":1}`)}})
	wantStatus(t, err, http.StatusNotFound, "every version of it is deprecated")

	// Another project sees none of it.
	other, err := b.operator.CreateProject(ctx, "other lab")
	if err != nil {
		t.Fatal(err)
	}
	theirs := b.operator.WithKey(other.APIKey)
	if apps, err := theirs.Apps(ctx); err != nil || len(apps) != 0 {
		t.Errorf("another project's GET /apps = %+v, %v; want none", apps, err)
	}
	_, err = theirs.AppVersions(ctx, "markers")
	wantStatus(t, err, http.StatusNotFound, `app "markers" not found`)
	_, err = theirs.AppVersion(ctx, "markers", 1)
	wantStatus(t, err, http.StatusNotFound, `app "markers" has no version 1`)
	_, err = theirs.DeprecateAppVersion(ctx, "markers", 1)
	wantStatus(t, err, http.StatusNotFound, `app "markers" has no version 1`)
	_, err = theirs.SubmitJob(ctx, api.SubmitJobRequest{App: "markers", Version: 1, Units: []json.RawMessage{json.RawMessage(`{"k":1}`)}})
	wantStatus(t, err, http.StatusNotFound, `app "markers" has no version 1`)
}

// zeros is an endless body of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestAppVersionBadInputChangesNothing(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	markers, _ := buildPrograms(t)
	stranger, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	unkeyed, err := b.operator.CreateProject(ctx, "no key yet")
	if err != nil {
		t.Fatal(err)
	}
	sig := func(priv []byte, module []byte) http.Header {
		return http.Header{api.SignatureHeader: {signing.Encode(signing.Sign(priv, module))}}
	}
	broken := []byte("\x00asm\x01\x00\x00\x00\x01\x05")
	key := b.project.APIKey
	upload := "/api/v1/apps/markers/versions"
	tests := []struct {
		name       string
		method     string
		path       string
		key        string
		body       io.Reader
		header     http.Header
		wantStatus int
		wantInMsg  string
	}{
		{"no signature", "POST", upload, key, strings.NewReader(string(markers)), nil, 400, "Nightshift-Signature header is required"},
		{"signed by another key", "POST", upload, key, strings.NewReader(string(markers)), sig(stranger, markers), 400, "does not verify"},
		{"signature of another module", "POST", upload, key, strings.NewReader(string(markers)), sig(b.signer.Key, broken), 400, "does not verify"},
		{"signature not base64", "POST", upload, key, strings.NewReader(string(markers)), http.Header{api.SignatureHeader: {"%%%"}}, 400, "Nightshift-Signature header"},
		{"signature too short", "POST", upload, key, strings.NewReader(string(markers)), http.Header{api.SignatureHeader: {signing.Encode(make([]byte, 10))}}, 400, "Nightshift-Signature header"},
		{"project without a key", "POST", upload, unkeyed.APIKey, strings.NewReader(string(markers)), sig(b.signer.Key, markers), 409, "the operator must set one"},
		{"module that does not compile", "POST", upload, key, strings.NewReader(string(broken)), sig(b.signer.Key, broken), 400, "does not compile"},
		{"oversized module", "POST", upload, key, io.LimitReader(zeros{}, service.MaxModuleSize+1), nil, 413, "over"},
		{"ops zero", "POST", upload + "?ops=0", key, strings.NewReader(string(markers)), sig(b.signer.Key, markers), 400, "ops"},
		{"ops not a number", "POST", upload + "?ops=lots", key, strings.NewReader(string(markers)), sig(b.signer.Key, markers), 400, "ops"},
		{"ops too many", "POST", upload + "?ops=9000000000000000000", key, strings.NewReader(string(markers)), sig(b.signer.Key, markers), 400, "ops must be between"},
		{"memory too large", "POST", upload + "?memory_mib=5000", key, strings.NewReader(string(markers)), sig(b.signer.Key, markers), 400, "memory_mib"},
		{"memory negative", "POST", upload + "?memory_mib=-1", key, strings.NewReader(string(markers)), sig(b.signer.Key, markers), 400, "memory_mib"},
		{"disk overflowing", "POST", upload + "?disk_mib=99999999999999999999", key, strings.NewReader(string(markers)), sig(b.signer.Key, markers), 400, "disk_mib"},
		{"deadline that would wrap", "POST", upload + "?deadline_seconds=18446744075", key, strings.NewReader(string(markers)), sig(b.signer.Key, markers), 400, "deadline_seconds"},
		{"deadline too long", "POST", upload + "?deadline_seconds=2592001", key, strings.NewReader(string(markers)), sig(b.signer.Key, markers), 400, "deadline_seconds"},
		{"version not a number", "GET", "/api/v1/apps/markers/versions/abc", key, nil, nil, 400, "version"},
		{"version zero", "GET", "/api/v1/apps/markers/versions/0", key, nil, nil, 400, "version"},
		{"unknown version", "GET", "/api/v1/apps/markers/versions/9", key, nil, nil, 404, "no version 9"},
		{"unknown app", "GET", "/api/v1/apps/nope/versions", key, nil, nil, 404, `app "nope" not found`},
		{"deprecate unknown version", "POST", "/api/v1/apps/markers/versions/9/deprecate", key, nil, nil, 404, "no version 9"},
		{"deprecate version zero", "POST", "/api/v1/apps/markers/versions/0/deprecate", key, nil, nil, 400, "version"},
		{"list apps without a key", "GET", "/api/v1/apps", "", nil, nil, 401, "missing credentials"},
		{"host token cannot upload", "POST", upload, "nsh_nope", strings.NewReader(string(markers)), sig(b.signer.Key, markers), 401, "invalid project key"},
	}
	snapshot := func() string {
		versions, err := b.research.AppVersions(ctx, "markers")
		if err != nil {
			t.Fatal(err)
		}
		apps, err := b.research.Apps(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(map[string]any{"versions": versions, "apps": apps, "blobs": b.blobCount(t)})
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	before := snapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := ""
			if tt.method == "POST" && tt.body != nil {
				ct = "application/wasm"
			}
			status, raw := b.call(t, tt.method, tt.path, tt.key, ct, tt.body, tt.header)
			var e api.ErrorResponse
			if status != tt.wantStatus || json.Unmarshal(raw, &e) != nil || e.Error.Code == "" || !strings.Contains(e.Error.Message, tt.wantInMsg) {
				t.Errorf("%s %s = %d %.300s, want a JSON error %d mentioning %q", tt.method, tt.path, status, raw, tt.wantStatus, tt.wantInMsg)
			}
		})
	}
	if after := snapshot(); after != before {
		t.Errorf("bad requests changed stored state:\nbefore %s\nafter  %s", before, after)
	}
	if apps, err := b.operator.WithKey(unkeyed.APIKey).Apps(ctx); err != nil || len(apps) != 0 {
		t.Errorf("the project without a key has apps %+v, %v; want none", apps, err)
	}
}
