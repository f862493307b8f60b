// Command provision-jenkins is one stagehand pipeline step; see run.go and --help.
package main

import (
	"os"

	"github.com/stagehand/stagehand/shared/step"
)

func main() {
	os.Exit(step.Main(newApp(os.Stdout, os.Stderr), os.Args))
}
