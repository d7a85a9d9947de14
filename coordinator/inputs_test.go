package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/appbuild"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/daemon"
	"github.com/nightshift-platform/nightshift/coordinator/daemon/daemontest"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/signing"
	"github.com/nightshift-platform/nightshift/coordinator/store/postgres/pgtest"
	"github.com/nightshift-platform/nightshift/workunits"
	"github.com/nightshift-platform/nightshift/workunits/chunkstat"
)

// call sends one raw request and returns the status and body.
func call(t *testing.T, method, url, key, contentType, body string, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
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
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode >= 400 && ct != "application/json" {
		t.Errorf("%s %s: error with Content-Type %q", method, url, ct)
	}
	return resp.StatusCode, raw
}

// wantJSONError fails the test unless raw is a JSON error mentioning want.
func wantJSONError(t *testing.T, status, wantStatus int, raw []byte, want string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("status = %d, want %d; body %s", status, wantStatus, raw)
	}
	var body api.ErrorResponse
	if err := json.Unmarshal(raw, &body); err != nil || body.Error.Code == "" {
		t.Fatalf("body is not a JSON error: %s", raw)
	}
	if !strings.Contains(body.Error.Message, want) {
		t.Errorf("message = %q, want it to mention %q", body.Error.Message, want)
	}
}

// secondProject creates another funded project on b's coordinator.
func (b *bundle) secondProject(t *testing.T) *client.Client {
	t.Helper()
	ctx := context.Background()
	p, err := b.operator.CreateProject(ctx, "other lab")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.operator.FundProject(ctx, p.ID, api.FundRequest{AmountMicros: 10_000_000, IdempotencyKey: "other"}); err != nil {
		t.Fatal(err)
	}
	// The same signer as the first project's, so b.signer uploads to both.
	if _, err := b.operator.SetSigningKey(ctx, p.ID, signing.Encode(signing.PublicKey(b.signer.Key))); err != nil {
		t.Fatal(err)
	}
	return b.operator.WithKey(p.APIKey)
}

