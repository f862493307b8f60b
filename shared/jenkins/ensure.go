package jenkins

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Action is what EnsurePipelineJob did, or what Diff says it would do.
type Action string

// Actions.
const (
	ActionCreated   Action = "created"
	ActionUpdated   Action = "updated"
	ActionUnchanged Action = "unchanged"
)

// EnsurePipelineJob makes the job match job: it creates the job when it is
// missing, else compares its config with job (field by field, as
// ParsePipelineJob reads it, so formatting and elements Jenkins adds do not
// count) and replaces it when they differ. After a change it reads the config
// back and checks that it equals job.
//
// A create or update that failed after it may have reached Jenkins is not
// sent again; the config is read back instead, and when it matches the change
// took effect. A job that exists but is not a pipeline is left alone
// (ErrNotPipeline): Jenkins cannot change the kind of a job in place.
func (c *Client) EnsurePipelineJob(ctx context.Context, name string, job PipelineJob) (Action, error) {
	action, _, err := c.plan(ctx, name, job)
	if err != nil || action == ActionUnchanged {
		return action, err
	}
	want := job.normalized()
	cfg, err := want.ConfigXML()
	if err != nil {
		return "", err
	}

	if action == ActionCreated {
		err = c.CreateJob(ctx, name, cfg)
		if errors.Is(err, ErrExists) {
			// Created by someone else since we looked: converge by updating.
			action = ActionUpdated
			err = c.UpdateJobConfig(ctx, name, cfg)
		}
	} else {
		err = c.UpdateJobConfig(ctx, name, cfg)
	}
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) || ctx.Err() != nil || c.verify(ctx, name, want) != nil {
			return "", err
		}
		c.log.WithField("job", name).WithError(err).Debug("jenkins job changed although its answer was lost")
		return action, nil
	}
	if err := c.verify(ctx, name, want); err != nil {
		return "", err
	}
	return action, nil
}

// Diff tells what EnsurePipelineJob would do, without changing anything, and
// lists the fields that differ as `field: "old" -> "new"`.
func (c *Client) Diff(ctx context.Context, name string, job PipelineJob) (Action, []string, error) {
	return c.plan(ctx, name, job)
}

func (c *Client) plan(ctx context.Context, name string, job PipelineJob) (Action, []string, error) {
	if err := job.validate(); err != nil {
		return "", nil, err
	}
	want := job.normalized()
	raw, err := c.GetJobConfig(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return ActionCreated, changes(PipelineJob{}, "", want), nil
	}
	if err != nil {
		return "", nil, err
	}
	have, kind, err := parsePipeline(raw)
	if err != nil {
		return "", nil, fmt.Errorf("job %s: %w", name, err)
	}
	if ch := changes(have.normalized(), kind, want); len(ch) > 0 {
		return ActionUpdated, ch, nil
	}
	return ActionUnchanged, nil, nil
}

// verify reads the job's config back and checks that it describes want.
func (c *Client) verify(ctx context.Context, name string, want PipelineJob) error {
	raw, err := c.GetJobConfig(ctx, name)
	if err != nil {
		return fmt.Errorf("verify job %s: %w", name, err)
	}
	have, kind, err := parsePipeline(raw)
	if err != nil {
		return fmt.Errorf("verify job %s: %w", name, err)
	}
	if ch := changes(have.normalized(), kind, want); len(ch) > 0 {
		return fmt.Errorf("verify job %s: config read back differs: %s", name, strings.Join(ch, "; "))
	}
	return nil
}

// changes lists the differences from have (of definition kind haveKind, ""
// when the job does not exist) to want.
func changes(have PipelineJob, haveKind string, want PipelineJob) []string {
	var out []string
	if wantKind := cpsScmDefinition + " on " + gitSCMClass; haveKind != "" && haveKind != wantKind {
		out = append(out, fmt.Sprintf("definition: %q -> %q", haveKind, wantKind))
	}
	for _, f := range []struct{ name, have, want string }{
		{"description", have.Description, want.Description},
		{"repoURL", have.RepoURL, want.RepoURL},
		{"branch", have.Branch, want.Branch},
		{"scriptPath", have.ScriptPath, want.ScriptPath},
		{"credentialsID", have.CredentialsID, want.CredentialsID},
		{"cron", have.Cron, want.Cron},
	} {
		if f.have != f.want {
			out = append(out, fmt.Sprintf("%s: %q -> %q", f.name, f.have, f.want))
		}
	}
	return out
}
