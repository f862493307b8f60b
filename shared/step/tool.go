package step

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/stagehand/stagehand/shared/exitcode"
)

// ToolDefinition describes a binary that works without an environment
// file or AWS (register-jobs): it keeps the steps' logging, --dry-run,
// --timeout, summary and exit codes, but has no --env, no account guard
// and no artifacts.
type ToolDefinition struct {
	Name  string // the binary's name, e.g. "register-jobs"
	Usage string // one line
	// Description is the long help: what the tool changes and where.
	Description    string
	DefaultTimeout time.Duration
	Flags          []cli.Flag
	Run            func(ctx context.Context, t *ToolRun) error
}

// ToolRun is what a tool's Run function gets.
type ToolRun struct {
	Name    string
	DryRun  bool
	Log     *logrus.Entry
	Summary *Summary
	// Subject names what the tool works on in the summary's title (e.g. a
	// Jenkins URL); Run sets it once it knows.
	Subject string
	// Out receives the human-readable plan and summary (stdout); logs go to stderr.
	Out io.Writer
	CLI *cli.Context
}

// ToolFlags are the common flags of a tool, each with an environment variable.
func ToolFlags(defaultTimeout time.Duration) []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: FlagDryRun, Usage: "print what would change, change nothing", EnvVars: []string{"STAGEHAND_DRY_RUN"}},
		&cli.DurationFlag{Name: FlagTimeout, Usage: "deadline for the whole run (Go duration, e.g. 5m); exit 4 past it", Value: defaultTimeout, EnvVars: []string{"STAGEHAND_TIMEOUT"}},
		&cli.StringFlag{Name: FlagLogLevel, Usage: "debug, info, warn or error", Value: "info", EnvVars: []string{"STAGEHAND_LOG_LEVEL"}},
		&cli.StringFlag{Name: FlagLogFormat, Usage: "text, json, or auto (text on a terminal, JSON otherwise)", Value: "auto", EnvVars: []string{"STAGEHAND_LOG_FORMAT"}},
	}
}

const toolHelpFooter = `
EXIT CODES:
   0 done · 1 failed · 2 bad input or usage (nothing changed) · 4 timed out
`

// NewTool builds the app for a tool, with the same conventions as NewApp:
// errors come back from app.Run (Main maps them to exit codes), usage errors
// are exit 2, and nothing inside calls os.Exit.
func NewTool(def ToolDefinition, stdout, stderr io.Writer) *cli.App {
	flags := append(append([]cli.Flag{}, def.Flags...), ToolFlags(def.DefaultTimeout)...)
	return newApp(def.Name, def.Usage, strings.TrimSpace(def.Description)+"\n"+toolHelpFooter, flags, stdout, stderr,
		func(c *cli.Context, logger *logrus.Logger) error { return executeTool(c, def, logger, stdout) })
}

func executeTool(c *cli.Context, def ToolDefinition, logger *logrus.Logger, stdout io.Writer) error {
	timeout := c.Duration(FlagTimeout)
	if timeout <= 0 {
		return exitcode.Usagef("--timeout %s: must be positive", timeout)
	}
	dryRun := c.Bool(FlagDryRun)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	t := &ToolRun{
		Name: def.Name, DryRun: dryRun, Summary: &Summary{}, Out: stdout, CLI: c,
		Log: logger.WithField("step", def.Name),
	}
	t.Log.WithField("dry_run", dryRun).Info("starting")
	start := time.Now()
	err := def.Run(ctx, t)
	// Bad input is reported before anything was done: no summary then.
	if exitcode.Of(err) == exitcode.Usage {
		return err
	}
	t.Summary.Print(stdout, def.Name, t.Subject, dryRun, time.Since(start), err)
	if err != nil && ctx.Err() == context.Canceled && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("interrupted: %w", err)
	}
	if err == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("deadline %s passed: %w", timeout, context.DeadlineExceeded)
	}
	return err
}
