// Package e2e runs the built step binaries against a local AWS-compatible
// endpoint and asserts on what exists afterwards: resources by tag, artifact
// contents and exit codes.
package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/stagehand/stagehand/e2e/e2etest"
)

// h is the one endpoint and build shared by the tests of this package; the
// tests run one after another and each starts with h.Reset.
var h *e2etest.Harness

func TestMain(m *testing.M) {
	var err error
	h, err = e2etest.Start(
		"MOTO_IAM_LOAD_MANAGED_POLICIES=true",
		// New ECS services report one running task, as if the scheduler had
		// placed it; services with a higher desired count are moved by the test.
		"MOTO_ECS_SERVICE_RUNNING=1",
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	code := m.Run()
	h.Stop()
	h.Cleanup()
	os.Exit(code)
}