func upload(t *testing.T, c *client.Client, data string) (api.Blob, bool) {
	t.Helper()
	blob, created, err := c.UploadBlob(context.Background(), strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return blob, created
}

func blobList(t *testing.T, c *client.Client) []string {
	t.Helper()
	var out []string
	after := ""
	for {
		page, err := c.Blobs(context.Background(), after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Blobs {
			out = append(out, b.SHA256)
		}
		if page.NextCursor == "" {
			return out
		}
		after = page.NextCursor
	}
}

func TestBlobUploadListGetAndTenancy(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	other := b.secondProject(t)

	data := strings.Repeat("ACGT", 300_000) // over one stored part
	blob, created := upload(t, b.research, data)
	if !created || blob.SHA256 != workunits.Hash([]byte(data)) || blob.Size != int64(len(data)) {
		t.Fatalf("upload = %+v created %v", blob, created)
	}
	if again, created := upload(t, b.research, data); created || again != blob {
		t.Errorf("second upload = %+v created %v, want the first, not created", again, created)
	}
	rc, err := b.research.Blob(ctx, blob.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(got) != data {
		t.Errorf("download: %d bytes, %v; want the %d uploaded", len(got), err, len(data))
	}

	// Listing pages through every blob of the project, none of another's.
	small := []string{"one\n", "two\n", "three\n"}
	want := []string{blob.SHA256}
	for _, s := range small {
		bl, _ := upload(t, b.research, s)
		want = append(want, bl.SHA256)
	}
	upload(t, other, "only the other project's\n")
	got2 := blobList(t, b.research)
	if fmt.Sprint(got2) != fmt.Sprint(slices.Sorted(slices.Values(want))) {
		t.Errorf("listed %v, want %v in hash order", got2, slices.Sorted(slices.Values(want)))
	}

	// Another project: the blob exists but is not theirs.
	status, raw := call(t, "GET", b.coord.URL+"/api/v1/blobs/"+blob.SHA256, other.Key(), "", "")
	wantJSONError(t, status, 404, raw, "blob "+blob.SHA256+" not found")
	// Uploading the same bytes makes it theirs too (stored once).
	if bl, created := upload(t, other, data); !created || bl.SHA256 != blob.SHA256 {
		t.Errorf("other project's upload = %+v created %v, want created", bl, created)
	}
	if l := blobList(t, other); len(l) != 2 {
		t.Errorf("other project lists %d blobs, want 2", len(l))
	}

	status, raw = call(t, "GET", b.coord.URL+"/api/v1/blobs/nothex", b.project.APIKey, "", "")
	wantJSONError(t, status, 400, raw, "SHA-256")
	status, raw = call(t, "GET", b.coord.URL+"/api/v1/blobs/"+strings.Repeat("0", 64), b.project.APIKey, "", "")
	wantJSONError(t, status, 404, raw, "not found")
	status, raw = call(t, "GET", b.coord.URL+"/api/v1/blobs?cursor=zzz", b.project.APIKey, "", "")
	wantJSONError(t, status, 400, raw, "bad cursor")
	status, raw = call(t, "POST", b.coord.URL+"/api/v1/blobs", "", "", "x")
	wantJSONError(t, status, 401, raw, "missing credentials")
}

func TestBlobOverLimitIs413AndStoresNothing(t *testing.T) {
	opKey := service.NewKey(service.OperatorKeyPrefix)
	coord := daemontest.Start(t, daemon.Config{DB: "sqlite:" + filepath.Join(t.TempDir(), "test.db"), OperatorKey: opKey, MaxBlobSize: 1000})
	ctx := context.Background()
	op := client.New(coord.URL, opKey, nil)
	p, err := op.CreateProject(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	status, raw := call(t, "POST", coord.URL+"/api/v1/blobs", p.APIKey, "text/plain", strings.Repeat("x", 1001))
	wantJSONError(t, status, 413, raw, "over 1000 bytes")
	if l := blobList(t, op.WithKey(p.APIKey)); len(l) != 0 {
		t.Errorf("blobs after a refused upload: %v", l)
	}
	if _, created := upload(t, op.WithKey(p.APIKey), strings.Repeat("x", 1000)); !created {
		t.Error("a blob of exactly the limit was refused")
	}
}

// fasta is a FASTA file of n records.
func fasta(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, ">seq%d description\n%s\n%s\n", i, strings.Repeat("ACGT", 10+i%5), strings.Repeat("TTGA", 3+i%4))
	}
	return b.String()
}

func TestChunksJobBadInputChangesNothing(t *testing.T) {
	b := setup(t)
	other := b.secondProject(t)
	theirs, _ := upload(t, other, "their data\n")
	mine, _ := upload(t, b.research, fasta(5))
	empty, _ := upload(t, b.research, "")
	job := b.submit(t, api.Policy{MinQuorum: 1, TargetReplicas: 1}, 100, `{"k":1,"seed":1,"n":10}`)
	blobsBefore := blobList(t, b.research)

	sub := func(chunks string) string {
		return `{"app":"markers","reward_micros":100,"chunks":` + chunks + `}`
	}
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantInMsg  string
	}{
		{"unknown blob", sub(`{"blob":"` + strings.Repeat("a", 64) + `","by":"lines","size":1}`), 404, "blob " + strings.Repeat("a", 64) + " not found"},
		{"another project's blob", sub(`{"blob":"` + theirs.SHA256 + `","by":"lines","size":1}`), 404, "blob " + theirs.SHA256 + " not found"},
		{"bad by", sub(`{"blob":"` + mine.SHA256 + `","by":"words","size":1}`), 400, "chunks.by"},
		{"zero size", sub(`{"blob":"` + mine.SHA256 + `","by":"lines","size":0}`), 400, "chunks.size"},
		{"negative size", sub(`{"blob":"` + mine.SHA256 + `","by":"bytes","size":-5}`), 400, "chunks.size"},
		{"bad sha format", sub(`{"blob":"ABC","by":"lines","size":1}`), 400, "chunks.blob"},
		{"empty blob, zero units", sub(`{"blob":"` + empty.SHA256 + `","by":"lines","size":1}`), 400, "no units"},
		{"separator with lines", sub(`{"blob":"` + mine.SHA256 + `","by":"lines","size":1,"separator":">"}`), 400, "separator"},
		{"units and chunks", `{"app":"markers","units":[1],"chunks":{"blob":"` + mine.SHA256 + `","by":"lines","size":1}}`, 400, "only one of"},
		{"no units at all", `{"app":"markers"}`, 400, "units"},
		{"splitter not matching", `{"app":"markers","splitter":"sweep","units":[1]}`, 400, "does not match"},
		{"unknown splitter", `{"app":"markers","splitter":"magic","units":[1]}`, 400, "splitter must be"},
		{"unknown chunks field", sub(`{"blob":"` + mine.SHA256 + `","by":"lines","size":1,"colour":1}`), 400, "unknown field"},
		{"budget cap below the worst case", `{"app":"markers","units":[1,2],"reward_micros":100,"budget_cap_micros":500}`, 400, "500"},
		{"negative budget cap", `{"app":"markers","units":[1],"budget_cap_micros":-1}`, 400, "budget_cap_micros"},
		{"unknown app with chunks", `{"app":"nosuch","chunks":{"blob":"` + mine.SHA256 + `","by":"records","size":1}}`, 404, "nosuch"},
	}
	before := b.snapshot(t, job.ID)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, raw := call(t, "POST", b.coord.URL+"/api/v1/jobs", b.project.APIKey, "application/json", tt.body)
			wantJSONError(t, status, tt.wantStatus, raw, tt.wantInMsg)
		})
	}
	if after := b.snapshot(t, job.ID); after != before {
		t.Errorf("bad submissions changed stored state:\nbefore %s\nafter  %s", before, after)
	}
	if after := blobList(t, b.research); fmt.Sprint(after) != fmt.Sprint(blobsBefore) {
		t.Errorf("blobs changed: %v, were %v", after, blobsBefore)
	}
	// No job was made: the next one gets the next id.
	if next := b.submit(t, api.Policy{}, 0, `{"k":1,"seed":1,"n":10}`); next.ID != job.ID+1 {
		t.Errorf("next job id = %d, want %d (a refused submission made a job)", next.ID, job.ID+1)
	}
	// The budget cap's message names both numbers.
	status, raw := call(t, "POST", b.coord.URL+"/api/v1/jobs", b.project.APIKey, "application/json",
		`{"app":"markers","units":[1,2],"reward_micros":100,"policy":{"max_total_replicas":4},"budget_cap_micros":500}`)
	wantJSONError(t, status, 400, raw, "up to 800 micros")
	wantJSONError(t, status, 400, raw, "budget_cap_micros of 500")
}

