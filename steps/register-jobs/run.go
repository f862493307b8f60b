package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/stagehand/stagehand/shared/exitcode"
	"github.com/stagehand/stagehand/shared/jenkins"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/wait"
)

// Flag names.
const (
	flagURL          = "jenkins-url"
	flagUser         = "jenkins-user"
	flagToken        = "jenkins-token"
	flagRepository   = "repository"
	flagBranch       = "branch"
	flagCredentials  = "credentials-id"
	flagPipelinesDir = "pipelines-dir"
	flagPrefix       = "job-prefix"
)

// suffix marks the lifecycle pipelines in the pipelines folder.
const suffix = ".Jenkinsfile"

var definition = step.ToolDefinition{
	Name:  "register-jobs",
	Usage: "register stagehand's lifecycle pipelines as jobs on a Jenkins",
	Description: `Registers every PIPELINES_DIR/*.Jenkinsfile (stage, destroy-stage,
   friday-destroy, monday-rebuild, ...) as a pipeline job on the Jenkins at
   --jenkins-url: job JOB_PREFIX + the file's name without .Jenkinsfile (e.g.
   stagehand-friday-destroy), its pipeline taken from --repository at
   --branch, script path PIPELINES_DIR/FILE, checked out with the Jenkins
   credential --credentials-id.

   The cron of a Jenkinsfile's triggers { cron('...') } is written into the
   job's own configuration as its timer trigger, because Jenkins applies a
   Jenkinsfile's triggers only after the job has run once. The Jenkinsfile
   stays the one place the schedule is written; a Jenkinsfile without a cron
   trigger gives a job without a timer.

   Idempotent: creates the jobs that are missing, updates those whose
   repository, branch, script path, credential, description or cron differ,
   leaves the others alone, and prints per job created, updated or
   unchanged. Other jobs on the Jenkins are never touched, and jobs are
   never deleted. With --dry-run it prints the differences and changes
   nothing.

   The token is an API token of --jenkins-user (or its password); it is
   never printed. Folders are not supported: jobs are created at the top.

   Exit 2 when a flag is missing or wrong, the pipelines folder has no
   Jenkinsfile or a Jenkinsfile's cron cannot be read; 1 when Jenkins
   refuses or fails; 4 when --timeout passes first.`,
	DefaultTimeout: 5 * time.Minute,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: flagURL, Usage: "root `URL` of the Jenkins to register the jobs on", EnvVars: []string{"JENKINS_URL"}},
		&cli.StringFlag{Name: flagUser, Usage: "Jenkins user", EnvVars: []string{"JENKINS_USER"}},
		&cli.StringFlag{Name: flagToken, Usage: "API token of the Jenkins user (never printed)", EnvVars: []string{"JENKINS_API_TOKEN"}},
		&cli.StringFlag{Name: flagRepository, Usage: "git `URL` of this repository, which the jobs check out", EnvVars: []string{"STAGEHAND_REPOSITORY"}},
		&cli.StringFlag{Name: flagBranch, Usage: "branch the jobs build (a git plugin specifier such as */main or refs/heads/main is kept as it is)", Value: "main", EnvVars: []string{"STAGEHAND_BRANCH"}},
		&cli.StringFlag{Name: flagCredentials, Usage: "`ID` of the Jenkins credential used to check the repository out (none when empty)", EnvVars: []string{"STAGEHAND_CREDENTIALS_ID"}},
		&cli.StringFlag{Name: flagPipelinesDir, Usage: "folder of the lifecycle Jenkinsfiles, relative to the repository root", Value: "pipelines", EnvVars: []string{"STAGEHAND_PIPELINES_DIR"}},
		&cli.StringFlag{Name: flagPrefix, Usage: "prefix of every job name", Value: "stagehand-", EnvVars: []string{"STAGEHAND_JOB_PREFIX"}},
	},
	Run: run,
}

func newApp(stdout, stderr io.Writer) *cli.App { return step.NewTool(definition, stdout, stderr) }

// job is one lifecycle pipeline to register.
type job struct {
	Name string
	File string // path of the Jenkinsfile
	Spec jenkins.PipelineJob
}

