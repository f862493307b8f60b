package workload

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
)

// Planned is the id a dry run gives a resource it would create. Ensure
// methods given a Planned id (say, the load balancer of a listener) make
// no call for it and record what they would create.
const Planned = "(new)"

// Kinds of resources as they appear in summaries, logs and verify-clean.
const (
	KindLogGroup       = "log group"
	KindTaskDefinition = "task definition"
	KindService        = "ecs service"
	KindSecurityGroup  = "security group"
	KindLoadBalancer   = "load balancer"
	KindTargetGroup    = "target group"
	KindListener       = "listener"
	KindListenerRule   = "listener rule"
)

// Builder creates or updates the pieces of a workload. Its methods are safe
// to call side by side.
type Builder struct {
	ECS  ECSAPI
	ELB  ELBAPI
	EC2  EC2API
	Logs LogsAPI
	// Env is the environment's name: whatever a Builder finds and reuses
	// must carry the tag stagehand:env=Env; anything else is refused.
	Env string
	Log logrus.FieldLogger
	// Summary records what was created, kept, updated (may be nil).
	Summary *step.Summary
	// DryRun changes nothing: it records "would create"/"would update".
	DryRun bool
}

// NewBuilder returns a Builder with clients made from cfg.
func NewBuilder(cfg aws.Config, env string, log logrus.FieldLogger, sum *step.Summary, dryRun bool) *Builder {
	return &Builder{
		ECS: ecs.NewFromConfig(cfg), ELB: elb.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg),
		Logs: cloudwatchlogs.NewFromConfig(cfg), Env: env, Log: log, Summary: sum, DryRun: dryRun,
	}
}

func (b *Builder) record(action, kind, id, name string) {
	if b.Summary != nil {
		b.Summary.Add(action, kind, id, name)
	}
	switch action {
	case step.Created, step.Updated:
		b.Log.WithFields(logrus.Fields{"resource": kind, "id": id, "name": name}).Info(action)
	case step.Kept:
		b.Log.WithFields(logrus.Fields{"resource": kind, "id": id, "name": name}).Debug(action)
	}
}

// owned refuses a resource found by name that does not carry the
// environment's tag: it belongs to someone else.
func (b *Builder) owned(kind, id string, m map[string]string) error {
	if tags.Is(m, b.Env) {
		return nil
	}
	if got := m[tags.Env]; got != "" {
		return fmt.Errorf("%s %s exists but belongs to environment %q (tag %s), not %q: refusing to take it over", kind, id, got, tags.Env, b.Env)
	}
	return fmt.Errorf("%s %s exists but is not tagged %s=%s: refusing to take over a resource stagehand did not create", kind, id, tags.Env, b.Env)
}

// would records the dry-run action for a resource that is missing (id
// Planned) or differs.
func (b *Builder) would(exists bool, kind, id, name string) {
	if exists {
		b.record(step.WouldUpdate, kind, id, name)
	} else {
		b.record(step.WouldCreate, kind, Planned, name)
	}
}
