package workload

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// ServiceSpec is an ECS service as a step wants it.
type ServiceSpec struct {
	Cluster string
	Name    string
	// TaskDefinition is the ARN of the revision to run.
	TaskDefinition string
	DesiredCount   int32
	// Subnets and SecurityGroups of the tasks' network interfaces (awsvpc);
	// tasks never get public IPs.
	Subnets        []string
	SecurityGroups []string
	// CapacityProviderStrategy places the tasks; when it is empty,
	// LaunchType does (e.g. FARGATE).
	CapacityProviderStrategy []ecstypes.CapacityProviderStrategyItem
	LaunchType               ecstypes.LaunchType
	// LoadBalancers attaches target groups (container name and port).
	LoadBalancers []ecstypes.LoadBalancer
	// HealthCheckGracePeriodSeconds applies with load balancers (default 60).
	HealthCheckGracePeriodSeconds int32
	// MinimumHealthyPercent and MaximumPercent bound a deployment (default
	// 100 and 200: new tasks start before old ones stop). A service whose
	// tasks must never run twice at once (Jenkins on a shared home) sets 0 and 100.
	MinimumHealthyPercent, MaximumPercent *int32
	// Tags of the service; ECS copies them onto its tasks.
	Tags map[string]string
}

// Rollout is one service as EnsureService left it, and what WaitStable
// waits for.
type Rollout struct {
	Service string
	ARN     string
	// Action is what EnsureService did: step.Created, step.Updated,
	// step.Kept, or in a dry run step.WouldCreate/step.WouldUpdate.
	Action string
	// DeploymentID is the service's PRIMARY deployment after the call. When
	// set, WaitStable counts the service stable only once that deployment is
	// the only one: a deployment the circuit breaker rolled back (replaced
	// by a rollback deployment) is a failure, not success.
	DeploymentID string
}

// serviceGoneWait bounds the wait for a DRAINING service of the same name
// (an earlier deletion) to become INACTIVE before it is created again.
const serviceGoneWait = 10 * time.Minute

// EnsureService creates the service, or updates it where it differs from
// spec: task definition, desired count, network configuration, load
// balancers, capacity provider strategy, deployment circuit breaker (always
// on, with rollback). A service of that name not tagged with the
// environment is refused. It does not wait: see WaitStable.
func (b *Builder) EnsureService(ctx context.Context, spec ServiceSpec) (Rollout, error) {
	r := Rollout{Service: spec.Name, ARN: Planned, Action: step.WouldCreate}
	svc, err := b.describeService(ctx, spec.Cluster, spec.Name)
	if err != nil {
		return r, err
	}
	if svc != nil && aws.ToString(svc.Status) == "DRAINING" {
		if b.DryRun {
			b.would(false, KindService, "", spec.Name)
			return r, nil
		}
		if err := b.waitInactive(ctx, spec.Cluster, spec.Name); err != nil {
			return r, err
		}
		svc = nil
	}
	if svc == nil || aws.ToString(svc.Status) == "INACTIVE" {
		if b.DryRun {
			b.would(false, KindService, "", spec.Name)
			return r, nil
		}
		return b.createService(ctx, spec)
	}
	r.ARN, r.DeploymentID = aws.ToString(svc.ServiceArn), primaryDeployment(svc)
	if err := b.owned(KindService, r.ARN, tags.FromECS(svc.Tags)); err != nil {
		return r, err
	}
	diff := serviceDiff(spec, svc)
	if len(diff) == 0 {
		r.Action = step.Kept
		b.record(step.Kept, KindService, r.ARN, spec.Name)
		return r, nil
	}
	what := spec.Name + ": " + strings.Join(diff, ", ")
	if b.DryRun {
		r.Action = step.WouldUpdate
		b.would(true, KindService, r.ARN, what)
		return r, nil
	}
	in := &ecs.UpdateServiceInput{
		Cluster: &spec.Cluster, Service: &spec.Name,
		TaskDefinition:          &spec.TaskDefinition,
		DesiredCount:            aws.Int32(spec.DesiredCount),
		NetworkConfiguration:    networkConfiguration(spec),
		LoadBalancers:           spec.LoadBalancers,
		DeploymentConfiguration: deploymentConfiguration(spec),
	}
	if len(spec.LoadBalancers) > 0 {
		in.HealthCheckGracePeriodSeconds = aws.Int32(gracePeriod(spec))
	} else if len(svc.LoadBalancers) > 0 {
		in.LoadBalancers = []ecstypes.LoadBalancer{} // detach
	}
	if len(spec.CapacityProviderStrategy) > 0 {
		in.CapacityProviderStrategy = spec.CapacityProviderStrategy
		// ECS takes a new strategy only with a new deployment.
		in.ForceNewDeployment = !sameStrategy(spec.CapacityProviderStrategy, svc.CapacityProviderStrategy)
	}
	out, err := b.ECS.UpdateService(ctx, in)
	if err != nil {
		return r, fmt.Errorf("update service %s (%s): %w", spec.Name, strings.Join(diff, ", "), err)
	}
	r.Action, r.DeploymentID = step.Updated, primaryDeployment(out.Service)
	b.record(step.Updated, KindService, r.ARN, what)
	return r, nil
}

