// Command markers is the cancer-markers app as volunteers run it: built for
// GOOS=wasip1 GOARCH=wasm, it reads one JSON work unit (markers.Input) on
// stdin and writes its markers.Output as one JSON line on stdout. On bad
// input it writes the reason to stderr and exits with status 1.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nightshift-platform/nightshift/workunits/markers"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "markers:", err)
		os.Exit(1)
	}
}

func run(stdin io.Reader, stdout io.Writer) error {
	in, err := readInput(stdin)
	if err != nil {
		return err
	}
	d, err := markers.LoadDataset()
	if err != nil {
		return err
	}
	out, err := json.Marshal(markers.Run(d, in))
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	if _, err := stdout.Write(append(out, '\n')); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
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
