// Command guest is a tiny WebAssembly program for the sandbox's tests: its
// first argument says what to do.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/nightshift-platform/nightshift/workunits/appkit"
)

func main() {
	mode := ""
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	switch mode {
	case "echo": // stdin to stdout, upper-cased
		b, _ := io.ReadAll(os.Stdin)
		fmt.Print(strings.ToUpper(string(b)))
	case "fail":
		fmt.Fprintln(os.Stderr, "something went wrong")
		os.Exit(3)
	case "flood": // more output than any limit in the tests
		chunk := strings.Repeat("x", 1<<16)
		for range 64 {
			fmt.Print(chunk)
		}
	case "scratch": // write then read a file in the scratch directory
		if err := os.WriteFile("/scratch/state", []byte("kept"), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		b, err := os.ReadFile("/scratch/state")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Print(string(b))
	case "escape": // try to read outside the sandbox
		if _, err := os.ReadFile("/etc/passwd"); err == nil {
			fmt.Print("read /etc/passwd")
			return
		}
		fmt.Print("denied")
	case "network":
		if _, err := net.Dial("tcp", "127.0.0.1:80"); err == nil {
			fmt.Print("connected")
			return
		}
		fmt.Print("no network")
	case "spin": // burn CPU for a while
		x := uint64(1)
		for i := range 50_000_000 {
			x = x*6364136223846793005 + uint64(i)
		}
		fmt.Print(x != 0)
	case "hog": // allocate far more memory than the limit
		var keep [][]byte
		for range 1024 {
			keep = append(keep, make([]byte, 1<<20))
		}
		fmt.Print(len(keep))
	case "steps": // N steps, each reporting progress then yielding
		n := intArg(2)
		var asked []int
		for i := 1; i <= n; i++ {
			appkit.Progress(float64(i) / float64(n))
			if appkit.Yield() == appkit.Checkpoint {
				asked = append(asked, i)
			}
		}
		fmt.Print("checkpoints at ", asked)
	case "yield": // N bare yields, for timing them
		n := intArg(2)
		for range n {
			appkit.Yield()
		}
		fmt.Print(n)
	case "progress": // report each argument as a fraction, however wrong
		for _, a := range os.Args[2:] {
			f, err := strconv.ParseFloat(a, 64)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			appkit.Progress(f)
		}
	case "checkpoint": // save twice through WASI, then load
		for i := range 2 {
			if err := appkit.Save(appkit.CheckpointPath, i+1); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		var got int
		found, err := appkit.Load(appkit.CheckpointPath, &got)
		fmt.Print(got, found, err)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		os.Exit(2)
	}
}

func intArg(i int) int {
	n, err := strconv.Atoi(os.Args[i])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	return n
}