func (b *Builder) createService(ctx context.Context, spec ServiceSpec) (Rollout, error) {
	in := &ecs.CreateServiceInput{
		Cluster: &spec.Cluster, ServiceName: &spec.Name,
		TaskDefinition:          &spec.TaskDefinition,
		DesiredCount:            aws.Int32(spec.DesiredCount),
		NetworkConfiguration:    networkConfiguration(spec),
		LoadBalancers:           spec.LoadBalancers,
		DeploymentConfiguration: deploymentConfiguration(spec),
		SchedulingStrategy:      ecstypes.SchedulingStrategyReplica,
		EnableECSManagedTags:    true,
		PropagateTags:           ecstypes.PropagateTagsService,
		Tags:                    tags.ECS(spec.Tags),
	}
	if len(spec.CapacityProviderStrategy) > 0 {
		in.CapacityProviderStrategy = spec.CapacityProviderStrategy
	} else {
		in.LaunchType = spec.LaunchType
	}
	if len(spec.LoadBalancers) > 0 {
		in.HealthCheckGracePeriodSeconds = aws.Int32(gracePeriod(spec))
	}
	out, err := b.ECS.CreateService(ctx, in)
	if err != nil {
		return Rollout{Service: spec.Name}, fmt.Errorf("create service %s in cluster %s: %w", spec.Name, spec.Cluster, err)
	}
	r := Rollout{Service: spec.Name, ARN: aws.ToString(out.Service.ServiceArn), Action: step.Created, DeploymentID: primaryDeployment(out.Service)}
	b.record(step.Created, KindService, r.ARN, spec.Name)
	return r, nil
}

// primaryDeployment is the id of the service's PRIMARY deployment, or "".
func primaryDeployment(s *ecstypes.Service) string {
	if s == nil {
		return ""
	}
	for _, d := range s.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return aws.ToString(d.Id)
		}
	}
	return ""
}

func (b *Builder) describeService(ctx context.Context, cluster, name string) (*ecstypes.Service, error) {
	out, err := b.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster: &cluster, Services: []string{name}, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags},
	})
	if err != nil {
		return nil, fmt.Errorf("describe service %s of cluster %s: %w", name, cluster, err)
	}
	for i := range out.Services {
		if aws.ToString(out.Services[i].ServiceName) == name {
			return &out.Services[i], nil
		}
	}
	return nil, nil
}

func (b *Builder) waitInactive(ctx context.Context, cluster, name string) error {
	return wait.Until(ctx, b.Log, wait.Target{Kind: KindService, ID: cluster + "/" + name}, wait.Options{Max: serviceGoneWait},
		func(ctx context.Context) (bool, string, error) {
			s, err := b.describeService(ctx, cluster, name)
			if err != nil {
				return false, "", err
			}
			if s == nil || aws.ToString(s.Status) == "INACTIVE" {
				return true, "INACTIVE", nil
			}
			return false, aws.ToString(s.Status), nil
		})
}

func networkConfiguration(spec ServiceSpec) *ecstypes.NetworkConfiguration {
	return &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
		Subnets: sorted(spec.Subnets), SecurityGroups: sorted(spec.SecurityGroups), AssignPublicIp: ecstypes.AssignPublicIpDisabled,
	}}
}

func deploymentConfiguration(spec ServiceSpec) *ecstypes.DeploymentConfiguration {
	minimum, maximum := int32(100), int32(200)
	if spec.MinimumHealthyPercent != nil {
		minimum = *spec.MinimumHealthyPercent
	}
	if spec.MaximumPercent != nil {
		maximum = *spec.MaximumPercent
	}
	return &ecstypes.DeploymentConfiguration{
		DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		MaximumPercent:           aws.Int32(maximum),
		MinimumHealthyPercent:    aws.Int32(minimum),
	}
}

func gracePeriod(spec ServiceSpec) int32 {
	if spec.HealthCheckGracePeriodSeconds > 0 {
		return spec.HealthCheckGracePeriodSeconds
	}
	return 60
}

