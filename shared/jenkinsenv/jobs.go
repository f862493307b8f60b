package jenkinsenv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/environment"
	"github.com/stagehand/stagehand/shared/jenkins"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/wait"
)

// KindJob is the kind of a Jenkins job in summaries.
const KindJob = "jenkins job"

// NotConfigured is the summary action of the jobs provision-jenkins leaves
// alone when jenkins.configure is false.
const NotConfigured = "not configured"

// DefaultReadyWait bounds the wait for Jenkins to answer after its service
// is stable: it installs its plugins and starts in that time.
const DefaultReadyWait = 15 * time.Minute

// PipelineJob is the job config of an environment's jenkins.jobs entry.
func PipelineJob(j environment.JenkinsJob) jenkins.PipelineJob {
	return jenkins.PipelineJob{
		Description:   j.Description,
		RepoURL:       j.Repository,
		Branch:        jenkins.BranchSpec(j.Branch),
		ScriptPath:    j.ScriptPath,
		CredentialsID: j.CredentialsID,
		Cron:          j.Cron,
	}
}

// Configurer configures the jobs of an environment's Jenkins over its REST API.
type Configurer struct {
	Client  *jenkins.Client
	URL     string
	Log     logrus.FieldLogger
	Summary *step.Summary
	DryRun  bool
	// Wait tunes the wait for Jenkins to answer (Max 0: DefaultReadyWait).
	Wait wait.Options
}

// WaitReady polls Jenkins until it answers. Refused credentials end the
// wait at once: waiting does not fix them.
func (c *Configurer) WaitReady(ctx context.Context) error {
	o := c.Wait
	if o.Max == 0 {
		o.Max = DefaultReadyWait
	}
	return wait.Until(ctx, c.Log, wait.Target{Kind: "jenkins", ID: c.URL}, o, func(ctx context.Context) (bool, string, error) {
		err := c.Client.Ready(ctx)
		switch {
		case err == nil:
			return true, "ready", nil
		case errors.Is(err, jenkins.ErrStarting):
			return false, err.Error(), nil
		}
		return false, "", err
	})
}

// Ensure creates or updates each job and reads it back; it returns the
// names of the jobs. In a dry run it only compares, and when Jenkins does
// not answer yet (it is not running, say) it records every job as one it
// would create.
func (c *Configurer) Ensure(ctx context.Context, jobs []environment.JenkinsJob) ([]string, error) {
	names := make([]string, 0, len(jobs))
	for _, j := range jobs {
		names = append(names, j.Name)
	}
	if c.DryRun {
		if err := c.Client.Ready(ctx); err != nil {
			c.Log.WithError(err).Info("jenkins does not answer yet: its jobs would be created once it does")
			for _, j := range jobs {
				c.Summary.Add(step.WouldCreate, KindJob, j.Name, j.Repository)
			}
			return names, nil
		}
	} else if err := c.WaitReady(ctx); err != nil {
		return nil, err
	}
	var errs []error
	for _, j := range jobs {
		spec := PipelineJob(j)
		if c.DryRun {
			action, diff, err := c.Client.Diff(ctx, j.Name, spec)
			if err != nil {
				errs = append(errs, fmt.Errorf("compare job %s: %w", j.Name, err))
				continue
			}
			switch action {
			case jenkins.ActionCreated:
				c.Summary.Add(step.WouldCreate, KindJob, j.Name, j.Repository)
			case jenkins.ActionUpdated:
				c.Summary.Add(step.WouldUpdate, KindJob, j.Name, fmt.Sprint(diff))
			default:
				c.Summary.Add(step.Kept, KindJob, j.Name, j.Repository)
			}
			continue
		}
		action, err := c.Client.EnsurePipelineJob(ctx, j.Name, spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("configure job %s: %w", j.Name, err))
			continue
		}
		summaryAction := map[jenkins.Action]string{jenkins.ActionCreated: step.Created, jenkins.ActionUpdated: step.Updated}[action]
		if summaryAction == "" {
			summaryAction = step.Kept
		}
		c.Summary.Add(summaryAction, KindJob, j.Name, j.Repository)
		c.Log.WithFields(logrus.Fields{"job": j.Name, "action": action}).Info("job configured")
	}
	return names, errors.Join(errs...)
}