func run(ctx context.Context, t *step.ToolRun) error {
	c := t.CLI
	jobs, err := readPipelines(c.String(flagPipelinesDir), c.String(flagPrefix), jenkins.PipelineJob{
		RepoURL:       c.String(flagRepository),
		Branch:        jenkins.BranchSpec(c.String(flagBranch)),
		CredentialsID: c.String(flagCredentials),
	})
	if err != nil {
		return err
	}
	client, err := newClient(c, t.Log)
	if err != nil {
		return err
	}
	t.Subject = c.String(flagURL)

	if err := waitReady(ctx, t.Log, client, c.String(flagURL)); err != nil {
		return err
	}
	var errs []error
	for _, j := range jobs {
		log := t.Log.WithFields(logrus.Fields{"job": j.Name, "file": j.File, "cron": j.Spec.Cron})
		if t.DryRun {
			action, diff, err := client.Diff(ctx, j.Name, j.Spec)
			if err != nil {
				errs = append(errs, fmt.Errorf("plan job %s: %w", j.Name, err))
				continue
			}
			printPlan(t.Out, j.Name, action, diff)
			t.Summary.Add(planned(action), "jenkins job", j.Name, j.File)
			continue
		}
		action, err := client.EnsurePipelineJob(ctx, j.Name, j.Spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("register job %s: %w", j.Name, err))
			continue
		}
		log.WithField("action", action).Info("job registered")
		t.Summary.Add(string(action), "jenkins job", j.Name, j.File)
	}
	return errors.Join(errs...)
}

// readPipelines lists dir/*.Jenkinsfile as jobs based on base, each with
// the cron of its triggers block.
func readPipelines(dir, prefix string, base jenkins.PipelineJob) ([]job, error) {
	switch {
	case strings.TrimSpace(base.RepoURL) == "":
		return nil, exitcode.Usagef("--%s is required (or STAGEHAND_REPOSITORY): the git URL of this repository, which the jobs check out", flagRepository)
	case strings.TrimSpace(base.Branch) == "":
		return nil, exitcode.Usagef("--%s must not be empty", flagBranch)
	}
	dir = filepath.Clean(dir)
	if filepath.IsAbs(dir) || dir == ".." || strings.HasPrefix(dir, ".."+string(filepath.Separator)) {
		return nil, exitcode.Usagef("--%s %q: must be a folder inside the repository, relative to its root (the jobs' script paths are made from it); run register-jobs from the repository root", flagPipelinesDir, dir)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
	if err != nil {
		return nil, exitcode.Usagef("--%s %q: %v", flagPipelinesDir, dir, err)
	}
	if len(files) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, exitcode.Usagef("--%s %q: %v", flagPipelinesDir, dir, err)
		}
		return nil, exitcode.Usagef("--%s %q holds no *%s", flagPipelinesDir, dir, suffix)
	}
	sort.Strings(files)
	jobs := make([]job, 0, len(files))
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, exitcode.Usagef("read %s: %v", f, err)
		}
		cron, err := cronOf(string(src))
		if err != nil {
			return nil, exitcode.Usagef("%s: %v", f, err)
		}
		name := strings.TrimSuffix(filepath.Base(f), suffix)
		spec := base
		spec.ScriptPath = filepath.ToSlash(filepath.Join(dir, filepath.Base(f)))
		spec.Cron = cron
		spec.Description = description(spec.ScriptPath)
		jobs = append(jobs, job{Name: prefix + name, File: f, Spec: spec})
	}
	return jobs, nil
}

func description(scriptPath string) string {
	return "stagehand lifecycle pipeline " + scriptPath + ", registered by register-jobs: " +
		"its schedule is the cron of the Jenkinsfile's triggers; change it there and run register-jobs again."
}

func newClient(c *cli.Context, log logrus.FieldLogger) (*jenkins.Client, error) {
	u := c.String(flagURL)
	if u == "" {
		return nil, exitcode.Usagef("--%s is required (or JENKINS_URL): the Jenkins to register the jobs on", flagURL)
	}
	client, err := jenkins.New(jenkins.Config{URL: u, User: c.String(flagUser), Token: c.String(flagToken), Logger: log})
	if err != nil {
		return nil, exitcode.Usagef("--%s, --%s, --%s: %v", flagURL, flagUser, flagToken, err)
	}
	return client, nil
}

// waitReady waits until Jenkins answers: it may be restarting. Refused
// credentials end the wait at once.
func waitReady(ctx context.Context, log logrus.FieldLogger, client *jenkins.Client, url string) error {
	return wait.Until(ctx, log, wait.Target{Kind: "jenkins", ID: url}, wait.Options{Interval: 5 * time.Second, Max: 3 * time.Minute},
		func(ctx context.Context) (bool, string, error) {
			err := client.Ready(ctx)
			switch {
			case err == nil:
				return true, "ready", nil
			case errors.Is(err, jenkins.ErrStarting):
				return false, err.Error(), nil
			}
			return false, "", err
		})
}

func planned(a jenkins.Action) string {
	switch a {
	case jenkins.ActionCreated:
		return step.WouldCreate
	case jenkins.ActionUpdated:
		return step.WouldUpdate
	}
	return string(a)
}

func printPlan(w io.Writer, name string, a jenkins.Action, diff []string) {
	fmt.Fprintf(w, "job %s: %s\n", name, planned(a))
	for _, d := range diff {
		fmt.Fprintf(w, "    %s\n", d)
	}
}