// serviceDiff names what differs between spec and the service as it is.
func serviceDiff(spec ServiceSpec, s *ecstypes.Service) []string {
	var diff []string
	if aws.ToString(s.TaskDefinition) != spec.TaskDefinition {
		diff = append(diff, "task definition "+shortARN(aws.ToString(s.TaskDefinition))+" -> "+shortARN(spec.TaskDefinition))
	}
	if s.DesiredCount != spec.DesiredCount {
		diff = append(diff, fmt.Sprintf("desired count %d -> %d", s.DesiredCount, spec.DesiredCount))
	}
	var subnets, groups []string
	public := ecstypes.AssignPublicIpDisabled
	if nc := s.NetworkConfiguration; nc != nil && nc.AwsvpcConfiguration != nil {
		subnets, groups = nc.AwsvpcConfiguration.Subnets, nc.AwsvpcConfiguration.SecurityGroups
		if nc.AwsvpcConfiguration.AssignPublicIp != "" {
			public = nc.AwsvpcConfiguration.AssignPublicIp
		}
	}
	if !sameSet(subnets, spec.Subnets) {
		diff = append(diff, "subnets")
	}
	if !sameSet(groups, spec.SecurityGroups) {
		diff = append(diff, "security groups")
	}
	if public != ecstypes.AssignPublicIpDisabled {
		diff = append(diff, "public IP")
	}
	if !sameLoadBalancers(spec.LoadBalancers, s.LoadBalancers) {
		diff = append(diff, "load balancers")
	}
	if len(spec.CapacityProviderStrategy) > 0 && !sameStrategy(spec.CapacityProviderStrategy, s.CapacityProviderStrategy) {
		diff = append(diff, "capacity provider strategy")
	}
	if dc := s.DeploymentConfiguration; dc == nil || dc.DeploymentCircuitBreaker == nil || !dc.DeploymentCircuitBreaker.Enable || !dc.DeploymentCircuitBreaker.Rollback {
		diff = append(diff, "deployment circuit breaker")
	} else if want := deploymentConfiguration(spec); (dc.MinimumHealthyPercent != nil && *dc.MinimumHealthyPercent != *want.MinimumHealthyPercent) ||
		(dc.MaximumPercent != nil && *dc.MaximumPercent != *want.MaximumPercent) {
		diff = append(diff, "deployment percentages")
	}
	return diff
}

