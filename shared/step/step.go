// Package step builds the command-line app every stagehand step binary is:
// common flags (each with an environment variable), logging set up once,
// the environment file, the account guard, the destroy confirmation, the
// deadline, and the mapping of errors to exit codes. A step supplies its
// name, help, own flags and a Run function; main only calls Main.
package step

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/awsconf"
	"github.com/stagehand/stagehand/shared/environment"
	"github.com/stagehand/stagehand/shared/exitcode"
	"github.com/stagehand/stagehand/shared/tags"
)

// Kind says what a step does to the environment.
type Kind int

const (
	// Create steps create or update resources.
	Create Kind = iota
	// Destroy steps delete resources; they refuse protected environments
	// and ask for confirmation.
	Destroy
	// ReadOnly steps change nothing.
	ReadOnly
)

// Definition describes one step binary.
type Definition struct {
	Name  string // the binary's name, e.g. "create-vpc"
	Usage string // one line
	// Description is the long help: what the step creates or deletes, which
	// artifacts it reads and writes, which environment fields it uses.
	Description    string
	Kind           Kind
	DefaultTimeout time.Duration
	Flags          []cli.Flag
	Run            func(ctx context.Context, r *Run) error
}

// Run is what a step's Run function gets: the validated environment, the
// checked AWS configuration and the common settings.
type Run struct {
	Name         string
	Env          *environment.Environment
	ArtifactsDir string
	DryRun       bool
	RunID        string
	Log          *logrus.Entry
	AWS          aws.Config
	Identity     awsconf.Identity
	Tags         tags.Set
	Summary      *Summary
	// Out receives the human-readable plan and summary (stdout); logs go to stderr.
	Out io.Writer
	CLI *cli.Context
}

// Expect is what an artifact of kind must match to be read by this run.
func (r *Run) Expect(kind string) artifact.Expect {
	return artifact.Expect{Kind: kind, Env: r.Env.Name, Account: r.Env.AccountID, Region: r.Env.Region}
}

// Header is a fresh artifact header of kind for this run.
func (r *Run) Header(kind string) artifact.Header {
	return artifact.Header{Kind: kind, Env: r.Env.Name, Account: r.Identity.Account, Region: r.Env.Region, RunID: r.RunID}
}

// Common flag names.
const (
	FlagEnv          = "env"
	FlagEnvDir       = "environments-dir"
	FlagArtifactsDir = "artifacts-dir"
	FlagLogLevel     = "log-level"
	FlagLogFormat    = "log-format"
	FlagDryRun       = "dry-run"
	FlagTimeout      = "timeout"
	FlagRunID        = "run-id"
	FlagYes          = "yes"
)

// CommonFlags are the flags every step takes, each with an environment variable.
func CommonFlags(kind Kind, defaultTimeout time.Duration) []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Name: FlagEnv, Usage: "environment `NAME`: reads ENVIRONMENTS_DIR/NAME.json", EnvVars: []string{"STAGEHAND_ENV"}},
		&cli.StringFlag{Name: FlagEnvDir, Usage: "folder of the environment files", Value: environment.Dir, EnvVars: []string{"STAGEHAND_ENVIRONMENTS_DIR"}},
		&cli.StringFlag{Name: FlagArtifactsDir, Usage: "folder of the JSON artifacts the steps hand to each other (default: artifacts/NAME)", EnvVars: []string{"STAGEHAND_ARTIFACTS_DIR"}},
		&cli.BoolFlag{Name: FlagDryRun, Usage: "print what would be created or deleted, change nothing", EnvVars: []string{"STAGEHAND_DRY_RUN"}},
		&cli.DurationFlag{Name: FlagTimeout, Usage: "deadline for the whole step (Go duration, e.g. 20m); exit 4 past it", Value: defaultTimeout, EnvVars: []string{"STAGEHAND_TIMEOUT"}},
		&cli.StringFlag{Name: FlagRunID, Usage: "id of this run, tagged on everything created (default: generated; Jenkins passes its BUILD_TAG)", EnvVars: []string{"STAGEHAND_RUN_ID"}},
		&cli.StringFlag{Name: FlagLogLevel, Usage: "debug, info, warn or error", Value: "info", EnvVars: []string{"STAGEHAND_LOG_LEVEL"}},
		&cli.StringFlag{Name: FlagLogFormat, Usage: "text, json, or auto (text on a terminal, JSON otherwise)", Value: "auto", EnvVars: []string{"STAGEHAND_LOG_FORMAT"}},
	}
	if kind == Destroy {
		flags = append(flags, &cli.BoolFlag{Name: FlagYes, Usage: "skip the confirmation (required when there is no terminal)", EnvVars: []string{"STAGEHAND_YES"}})
	}
	return flags
}

