// Command chunkstat is the chunkstat sample app as volunteers run it: built
// for GOOS=wasip1 GOARCH=wasm, it reads its chunk on stdin and writes its
// chunkstat.Stats as one JSON line on stdout.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/nightshift-platform/nightshift/workunits/chunkstat"
)

func main() {
	s, err := chunkstat.Stat(os.Stdin)
	if err == nil {
		err = json.NewEncoder(os.Stdout).Encode(s)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chunkstat:", err)
		os.Exit(1)
	}
}
