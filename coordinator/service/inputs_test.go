package service

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/workunits"
)

// failingBody reads some bytes, then fails as a broken connection would.
type failingBody struct{ sent bool }

func (f *failingBody) Read(p []byte) (int, error) {
	if !f.sent {
		f.sent = true
		return copy(p, "some bytes"), nil
	}
	return 0, errors.New("connection reset by peer")
}

// Only a failure to read the body is the request's fault (EINVALID); a
// failure to write the upload where it waits is the coordinator's.
func TestUploadBlobErrorsBlameTheRightSide(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	_, _, err := b.svc.UploadBlob(ctx, b.project.ID, &failingBody{})
	if workunits.ErrorCode(err) != workunits.EINVALID || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("a body that fails to read: %v, want EINVALID", err)
	}
	// Writes to a temporary file that cannot take them fail: an internal
	// error, whatever the body.
	var w io.Writer = failingWriter{}
	_, err = copyUpload(w, strings.NewReader("fine bytes"), 100)
	if err == nil || workunits.ErrorCode(err) == workunits.EINVALID {
		t.Errorf("a failing write: %v, want an internal error", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }
