// Command stacklab runs protocol scenarios on a simulated network and
// traces them layer by layer; see `stacklab help`.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
