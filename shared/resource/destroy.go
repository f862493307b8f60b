package resource

import (
	"context"
	"errors"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/step"
)

// FlagDependencyWait is the destroy steps' budget for deletions that
// something still depends on.
const FlagDependencyWait = "dependency-wait"

// DependencyWaitFlag is --dependency-wait with the step's default and usage.
func DependencyWaitFlag(def time.Duration, usage string) cli.Flag {
	return &cli.DurationFlag{Name: FlagDependencyWait, Value: def, EnvVars: []string{"STAGEHAND_DEPENDENCY_WAIT"}, Usage: usage}
}

// Destroy is what every destroy step does around its kinds: it reads the
// step's artifact if there is one (an unreadable one is exit 2 before any
// change), tears down the kinds built from it (a is nil without it: the
// kinds find everything by tags), and removes the artifact only when
// everything is gone.
func Destroy[T any, P interface {
	*T
	artifact.Artifact
}](ctx context.Context, r *step.Run, kind string, kinds func(a P) ([]Kind, error)) error {
	var a P = new(T)
	switch err := artifact.Read(r.ArtifactsDir, a, r.Expect(kind)); {
	case err == nil:
	case errors.Is(err, artifact.ErrNotExist):
		r.Log.Infof("no %s.json: finding what to delete by tags alone", kind)
		a = nil
	default:
		return err
	}
	ks, err := kinds(a)
	if err != nil {
		return err
	}
	if err := Teardown(ctx, r.Log, ks, r.DryRun, r.Summary); err != nil {
		return err
	}
	if r.DryRun {
		return nil
	}
	return artifact.Remove(r.ArtifactsDir, kind)
}
