package step

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/stagehand/stagehand/shared/exitcode"
)

func TestToolExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		run     func(ctx context.Context, t *ToolRun) error
		want    int
		ran     bool
		summary bool
	}{
		{name: "done", want: exitcode.OK, ran: true, summary: true},
		{name: "unknown flag", args: []string{"--bogus"}, want: exitcode.Usage},
		{name: "stray argument", args: []string{"extra"}, want: exitcode.Usage},
		{name: "bad log level", args: []string{"--log-level", "loud"}, want: exitcode.Usage},
		{name: "zero timeout", args: []string{"--timeout", "0s"}, want: exitcode.Usage},
		{name: "bad input found by the tool", run: func(context.Context, *ToolRun) error { return exitcode.Usagef("--thing is required") },
			want: exitcode.Usage, ran: true},
		{name: "failure", run: func(context.Context, *ToolRun) error { return errors.New("jenkins said no") }, want: exitcode.Failed, ran: true, summary: true},
		{name: "deadline", args: []string{"--timeout", "10ms"}, run: func(ctx context.Context, _ *ToolRun) error { <-ctx.Done(); return ctx.Err() },
			want: exitcode.Timeout, ran: true, summary: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran := false
			def := ToolDefinition{Name: "tool", Usage: "u", DefaultTimeout: time.Minute,
				Flags: []cli.Flag{&cli.StringFlag{Name: "thing"}},
				Run: func(ctx context.Context, r *ToolRun) error {
					ran = true
					r.Subject = "https://jenkins.example.com"
					r.Summary.Add(Created, "jenkins job", "j", "")
					if tc.run != nil {
						return tc.run(ctx, r)
					}
					return nil
				}}
			var out, errOut bytes.Buffer
			code := Main(NewTool(def, &out, &errOut), append([]string{"tool", "--log-format", "json"}, tc.args...))
			if code != tc.want || ran != tc.ran {
				t.Fatalf("exit %d (ran %v), want %d (ran %v)\n%s", code, ran, tc.want, tc.ran, errOut.String())
			}
			if got := strings.Contains(out.String(), "== tool https://jenkins.example.com =="); got != tc.summary {
				t.Fatalf("summary printed %v, want %v:\n%s", got, tc.summary, out.String())
			}
		})
	}
}

func TestToolHelp(t *testing.T) {
	var out bytes.Buffer
	def := ToolDefinition{Name: "tool", Usage: "u", Description: "Does a thing.", DefaultTimeout: time.Minute}
	if code := Main(NewTool(def, &out, &out), []string{"tool", "--help"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--dry-run", "--timeout", "--log-level", "--log-format", "STAGEHAND_DRY_RUN", "EXIT CODES", "Does a thing."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "--env") {
		t.Error("a tool has no --env")
	}
}