const helpFooter = `
ENVIRONMENT:
   AWS credentials, profile and endpoint come from the SDK's usual sources
   (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, ...);
   the region and account are the environment file's. Before any change the
   step checks that the credentials belong to the environment's account.

EXIT CODES:
   0 done · 1 failed · 2 bad input or usage (nothing changed) · 3 refused for
   safety (nothing changed) · 4 timed out waiting · 5 leftovers found (verify-clean)
`

// NewApp builds the app for a step. Errors come back from app.Run; nothing
// inside calls os.Exit.
func NewApp(def Definition, stdout, stderr io.Writer) *cli.App {
	flags := append(append([]cli.Flag{}, def.Flags...), CommonFlags(def.Kind, def.DefaultTimeout)...)
	return newApp(def.Name, def.Usage, strings.TrimSpace(def.Description)+"\n"+helpFooter, flags, stdout, stderr,
		func(c *cli.Context, logger *logrus.Logger) error { return execute(c, def, logger, stdout) })
}

// newApp is the shell every stagehand binary shares: logging configured
// once in Before, usage errors as exit 2, no positional arguments, and
// errors returned to Main instead of exiting inside cli.
func newApp(name, usage, description string, flags []cli.Flag, stdout, stderr io.Writer, action func(*cli.Context, *logrus.Logger) error) *cli.App {
	logger := logrus.New()
	logger.SetOutput(stderr)
	app := &cli.App{
		Name:            name,
		Usage:           usage,
		Description:     strings.TrimSpace(description),
		Flags:           flags,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		// Errors go back to Main; cli must not exit the process itself.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return exitcode.Usagef("%v (see --help)", err)
		},
		Before: func(c *cli.Context) error {
			return configureLogging(logger, c.String(FlagLogLevel), c.String(FlagLogFormat), stderr)
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return exitcode.Usagef("unexpected argument %q (see --help)", c.Args().First())
			}
			return action(c, logger)
		},
	}
	sort.Sort(cli.FlagsByName(app.Flags))
	return app
}

// Main runs app with args and returns the process exit code; the error, if
// any, is printed to the app's ErrWriter.
func Main(app *cli.App, args []string) int {
	err := app.Run(args)
	if err == nil {
		return exitcode.OK
	}
	code := exitcode.Of(err)
	fmt.Fprintf(app.ErrWriter, "%s: error: %v (exit %d: %s)\n", app.Name, err, code, exitcode.Names[code])
	return code
}