func shortARN(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

func sorted(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return out
}

func sameSet(a, b []string) bool {
	return strings.Join(sorted(a), ",") == strings.Join(sorted(b), ",")
}

func sameLoadBalancers(want, got []ecstypes.LoadBalancer) bool {
	key := func(lbs []ecstypes.LoadBalancer) []string {
		var out []string
		for _, l := range lbs {
			out = append(out, fmt.Sprintf("%s|%s|%d", aws.ToString(l.TargetGroupArn), aws.ToString(l.ContainerName), aws.ToInt32(l.ContainerPort)))
		}
		return out
	}
	return sameSet(key(want), key(got))
}

func sameStrategy(want, got []ecstypes.CapacityProviderStrategyItem) bool {
	key := func(items []ecstypes.CapacityProviderStrategyItem) []string {
		var out []string
		for _, i := range items {
			out = append(out, fmt.Sprintf("%s|%d|%d", aws.ToString(i.CapacityProvider), i.Weight, i.Base))
		}
		return out
	}
	return sameSet(key(want), key(got))
}

// describeBatch is the most services one DescribeServices call takes.
const describeBatch = 10

// eventsInError is how many of a service's latest events a failure quotes.
const eventsInError = 5

// WaitStable waits until every service of rollouts is stable: exactly one
// deployment (the PRIMARY, and the rollout's DeploymentID when set) whose
// rollout is COMPLETED, or whose running count has reached the desired
// count. It describes the services in
// batches of 10, logs progress per service, and fails at once when a
// deployment FAILED (the circuit breaker gave up) or a service vanished.
// Past o.Max (and the context's deadline) it returns a wait.TimeoutError
// (exit 4); failures and timeouts quote the services' latest ECS events.
func (b *Builder) WaitStable(ctx context.Context, cluster string, rollouts []Rollout, o wait.Options) error {
	if len(rollouts) == 0 || b.DryRun {
		return nil
	}
	pending := map[string]Rollout{}
	for _, r := range rollouts {
		pending[r.Service] = r
	}
	last := map[string]ecstypes.Service{}
	states := map[string]string{}
	var failed []string
	names := make([]string, 0, len(rollouts))
	for _, r := range rollouts {
		names = append(names, r.Service)
	}
	sort.Strings(names)
	err := wait.Until(ctx, b.Log, wait.Target{Kind: "ecs services", ID: cluster}, o, func(ctx context.Context) (bool, string, error) {
		var left []string
		for _, n := range names {
			if _, ok := pending[n]; ok {
				left = append(left, n)
			}
		}
		for start := 0; start < len(left); start += describeBatch {
			batch := left[start:min(start+describeBatch, len(left))]
			out, err := b.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &cluster, Services: batch})
			if err != nil {
				return false, "", fmt.Errorf("describe services of cluster %s: %w", cluster, err)
			}
			found := map[string]bool{}
			for _, s := range out.Services {
				name := aws.ToString(s.ServiceName)
				found[name] = true
				last[name] = s
				state, done, bad := serviceState(s, pending[name])
				if state != states[name] {
					b.Log.WithFields(logrus.Fields{"resource": KindService, "id": name, "state": state}).Info("service progress")
					states[name] = state
				}
				if bad {
					failed = append(failed, name)
				}
				if done || bad {
					delete(pending, name)
				}
			}
			for _, n := range batch {
				if !found[n] {
					failed = append(failed, n)
					states[n] = "missing"
					delete(pending, n)
				}
			}
		}
		if len(failed) > 0 {
			return true, "failed", nil
		}
		if len(pending) == 0 {
			return true, "all stable", nil
		}
		var parts []string
		for _, n := range names {
			if _, ok := pending[n]; ok {
				parts = append(parts, n+" "+states[n])
			}
		}
		return false, fmt.Sprintf("%d of %d stable; waiting for %s", len(names)-len(pending), len(names), strings.Join(parts, ", ")), nil
	})
	if len(failed) > 0 {
		sort.Strings(failed)
		var msgs []string
		for _, n := range failed {
			msgs = append(msgs, fmt.Sprintf("service %s: %s%s", n, states[n], lastEvents(last[n])))
		}
		return fmt.Errorf("%d services did not become stable: %s", len(failed), strings.Join(msgs, "; "))
	}
	if err != nil {
		var msgs []string
		for _, n := range names {
			if _, ok := pending[n]; ok {
				msgs = append(msgs, fmt.Sprintf("service %s: %s%s", n, states[n], lastEvents(last[n])))
			}
		}
		return fmt.Errorf("%w; not stable: %s", err, strings.Join(msgs, "; "))
	}
	return nil
}

// serviceState describes a service's rollout; done means stable, bad means
// it cannot become stable by itself.
func serviceState(s ecstypes.Service, want Rollout) (state string, done, bad bool) {
	if st := aws.ToString(s.Status); st != "ACTIVE" {
		return st, false, true
	}
	var primary *ecstypes.Deployment
	for i := range s.Deployments {
		d := &s.Deployments[i]
		if d.RolloutState == ecstypes.DeploymentRolloutStateFailed {
			return fmt.Sprintf("deployment %s failed: %s", aws.ToString(d.Id), aws.ToString(d.RolloutStateReason)), false, true
		}
		if aws.ToString(d.Status) == "PRIMARY" {
			primary = d
		}
	}
	state = fmt.Sprintf("%d/%d running, %d pending, %d deployments", s.RunningCount, s.DesiredCount, s.PendingCount, len(s.Deployments))
	if primary == nil || len(s.Deployments) != 1 {
		return state, false, false
	}
	if want.DeploymentID != "" && aws.ToString(primary.Id) != want.DeploymentID {
		return fmt.Sprintf("deployment %s was replaced by %s (%s), running %s: rolled back by the circuit breaker?",
			want.DeploymentID, aws.ToString(primary.Id), aws.ToString(primary.RolloutStateReason), shortARN(aws.ToString(primary.TaskDefinition))), false, true
	}
	if primary.RolloutState == ecstypes.DeploymentRolloutStateCompleted || s.RunningCount == s.DesiredCount {
		return "stable, " + state, true, false
	}
	return state, false, false
}

func lastEvents(s ecstypes.Service) string {
	if len(s.Events) == 0 {
		return ""
	}
	evs := s.Events[:min(eventsInError, len(s.Events))] // newest first
	parts := make([]string, len(evs))
	for i, e := range evs {
		parts[i] = fmt.Sprintf("[%s] %s", aws.ToTime(e.CreatedAt).UTC().Format(time.RFC3339), aws.ToString(e.Message))
	}
	return " (latest events: " + strings.Join(parts, " | ") + ")"
}
