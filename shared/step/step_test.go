package step

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stagehand/stagehand/shared/exitcode"
)

func writeEnv(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAppExitCodesBeforeAnyChange(t *testing.T) {
	dir := t.TempDir()
	writeEnv(t, dir, "prod", `{"account_id":"123456789012","region":"eu-west-1","protected":true,"network":{"cidr":"10.0.0.0/16"}}`)
	writeEnv(t, dir, "staging", `{"account_id":"123456789012","region":"eu-west-1","network":{"cidr":"10.0.0.0/16"}}`)
	ran := false
	def := Definition{Name: "destroy-thing", Usage: "u", Kind: Destroy, DefaultTimeout: time.Minute,
		Run: func(context.Context, *Run) error { ran = true; return nil }}
	// Stdin is not a terminal in tests: destroy without --yes must refuse.
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no env", []string{}, exitcode.Usage},
		{"unknown flag", []string{"--env", "staging", "--bogus"}, exitcode.Usage},
		{"stray argument", []string{"--env", "staging", "extra"}, exitcode.Usage},
		{"bad log format", []string{"--env", "staging", "--log-format", "xml"}, exitcode.Usage},
		{"bad log level", []string{"--env", "staging", "--log-level", "loud"}, exitcode.Usage},
		{"zero timeout", []string{"--env", "staging", "--timeout", "0s"}, exitcode.Usage},
		{"bad duration", []string{"--env", "staging", "--timeout", "soon"}, exitcode.Usage},
		{"missing env file", []string{"--env", "nope"}, exitcode.Usage},
		{"protected", []string{"--env", "prod", "--yes"}, exitcode.Refused},
		{"no terminal, no --yes", []string{"--env", "staging"}, exitcode.Refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			app := NewApp(def, &out, &errb)
			args := append([]string{"destroy-thing", "--environments-dir", dir}, tt.args...)
			if got := Main(app, args); got != tt.want {
				t.Fatalf("exit %d, want %d; stderr: %s", got, tt.want, errb.String())
			}
			if ran {
				t.Fatal("the step ran although it was refused")
			}
			if !strings.Contains(errb.String(), "error:") {
				t.Fatalf("no error printed: %q", errb.String())
			}
		})
	}
}

func TestHelpDocumentsFlagsAndExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	app := NewApp(Definition{Name: "create-thing", Usage: "makes a thing", Description: "Creates the thing.", Kind: Create, DefaultTimeout: time.Minute}, &out, &errb)
	if code := Main(app, []string{"create-thing", "--help"}); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	help := out.String()
	for _, want := range []string{"--env", "STAGEHAND_ENV", "--artifacts-dir", "--dry-run", "--timeout", "--log-format", "--log-level", "EXIT CODES", "Creates the thing."} {
		if !strings.Contains(help, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	if strings.Contains(help, "--yes") {
		t.Error("a create step must not offer --yes")
	}
}

func TestSummaryPrint(t *testing.T) {
	var s Summary
	s.Add(Created, "vpc", "vpc-1", "staging-vpc")
	s.Add(Kept, "subnet", "subnet-1", "")
	s.Add(Created, "subnet", "subnet-2", "")
	var b bytes.Buffer
	s.Print(&b, "create-vpc", "staging", false, time.Second, nil)
	if !strings.Contains(b.String(), "2 created, 1 exists") || !strings.Contains(b.String(), "vpc-1") {
		t.Fatalf("summary:\n%s", b.String())
	}
	if s.Count(Created) != 2 {
		t.Fatal("count")
	}
}
