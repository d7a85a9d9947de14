package main

import (
	"context"
	"slices"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
)

// Retiring a job gives back the input blobs its units read: the project
// can no longer get or list a blob no other of its unretired jobs reads,
// and a blob nobody holds is deleted; another project's upload of the same
// bytes stays its own.
func TestRetireReleasesInputBlobs(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	other := b.secondProject(t)
	host := b.host(t, b.contributor(t, "Ada"), "ada-pc")
	ownData, sharedData := fasta(3), fasta(4)
	own, _ := upload(t, b.research, ownData)
	shared, _ := upload(t, b.research, sharedData)
	if theirs, created := upload(t, other, sharedData); !created || theirs.SHA256 != shared.SHA256 {
		t.Fatalf("other project's upload = %+v created %v", theirs, created)
	}
	chunksJob := func(sha string) api.Job {
		t.Helper()
		job, err := b.research.SubmitJob(ctx, api.SubmitJobRequest{App: "markers", RewardMicros: 100,
			Policy: api.Policy{MinQuorum: 1, TargetReplicas: 1},
			Chunks: &api.Chunks{Blob: sha, By: "records", Size: 100}})
		if err != nil {
			t.Fatal(err)
		}
		if job.UnitCount != 1 {
			t.Fatalf("job %d has %d units, want 1", job.ID, job.UnitCount)
		}
		return job
	}
	retire := func(job api.Job) {
		t.Helper()
		status, raw := callJSON(t, "POST", b.coord.URL+"/api/v1/jobs/"+itoa(job.ID)+"/retire", b.project.APIKey, "")
		if status != 200 {
			t.Fatalf("retire job %d: %d %s", job.ID, status, raw)
		}
	}
	// readable checks GET /blobs/{sha} with c's key: 200 with the bytes,
	// or 404, and whether the list shows it.
	readable := func(c *client.Client, sha, data string, want bool) {
		t.Helper()
		status, raw := call(t, "GET", b.coord.URL+"/api/v1/blobs/"+sha, c.Key(), "", "")
		switch {
		case want && (status != 200 || string(raw) != data):
			t.Errorf("GET blob %.8s: %d, %d bytes; want 200 with the %d uploaded", sha, status, len(raw), len(data))
		case !want:
			wantJSONError(t, status, 404, raw, "blob "+sha+" not found")
		}
		if listed := slices.Contains(blobList(t, c), sha); listed != want {
			t.Errorf("blob %.8s listed: %v, want %v", sha, listed, want)
		}
	}

	// A job to done, on a blob only this project uploaded.
	ownJob := chunksJob(own.SHA256)
	b.finish(t, host, ownJob)
	retire(ownJob)
	readable(b.research, own.SHA256, ownData, false)
	// Submitting on it again is refused like any unknown blob.
	status, raw := call(t, "POST", b.coord.URL+"/api/v1/jobs", b.project.APIKey, "application/json",
		`{"app":"markers","chunks":{"blob":"`+own.SHA256+`","by":"records","size":100}}`)
	wantJSONError(t, status, 404, raw, "blob "+own.SHA256+" not found")
	// Uploading the bytes again stores them again.
	if again, created := upload(t, b.research, ownData); !created || again.SHA256 != own.SHA256 {
		t.Errorf("upload after release = %+v created %v, want created", again, created)
	}
	readable(b.research, own.SHA256, ownData, true)

	// Two jobs on the shared blob: one done, one cancelled. Retiring the
	// first keeps the blob for the second.
	doneJob := chunksJob(shared.SHA256)
	b.finish(t, host, doneJob)
	cancelled := chunksJob(shared.SHA256)
	if status, raw := callJSON(t, "POST", b.coord.URL+"/api/v1/jobs/"+itoa(cancelled.ID)+"/cancel", b.project.APIKey, ""); status != 200 {
		t.Fatalf("cancel: %d %s", status, raw)
	}
	retire(doneJob)
	readable(b.research, shared.SHA256, sharedData, true)
	retire(cancelled)
	readable(b.research, shared.SHA256, sharedData, false)
	// The other project uploaded the same bytes: they are still its own.
	readable(other, shared.SHA256, sharedData, true)
}