func configureLogging(l *logrus.Logger, level, format string, stderr io.Writer) error {
	lvl, err := logrus.ParseLevel(level)
	if err != nil {
		return exitcode.Usagef("--log-level %q: want debug, info, warn or error", level)
	}
	l.SetLevel(lvl)
	switch format {
	case "json":
		l.SetFormatter(&logrus.JSONFormatter{})
	case "text":
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	case "auto", "":
		if isTerminal(stderr) {
			l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
		} else {
			l.SetFormatter(&logrus.JSONFormatter{})
		}
	default:
		return exitcode.Usagef("--log-format %q: want text, json or auto", format)
	}
	return nil
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Stdin is where the destroy confirmation is read from; tests replace it.
var Stdin io.Reader = os.Stdin

func execute(c *cli.Context, def Definition, logger *logrus.Logger, stdout io.Writer) error {
	envName := c.String(FlagEnv)
	if envName == "" {
		return exitcode.Usagef("--env is required (or STAGEHAND_ENV): the environment to work on, e.g. --env local")
	}
	env, err := environment.Load(c.String(FlagEnvDir), envName)
	if err != nil {
		return err
	}
	timeout := c.Duration(FlagTimeout)
	if timeout <= 0 {
		return exitcode.Usagef("--timeout %s: must be positive", timeout)
	}
	dir := c.String(FlagArtifactsDir)
	if dir == "" {
		dir = filepath.Join("artifacts", env.Name)
	}
	runID := c.String(FlagRunID)
	if runID == "" {
		runID = newRunID()
	}
	dryRun := c.Bool(FlagDryRun)
	log := logger.WithFields(logrus.Fields{"step": def.Name, "env": env.Name, "run": runID})

	if def.Kind == Destroy {
		if env.Protected && !dryRun {
			return exitcode.Refusedf("environment %q is marked \"protected\": true in %s; no step destroys it", env.Name, env.Path)
		}
		if !dryRun && !c.Bool(FlagYes) {
			if err := confirm(env, c.App.ErrWriter); err != nil {
				return err
			}
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cfg, err := awsconf.Load(ctx, env, log)
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	id, err := awsconf.CheckAccount(ctx, sts.NewFromConfig(cfg), env)
	if err != nil {
		return err
	}
	log.WithFields(logrus.Fields{"account": id.Account, "region": env.Region, "dry_run": dryRun, "caller": id.ARN}).Info("starting")

	r := &Run{
		Name: def.Name, Env: env, ArtifactsDir: dir, DryRun: dryRun, RunID: runID,
		Log: log, AWS: cfg, Identity: id, Out: stdout, CLI: c,
		Tags:    tags.Set{Env: env.Name, Step: def.Name, Run: runID},
		Summary: &Summary{},
	}
	start := time.Now()
	err = def.Run(ctx, r)
	took := time.Since(start)
	r.Summary.Print(stdout, def.Name, env.Name, dryRun, took, err)
	if werr := r.Summary.WriteFile(dir, def.Name, env.Name, dryRun, took, err); werr != nil {
		log.WithError(werr).Warn("could not write the summary file")
	}
	if err != nil && ctx.Err() == context.Canceled && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("interrupted: %w", err)
	}
	if err == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("step deadline %s passed: %w", timeout, context.DeadlineExceeded)
	}
	return err
}

func confirm(env *environment.Environment, prompt io.Writer) error {
	f, ok := Stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return exitcode.Refusedf("destroying environment %q needs confirmation: there is no terminal to ask on, so pass --yes (or STAGEHAND_YES=true)", env.Name)
	}
	fmt.Fprintf(prompt, "This deletes resources of environment %q in account %s (%s).\nType the environment name to continue: ", env.Name, env.AccountID, env.Region)
	line, _ := bufio.NewReader(f).ReadString('\n')
	if strings.TrimSpace(line) != env.Name {
		return exitcode.Refusedf("confirmation did not match %q; nothing was changed", env.Name)
	}
	return nil
}

func newRunID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// ReadInput reads the artifact of an earlier step into a; a missing one is
// bad input (exit 2) that names the step to run first.
func (r *Run) ReadInput(a artifact.Artifact, kind, producer string) error {
	err := artifact.Read(r.ArtifactsDir, a, r.Expect(kind))
	if errors.Is(err, artifact.ErrNotExist) {
		return exitcode.Usagef("%v: run %s for environment %q first", err, producer, r.Env.Name)
	}
	return err
}

// SaveArtifact writes this step's artifact a of kind with this run's header.
func (r *Run) SaveArtifact(a artifact.Artifact, kind string) error {
	if err := artifact.Save(r.ArtifactsDir, a, r.Header(kind)); err != nil {
		return err
	}
	r.Log.WithField("path", artifact.Path(r.ArtifactsDir, kind)).Info("wrote artifact")
	return nil
}
