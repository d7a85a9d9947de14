// Command plain is a WebAssembly program that imports nothing but WASI:
// modules written before the app interface must still run.
package main

import "fmt"

func main() { fmt.Print("plain") }