func TestHostFetchesOnlyItsTasksRanges(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	data := fasta(6)
	blob, _ := upload(t, b.research, data)
	unused, _ := upload(t, b.research, "not in any job\n")
	job, err := b.research.SubmitJob(ctx, api.SubmitJobRequest{App: "markers", Policy: api.Policy{MinQuorum: 1, TargetReplicas: 1},
		Chunks: &api.Chunks{Blob: blob.SHA256, By: "records", Size: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if job.UnitCount != 3 {
		t.Fatalf("unit count = %d, want 3 (6 records by 2)", job.UnitCount)
	}
	host := b.host(t, b.contributor(t, "Ada"), "pc")
	idle := b.host(t, b.contributor(t, "Bob"), "idle-pc")
	work, err := host.RequestWork(ctx, 1)
	if err != nil || len(work.Tasks) != 1 {
		t.Fatalf("lease: %+v, %v", work, err)
	}
	task := work.Tasks[0]
	ref := task.InputRef
	if ref == nil || ref.Blob != blob.SHA256 || ref.Offset != 0 || len(task.Input) != 0 && string(task.Input) != "null" {
		t.Fatalf("leased task = %+v, want an input ref at the blob's start and no inline input", task)
	}
	rc, err := host.BlobRange(ctx, *ref)
	if err != nil {
		t.Fatal(err)
	}
	chunk, _ := io.ReadAll(rc)
	rc.Close()
	if string(chunk) != data[:ref.Length] || workunits.Hash(chunk) != ref.SHA256 || strings.Count(string(chunk), ">") != 2 {
		t.Errorf("range = %q, want the first two records", chunk)
	}

	// The second unit's range, from its detail: the host has no task of it.
	second, err := b.research.Unit(ctx, job.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref2 := second.InputRef
	if ref2 == nil || ref2.Blob != blob.SHA256 || ref2.Offset != ref.Offset+ref.Length {
		t.Fatalf("unit 1 input ref = %+v, want the range after %+v", ref2, ref)
	}

	rangeURL := func(sha string, off, n int64) string {
		return fmt.Sprintf("%s/api/v1/blobs/%s/range?offset=%d&length=%d", b.coord.URL, sha, off, n)
	}
	tests := []struct {
		name       string
		url        string
		key        string
		wantStatus int
		wantInMsg  string
	}{
		{"host without a task of the blob", rangeURL(blob.SHA256, 0, 10), idle.Key(), 404, "not found"},
		{"blob no task uses", rangeURL(unused.SHA256, 0, 5), host.Key(), 404, "not found"},
		{"another unit's range", rangeURL(blob.SHA256, ref2.Offset, ref2.Length), host.Key(), 404, "not found"},
		{"the whole blob", rangeURL(blob.SHA256, 0, blob.Size), host.Key(), 404, "not found"},
		{"part of its unit's range", rangeURL(blob.SHA256, ref.Offset, ref.Length-1), host.Key(), 404, "not found"},
		{"its range and more", rangeURL(blob.SHA256, ref.Offset, ref.Length+1), host.Key(), 404, "not found"},
		{"range past the end", rangeURL(blob.SHA256, blob.Size-2, 5), host.Key(), 404, "not found"},
		{"offset past the end", rangeURL(blob.SHA256, blob.Size+1, 0), host.Key(), 404, "not found"},
		{"negative offset", b.coord.URL + "/api/v1/blobs/" + blob.SHA256 + "/range?offset=-1&length=1", host.Key(), 400, "offset"},
		{"missing length", b.coord.URL + "/api/v1/blobs/" + blob.SHA256 + "/range?offset=0", host.Key(), 400, "length"},
		{"bad sha", rangeURL("xyz", 0, 1), host.Key(), 400, "SHA-256"},
		{"project key", rangeURL(blob.SHA256, 0, 1), b.project.APIKey, 401, "host token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, raw := call(t, "GET", tt.url, tt.key, "", "")
			wantJSONError(t, status, tt.wantStatus, raw, tt.wantInMsg)
		})
	}
	// Once reported, the task no longer lets the host read the blob.
	if _, err := host.Report(ctx, []api.Report{{TaskID: task.ID, Outcome: "success", Output: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	status, raw := call(t, "GET", rangeURL(blob.SHA256, ref.Offset, ref.Length), host.Key(), "", "")
	wantJSONError(t, status, 404, raw, "not found")
}

func TestIdempotencyKey(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	req := api.SubmitJobRequest{App: "markers", Units: []json.RawMessage{json.RawMessage(`{"k":1,"seed":1,"n":10}`)}, RewardMicros: 10}
	first, created, err := b.research.SubmitJobOnce(ctx, "key-1", req)
	if err != nil || !created {
		t.Fatalf("first submit: %+v created %v, %v", first, created, err)
	}
	budget := func() int64 {
		p, err := b.research.Project(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return p.BudgetMicros
	}
	before := budget()
	again, created, err := b.research.SubmitJobOnce(ctx, "key-1", req)
	if err != nil || created || again.ID != first.ID {
		t.Errorf("repeat: job %d created %v, %v; want job %d, not created", again.ID, created, err, first.ID)
	}
	status, raw := call(t, "POST", b.coord.URL+"/api/v1/jobs", b.project.APIKey, "application/json",
		`{"app":"markers","units":[{"k":2,"seed":1,"n":10}]}`, "Idempotency-Key", "key-1")
	wantJSONError(t, status, 409, raw, "different request")
	if got := budget(); got != before {
		t.Errorf("budget moved from %d to %d on repeats", before, got)
	}
	// Keys are per project.
	other := b.secondProject(t)
	markers, _ := buildPrograms(t)
	if _, err := b.signer.Upload(ctx, other, "markers", markers); err != nil {
		t.Fatal(err)
	}
	if j, created, err := other.SubmitJobOnce(ctx, "key-1", req); err != nil || !created || j.ID == first.ID {
		t.Errorf("other project with the same key: job %d created %v, %v; want a new job", j.ID, created, err)
	}
	status, raw = call(t, "POST", b.coord.URL+"/api/v1/jobs", b.project.APIKey, "application/json",
		`{"app":"markers","units":[1]}`, "Idempotency-Key", strings.Repeat("k", 300))
	wantJSONError(t, status, 400, raw, "Idempotency-Key")
}

// TestIdempotencyKeyConcurrent submits one job many times at once under
// one key, on each store: exactly one job is made and paid for.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	stores := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "test.db") },
		"postgres": func(t *testing.T) string { return pgtest.NewSchema(t) },
	}
	for name, dbURL := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			opKey := service.NewKey(service.OperatorKeyPrefix)
			coord := daemontest.Start(t, daemon.Config{DB: dbURL(t), OperatorKey: opKey})
			op := client.New(coord.URL, opKey, nil)
			p, err := op.CreateProject(ctx, "lab")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := op.FundProject(ctx, p.ID, api.FundRequest{AmountMicros: 1_000_000, IdempotencyKey: "f"}); err != nil {
				t.Fatal(err)
			}
			research := op.WithKey(p.APIKey)
			signer, err := op.EnrollSigner(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := signer.Upload(ctx, research, "table", emptyModule); err != nil {
				t.Fatal(err)
			}
			req := api.SubmitJobRequest{App: "table", Units: []json.RawMessage{json.RawMessage(`1`), json.RawMessage(`2`)},
				RewardMicros: 1000, Policy: api.Policy{MaxTotalReplicas: 3}}
			const n = 8
			ids, created := make([]int64, n), make([]bool, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					j, c, err := research.SubmitJobOnce(ctx, "same", req)
					if err != nil {
						t.Errorf("submit %d: %v", i, err)
					}
					ids[i], created[i] = j.ID, c
				})
			}
			wg.Wait()
			made := 0
			for i := range n {
				if created[i] {
					made++
				}
				if ids[i] != ids[0] {
					t.Errorf("submit %d got job %d, submit 0 job %d", i, ids[i], ids[0])
				}
			}
			if made != 1 {
				t.Errorf("%d submissions created a job, want 1", made)
			}
			proj, err := research.Project(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(1_000_000 - 2*3*1000); proj.BudgetMicros != want {
				t.Errorf("budget = %d, want %d (one escrow)", proj.BudgetMicros, want)
			}
		})
	}
}

var chunkstatWasm struct {
	once sync.Once
	wasm []byte
	err  error
}

func buildChunkstat(t *testing.T) []byte {
	t.Helper()
	chunkstatWasm.once.Do(func() {
		out := filepath.Join(t.TempDir(), "chunkstat.wasm")
		if chunkstatWasm.err = appbuild.Wasm(context.Background(), "./workunits/chunkstat/cmd/chunkstat", out); chunkstatWasm.err == nil {
			chunkstatWasm.wasm, chunkstatWasm.err = os.ReadFile(out)
		}
	})
	if chunkstatWasm.err != nil {
		t.Fatalf("building chunkstat: %v", chunkstatWasm.err)
	}
	return chunkstatWasm.wasm
}

// TestChunksJobEndToEnd uploads a FASTA file, cuts it into units of three
// records, and has real workers fetch each unit's range and run an app on
// it: every canonical output describes exactly its chunk.
func TestChunksJobEndToEnd(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	if _, err := b.signer.Upload(ctx, b.research, "chunkstat", buildChunkstat(t)); err != nil {
		t.Fatal(err)
	}
	data := fasta(10)
	blob, _ := upload(t, b.research, data)
	job, err := b.research.SubmitJob(ctx, api.SubmitJobRequest{App: "chunkstat", Splitter: "chunks",
		Chunks: &api.Chunks{Blob: blob.SHA256, By: "records", Size: 3}, RewardMicros: 10,
		Policy: api.Policy{MinQuorum: 2, TargetReplicas: 2, DeadlineSeconds: 60}})
	if err != nil {
		t.Fatal(err)
	}
	if job.UnitCount != 4 {
		t.Fatalf("unit count = %d, want 4 (10 records by 3)", job.UnitCount)
	}
	startAgent(t, b.host(t, b.contributor(t, "Ada"), "ada-pc"), nil)
	startAgent(t, b.host(t, b.contributor(t, "Grace"), "grace-pc"), nil)
	waitFor(t, 60*time.Second, "the job to finish", func() bool { return b.job(t, job.ID).State == string(workunits.JobDone) })

	results := b.results(t, job.ID)
	if len(results) != 4 {
		t.Fatalf("%d results, want 4", len(results))
	}
	var next int64
	wantRecords := []int64{3, 3, 3, 1}
	for i, r := range results {
		if r.State != string(workunits.UnitDone) || r.InputRef == nil || r.Input != nil {
			t.Fatalf("unit %d: %+v, want done with an input ref and no inline input", i, r)
		}
		ref := r.InputRef
		if ref.Blob != blob.SHA256 || ref.Offset != next {
			t.Errorf("unit %d ref %+v, want blob %s from %d", i, ref, blob.SHA256, next)
		}
		next = ref.Offset + ref.Length
		chunk := data[ref.Offset:next]
		st, err := chunkstat.Stat(strings.NewReader(chunk))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(st)
		if !bytes.Equal(r.Output, append(want, '\n')) {
			t.Errorf("unit %d output %s, want %s", i, r.Output, want)
		}
		if st.Records != wantRecords[i] || st.SHA256 != ref.SHA256 {
			t.Errorf("unit %d chunk has %d records (hash %s), want %d (hash %s)", i, st.Records, st.SHA256, wantRecords[i], ref.SHA256)
		}
	}
	if next != blob.Size {
		t.Errorf("units cover %d bytes of %d", next, blob.Size)
	}
	// The unit listing and a unit's detail show each unit's ref.
	page, err := b.research.Units(ctx, job.ID, client.ListOptions{})
	if err != nil || len(page.Units) != 4 {
		t.Fatalf("units: %+v, %v", page, err)
	}
	for i, u := range page.Units {
		if u.InputRef == nil || *u.InputRef != *results[i].InputRef {
			t.Errorf("listed unit %d input ref = %+v, want %+v", i, u.InputRef, results[i].InputRef)
		}
	}
	if u, err := b.research.Unit(ctx, job.ID, 3); err != nil || u.InputRef == nil || *u.InputRef != *results[3].InputRef {
		t.Errorf("unit 3 = %+v, %v; want input ref %+v", u, err, results[3].InputRef)
	}
	status, raw := call(t, "GET", fmt.Sprintf("%s/api/v1/jobs/%d/units", b.coord.URL, job.ID), b.project.APIKey, "", "")
	if status != 200 || !strings.Contains(string(raw), `"input_ref":{"blob":"`+blob.SHA256) {
		t.Errorf("unit listing = %s (status %d), want input_ref", raw, status)
	}
	// The NDJSON shows input_ref, not input.
	status, raw = call(t, "GET", fmt.Sprintf("%s/api/v1/jobs/%d/results", b.coord.URL, job.ID), b.project.APIKey, "", "")
	if first := strings.SplitN(string(raw), "\n", 2)[0]; status != 200 || !strings.Contains(first, `"input_ref":{"blob":"`+blob.SHA256) || strings.Contains(first, `"input":`) {
		t.Errorf("results line = %s (status %d), want input_ref and no input", first, status)
	}
	b.audit(t)
}
