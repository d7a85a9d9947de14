// Command counter is a test app for taskproc: it runs a hash chain of
// "steps" steps (read from stdin as a decimal number), yielding every 1,000
// steps and checkpointing when asked, and prints the final value. With
// the argument "noyield" it never calls the app interface at all, as a
// module that ignores it would.
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/nightshift-platform/nightshift/workunits/appkit"
)

type checkpoint struct {
	Steps uint64 `json:"steps"` // of the whole task, to refuse another task's checkpoint
	Done  uint64 `json:"done"`
	Value uint64 `json:"value"`
}

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	steps, err := strconv.ParseUint(strings.TrimSpace(string(in)), 10, 64)
	if err != nil {
		fail(err)
	}
	cooperative := len(os.Args) < 2 || os.Args[1] != "noyield"
	st := checkpoint{Steps: steps, Value: 1}
	if cooperative {
		var saved checkpoint
		found, err := appkit.Load(appkit.CheckpointPath, &saved)
		if err != nil {
			fail(err)
		}
		if found && saved.Steps == steps {
			st = saved
			fmt.Fprintf(os.Stderr, "resumed at step %d\n", st.Done)
		}
	}
	for st.Done < steps {
		st.Value = mix(st.Value)
		st.Done++
		if cooperative && st.Done%1000 == 0 {
			if appkit.Yield() == appkit.Checkpoint {
				if err := appkit.Save(appkit.CheckpointPath, st); err != nil {
					fail(err)
				}
			}
			appkit.Progress(float64(st.Done) / float64(steps))
		}
	}
	fmt.Println(st.Value)
}

// mix is splitmix64's finaliser: cheap, and every step depends on the last.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "counter:", err)
	os.Exit(1)
}
