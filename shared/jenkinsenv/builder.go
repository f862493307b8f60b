package jenkinsenv

import (
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/environment"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
	"github.com/stagehand/stagehand/shared/workload"
)

// StepName is the step that creates what this package manages; its
// resources carry stagehand:step=provision-jenkins, and destroy-jenkins
// deletes only those.
const StepName = "provision-jenkins"

// Builder provisions the environment's Jenkins on AWS.
type Builder struct {
	Env     *environment.Environment
	Tags    tags.Set
	Log     logrus.FieldLogger
	Summary *step.Summary
	DryRun  bool
	// VPC and ECS are the artifacts of create-vpc and bootstrap-ecs.
	VPC *artifact.VPC
	ECS *artifact.ECS

	Secrets SecretsAPI
	EFS     EFSAPI
	// Workload builds the log group, security groups, load balancer, task
	// definition and service.
	Workload *workload.Builder
	// Wait tunes the waits for AWS resources (zero: defaults per resource).
	Wait wait.Options
	// ReadyWait tunes the wait for Jenkins to answer (zero: DefaultReadyWait).
	ReadyWait wait.Options
	// RetryInterval is the pause between retries of eventual-consistency
	// errors (default 5s).
	RetryInterval time.Duration
}

func (b *Builder) retryInterval() time.Duration {
	if b.RetryInterval > 0 {
		return b.RetryInterval
	}
	return 5 * time.Second
}

// planned is the id a dry run gives a resource it would create.
const planned = workload.Planned

func (b *Builder) record(action, kind, id, name string) {
	b.Summary.Add(action, kind, id, name)
	switch action {
	case step.Created, step.Updated:
		b.Log.WithFields(logrus.Fields{"resource": kind, "id": id, "name": name}).Info(action)
	}
}

// owned refuses a resource found by name that does not carry the
// environment's tag: it belongs to someone else.
func owned(kind, id string, m map[string]string, env string) error {
	if tags.Is(m, env) {
		return nil
	}
	if got := m[tags.Env]; got != "" {
		return fmt.Errorf("%s %s exists but belongs to environment %q (tag %s), not %q: refusing to take it over", kind, id, got, tags.Env, env)
	}
	return fmt.Errorf("%s %s exists but is not tagged %s=%s: refusing to take over a resource stagehand did not create", kind, id, tags.Env, env)
}
