// Command markers is the cancer-markers app as volunteers run it: built for
// GOOS=wasip1 GOARCH=wasm, it reads one JSON work unit (markers.Input) on
// stdin and writes its markers.Output as one JSON line on stdout. On bad
// input it writes the reason to stderr and exits with status 1.
//
// It yields to the worker every few milliseconds of work and keeps a
// checkpoint (a markers.State) in the scratch directory, written when the
// worker asks and every few percent of the work; started again with a
// checkpoint for the same unit, it resumes from it, to the same output.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nightshift-platform/nightshift/workunits/appkit"
	"github.com/nightshift-platform/nightshift/workunits/markers"
)

const (
	// yieldWork is the work between yields, in genes scored (a draw
	// scores k): 1.5 to 4 ms in wazero on a 2025 PC.
	yieldWork = 2048
	// saveWork is the least work, in genes scored, between checkpoints
	// the worker did not ask for. A save synced to disk costs about as
	// much as scoring 1,500 genes, so this keeps saves under 1% of the time.
	saveWork = 1 << 18
	// saves is how many such checkpoints a large unit writes.
	saves = 20
)

func main() {
	if err := run(os.Stdin, os.Stdout, os.Stderr, appkit.CheckpointPath); err != nil {
		fmt.Fprintln(os.Stderr, "markers:", err)
		os.Exit(1)
	}
}

func run(stdin io.Reader, stdout, stderr io.Writer, checkpointPath string) error {
	in, err := readInput(stdin)
	if err != nil {
		return err
	}
	d, err := markers.LoadDataset()
	if err != nil {
		return err
	}
	s, err := resume(d, in, checkpointPath, stderr)
	if err != nil {
		return err
	}
	ck := checkpointer{path: checkpointPath, stderr: stderr}
	perYield := max(1, yieldWork/in.K)
	perSave := max(in.N/saves, saveWork/in.K)
	nextSave := s.Done() + perSave
	for {
		s.Step(perYield)
		appkit.Progress(float64(s.Done()) / float64(in.N))
		if s.Done() == in.N {
			break
		}
		if appkit.Yield() == appkit.Checkpoint || s.Done() >= nextSave {
			ck.save(s.State())
			nextSave = s.Done() + perSave
		}
	}
	out, err := json.Marshal(s.Output())
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	if _, err := stdout.Write(append(out, '\n')); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// resume continues from the checkpoint at path if it is one of this unit,
// else starts afresh: a checkpoint only saves time, so one that cannot be
// used is noted on stderr and otherwise ignored.
func resume(d *markers.Dataset, in markers.Input, path string, stderr io.Writer) (*markers.Search, error) {
	var st markers.State
	found, err := appkit.Load(path, &st)
	switch {
	case err != nil:
		fmt.Fprintln(stderr, "markers: starting afresh:", err)
	case found && st.Input != in:
		fmt.Fprintf(stderr, "markers: starting afresh: the checkpoint is for %+v\n", st.Input)
	case found:
		s, err := markers.Resume(d, st)
		if err == nil {
			return s, nil
		}
		fmt.Fprintln(stderr, "markers: starting afresh:", err)
	}
	return markers.NewSearch(d, in)
}

// checkpointer saves states until a save fails: then the unit carries on
// without checkpoints rather than fail, and says so once.
type checkpointer struct {
	path   string
	stderr io.Writer
	failed bool
}

func (c *checkpointer) save(st markers.State) {
	if c.failed {
		return
	}
	if err := appkit.Save(c.path, st); err != nil {
		c.failed = true
		fmt.Fprintln(c.stderr, "markers: carrying on without checkpoints:", err)
	}
}

// readInput decodes exactly one valid Input. Unknown fields and trailing
// data are errors: a misspelt field would otherwise silently be zero.
func readInput(r io.Reader) (markers.Input, error) {
	var in markers.Input
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	err := dec.Decode(&in)
	if errors.Is(err, io.EOF) {
		return in, errors.New("read input: stdin is empty, want a JSON object")
	}
	if err != nil {
		return in, fmt.Errorf("read input: %w", err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return in, errors.New("read input: unexpected data after the JSON object")
	}
	if err := in.Validate(); err != nil {
		return in, fmt.Errorf("invalid input: %w", err)
	}
	return in, nil
}
