package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/parallel"
	"github.com/stagehand/stagehand/shared/resource"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// Scope is what the cluster kinds work on: the environment's tags (and,
// when Step is set, the step that created them), the names every cluster
// resource of the environment has, and the ids of its ecs.json when there
// is one.
type Scope struct {
	Clients
	Env string
	// Step, when set, narrows tagged resources to those whose
	// stagehand:step tag is Step (destroy-ecs: bootstrap-ecs). Services,
	// tasks and container instances in the environment's cluster are taken
	// whoever started them.
	Step string
	// Artifact, when not nil, adds its ids to what the tags find.
	Artifact *artifact.ECS
	Log      logrus.FieldLogger
	// DependencyBudget bounds the retries of deletions that something still
	// depends on (ECS's Cluster*Exception, IAM's DeleteConflict, Auto
	// Scaling's ScalingActivityInProgress); default 5m.
	DependencyBudget time.Duration
	// RetryInterval is the pause between those retries (default 5s).
	RetryInterval time.Duration
	// Wait tunes the waits for deletions (zero: defaults).
	Wait wait.Options
}

// Kinds returns the cluster kinds in teardown order: services (drained,
// waited inactive) → tasks (stopped) → the auto scaling capacity (managed
// termination protection and scale-in protection off, size 0) → container
// instances (deregistered) → capacity providers (detached, deleted) → the
// cluster → auto scaling groups (deleted, their instances waited
// terminated) → stray instances → launch templates → instance profiles
// (roles removed first) → roles (policies detached and deleted first).
func Kinds(s *Scope) []resource.Kind {
	return []resource.Kind{
		&services{s: s}, &tasks{s}, &capacityRelease{s}, &containerInstancesKind{s},
		&capacityProviders{s}, &clusters{s}, &autoScalingGroups{s}, &instances{s},
		&launchTemplates{s}, &instanceProfiles{s}, &roles{s},
	}
}

// Listers returns every cluster kind verify-clean lists: Kinds without the
// auto scaling capacity, which is a setting rather than a resource.
func Listers(s *Scope) []resource.Lister {
	var out []resource.Lister
	for _, k := range Kinds(s) {
		if _, ok := k.(*capacityRelease); !ok {
			out = append(out, k)
		}
	}
	return out
}

func (s *Scope) budget() time.Duration {
	if s.DependencyBudget > 0 {
		return s.DependencyBudget
	}
	return 5 * time.Minute
}

func (s *Scope) interval() time.Duration {
	if s.RetryInterval > 0 {
		return s.RetryInterval
	}
	return 5 * time.Second
}

func (s *Scope) waitOptions(max time.Duration) wait.Options {
	o := s.Wait
	if o.Max == 0 {
		o.Max = max
	}
	return o
}

// owned reports whether tags m mark a resource of the scope.
func (s *Scope) owned(m map[string]string) bool {
	return tags.Is(m, s.Env) && (s.Step == "" || m[tags.Step] == s.Step)
}

func (s *Scope) names() Names { return NamesFor(s.Env) }

// retryDependency calls fn, retrying while something still depends on the
// resource; already gone is resource.ErrGone. When the budget is spent,
// blockers (if not nil) says what still holds on.
func (s *Scope) retryDependency(ctx context.Context, t wait.Target, blockers func(context.Context) string, fn func(context.Context) error) error {
	err := wait.Retry(ctx, s.Log, t, s.budget(), s.interval(), awserr.Dependency, func(ctx context.Context) error {
		return awserr.Translate(fn(ctx))
	})
	if awserr.NotFound(err) {
		return resource.ErrGone
	}
	if err != nil && awserr.Dependency(err) && blockers != nil {
		if b := blockers(ctx); b != "" {
			return fmt.Errorf("%w; still there: %s", err, b)
		}
	}
	return err
}

// ---- clusters

// describeClusterBatch is the most clusters one DescribeClusters call accepts.
const describeClusterBatch = 100

// clusters returns the environment's clusters that are not INACTIVE: every
// cluster of the account and region tagged with the environment, and the
// one of the artifact.
func (s *Scope) clusters(ctx context.Context) ([]ecstypes.Cluster, error) {
	var arns []string
	p := ecs.NewListClustersPaginator(s.ECS, &ecs.ListClustersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list ecs clusters: %w", err)
		}
		arns = append(arns, page.ClusterArns...)
	}
	fromArtifact := ""
	if s.Artifact != nil && s.Artifact.ClusterARN != "" {
		fromArtifact = s.Artifact.ClusterARN
		if !contains(arns, fromArtifact) {
			arns = append(arns, fromArtifact)
		}
	}
	var out []ecstypes.Cluster
	for start := 0; start < len(arns); start += describeClusterBatch {
		batch := arns[start:min(start+describeClusterBatch, len(arns))]
		resp, err := s.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: batch, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags}})
		if err != nil {
			return nil, fmt.Errorf("describe ecs clusters: %w", err)
		}
		for _, c := range resp.Clusters {
			if aws.ToString(c.Status) == clusterInactive {
				continue
			}
			if s.owned(tags.FromECS(c.Tags)) || aws.ToString(c.ClusterArn) == fromArtifact {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

type clusters struct{ s *Scope }

func (k *clusters) Kind() string { return kindCluster }

func (k *clusters) List(ctx context.Context) ([]resource.Resource, error) {
	cs, err := k.s.clusters(ctx)
	if err != nil {
		return nil, err
	}
	rs := make([]resource.Resource, 0, len(cs))
	for _, c := range cs {
		rs = append(rs, resource.Resource{Kind: k.Kind(), ID: aws.ToString(c.ClusterArn), Name: aws.ToString(c.ClusterName),
			State: aws.ToString(c.Status), Detail: clusterContents(c)})
	}
	return rs, nil
}

// clusterContents says what a cluster still holds.
func clusterContents(c ecstypes.Cluster) string {
	return fmt.Sprintf("%d services, %d running and %d pending tasks, %d container instances",
		c.ActiveServicesCount, c.RunningTasksCount, c.PendingTasksCount, c.RegisteredContainerInstancesCount)
}

func (k *clusters) Remove(ctx context.Context, r resource.Resource) error {
	blockers := func(ctx context.Context) string {
		c, err := describeCluster(ctx, k.s.ECS, r.ID)
		if err != nil || c == nil {
			return ""
		}
		return "ecs cluster " + r.Name + " holds " + clusterContents(*c)
	}
	err := k.s.retryDependency(ctx, wait.Target{Kind: k.Kind(), ID: r.Name}, blockers, func(ctx context.Context) error {
		_, err := k.s.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: &r.ID})
		return err
	})
	if err != nil {
		return err
	}
	return wait.Until(ctx, k.s.Log, wait.Target{Kind: k.Kind(), ID: r.Name}, k.s.waitOptions(10*time.Minute), func(ctx context.Context) (bool, string, error) {
		out, err := k.s.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{r.ID}})
		if awserr.NotFound(err) {
			return true, "gone", nil
		}
		if err != nil {
			return false, "", err
		}
		for _, c := range out.Clusters {
			if st := aws.ToString(c.Status); st != clusterInactive {
				return false, st, nil
			}
		}
		return true, clusterInactive, nil
	})
}

// ---- services

// services are every service in the environment's clusters, whoever
// deployed it. Prepare drains them all at once; Remove only reports.
type services struct {
	s       *Scope
	mu      sync.Mutex
	deleted map[string]bool
}

func (k *services) Kind() string { return "ecs service" }

func (k *services) List(ctx context.Context) ([]resource.Resource, error) {
	cs, err := k.s.clusters(ctx)
	if err != nil {
		return nil, err
	}
	var rs []resource.Resource
	for _, c := range cs {
		name := aws.ToString(c.ClusterName)
		arns, err := ListServices(ctx, k.s.ECS, name)
		if err != nil {
			return nil, err
		}
		found, err := describeServices(ctx, k.s.ECS, name, arns)
		if err != nil {
			return nil, err
		}
		for _, arn := range arns {
			svc, ok := found[arn]
			if !ok || aws.ToString(svc.Status) == serviceInactive {
				continue
			}
			rs = append(rs, resource.Resource{Kind: k.Kind(), ID: arn, Name: aws.ToString(svc.ServiceName), State: aws.ToString(svc.Status),
				Detail: fmt.Sprintf("cluster %s, %d desired, %d running", name, svc.DesiredCount, svc.RunningCount), Ref: map[string]string{"cluster": name}})
		}
	}
	return rs, nil
}

// Prepare drains and deletes the services side by side, cluster by cluster
// (DeleteServices: scale to 0, delete, wait until INACTIVE).
func (k *services) Prepare(ctx context.Context, rs []resource.Resource) error {
	byCluster := map[string][]string{}
	var clusters []string
	for _, r := range rs {
		c := r.Ref["cluster"]
		if _, ok := byCluster[c]; !ok {
			clusters = append(clusters, c)
		}
		byCluster[c] = append(byCluster[c], r.ID)
	}
	k.mu.Lock()
	k.deleted = map[string]bool{}
	k.mu.Unlock()
	return parallel.Do(ctx, resource.Concurrency, len(clusters), func(ctx context.Context, i int) error {
		deleted, err := DeleteServices(ctx, k.s.ECS, k.s.Log, clusters[i], byCluster[clusters[i]], k.s.waitOptions(DefaultServicesWait))
		k.mu.Lock()
		defer k.mu.Unlock()
		for _, d := range deleted {
			k.deleted[d] = true
		}
		return err
	})
}

// Remove reports what Prepare did: a service it did not delete itself was
// already going (DRAINING, then waited for) or gone.
func (k *services) Remove(_ context.Context, r resource.Resource) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.deleted[r.ID] {
		return nil
	}
	return resource.ErrGone
}

// ---- tasks

type tasks struct{ s *Scope }

func (k *tasks) Kind() string { return "ecs task" }

// stopReason is what a stopped task says about why.
const stopReason = "stagehand: environment teardown"

func (k *tasks) List(ctx context.Context) ([]resource.Resource, error) {
	cs, err := k.s.clusters(ctx)
	if err != nil {
		return nil, err
	}
	var rs []resource.Resource
	for _, c := range cs {
		name := aws.ToString(c.ClusterName)
		p := ecs.NewListTasksPaginator(k.s.ECS, &ecs.ListTasksInput{Cluster: &name, DesiredStatus: ecstypes.DesiredStatusRunning})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if awserr.NotFound(err) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("list tasks of cluster %s: %w", name, err)
			}
			for _, arn := range page.TaskArns {
				rs = append(rs, resource.Resource{Kind: k.Kind(), ID: arn, Name: arn[strings.LastIndex(arn, "/")+1:],
					Detail: "cluster " + name, Ref: map[string]string{"cluster": name}})
			}
		}
	}
	return rs, nil
}

// Remove stops the task and waits until it has stopped: a cluster with
// running tasks cannot be deleted.
func (k *tasks) Remove(ctx context.Context, r resource.Resource) error {
	cluster := r.Ref["cluster"]
	_, err := k.s.ECS.StopTask(ctx, &ecs.StopTaskInput{Cluster: &cluster, Task: &r.ID, Reason: aws.String(stopReason)})
	if awserr.NotFound(err) {
		return resource.ErrGone
	}
	if err != nil {
		return fmt.Errorf("stop task: %w", err)
	}
	return wait.Until(ctx, k.s.Log, wait.Target{Kind: k.Kind(), ID: r.Name}, k.s.waitOptions(10*time.Minute), func(ctx context.Context) (bool, string, error) {
		out, err := k.s.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: &cluster, Tasks: []string{r.ID}})
		if awserr.NotFound(err) {
			return true, "gone", nil
		}
		if err != nil {
			return false, "", err
		}
		if len(out.Tasks) == 0 {
			return true, "gone", nil
		}
		st := aws.ToString(out.Tasks[0].LastStatus)
		return st == string(ecstypes.DesiredStatusStopped), st, nil
	})
}

// ---- container instances

type containerInstancesKind struct{ s *Scope }

func (k *containerInstancesKind) Kind() string { return "container instance" }

func (k *containerInstancesKind) List(ctx context.Context) ([]resource.Resource, error) {
	cs, err := k.s.clusters(ctx)
	if err != nil {
		return nil, err
	}
	var rs []resource.Resource
	for _, c := range cs {
		name := aws.ToString(c.ClusterName)
		cis, err := containerInstances(ctx, k.s.ECS, name, "")
		if awserr.NotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, ci := range cis {
			if aws.ToString(ci.Status) == string(ecstypes.ContainerInstanceStatusDeregistering) {
				continue
			}
			rs = append(rs, resource.Resource{Kind: k.Kind(), ID: aws.ToString(ci.ContainerInstanceArn), Name: aws.ToString(ci.Ec2InstanceId),
				State: aws.ToString(ci.Status), Detail: fmt.Sprintf("cluster %s, %d running tasks", name, ci.RunningTasksCount), Ref: map[string]string{"cluster": name}})
		}
	}
	return rs, nil
}

// Remove deregisters the container instance with force: the tasks left on
// it were stopped before, and its EC2 instance goes with the auto scaling
// group.
func (k *containerInstancesKind) Remove(ctx context.Context, r resource.Resource) error {
	cluster := r.Ref["cluster"]
	_, err := k.s.ECS.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: &cluster, ContainerInstance: &r.ID, Force: aws.Bool(true)})
	if awserr.NotFound(err) {
		return resource.ErrGone
	}
	if err != nil {
		return fmt.Errorf("deregister container instance: %w", err)
	}
	return nil
}

// ---- capacity providers

// providers returns the environment's capacity providers that are ACTIVE:
// the one named for it, those of the artifact and those attached to its
// clusters, each tagged with the environment (or recorded in the artifact).
// Capacity providers have no tag filter, and listing them all is not
// needed: every one stagehand makes has a known name.
func (s *Scope) providers(ctx context.Context) ([]ecstypes.CapacityProvider, error) {
	names := []string{s.names().CapacityProvider}
	var fromArtifact []string
	if s.Artifact != nil {
		for _, p := range s.Artifact.CapacityProviders {
			if p != ProviderFargate && p != ProviderFargateSpot {
				fromArtifact = append(fromArtifact, p)
			}
		}
	}
	cs, err := s.clusters(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		names = append(names, c.CapacityProviders...)
	}
	names = append(names, fromArtifact...)
	var uniq []string
	for _, n := range names {
		if n != ProviderFargate && n != ProviderFargateSpot && !contains(uniq, n) {
			uniq = append(uniq, n)
		}
	}
	out, err := s.ECS.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{
		CapacityProviders: uniq, Include: []ecstypes.CapacityProviderField{ecstypes.CapacityProviderFieldTags},
	})
	if err != nil {
		return nil, fmt.Errorf("describe capacity providers: %w", err)
	}
	var ps []ecstypes.CapacityProvider
	for _, p := range out.CapacityProviders {
		if p.Status != ecstypes.CapacityProviderStatusActive {
			continue
		}
		if s.owned(tags.FromECS(p.Tags)) || contains(fromArtifact, aws.ToString(p.Name)) {
			ps = append(ps, p)
		}
	}
	return ps, nil
}

type capacityProviders struct{ s *Scope }

func (k *capacityProviders) Kind() string { return kindProvider }

func (k *capacityProviders) List(ctx context.Context) ([]resource.Resource, error) {
	ps, err := k.s.providers(ctx)
	if err != nil {
		return nil, err
	}
	var rs []resource.Resource
	for _, p := range ps {
		detail := ""
		if g := p.AutoScalingGroupProvider; g != nil {
			detail = "auto scaling group " + groupName(aws.ToString(g.AutoScalingGroupArn))
		}
		rs = append(rs, resource.Resource{Kind: k.Kind(), ID: aws.ToString(p.CapacityProviderArn), Name: aws.ToString(p.Name),
			State: string(p.Status), Detail: detail})
	}
	return rs, nil
}

// groupName is the name at the end of an auto scaling group ARN.
func groupName(arn string) string {
	const marker = "autoScalingGroupName/"
	if i := strings.Index(arn, marker); i >= 0 {
		return arn[i+len(marker):]
	}
	return arn
}

// Prepare detaches every capacity provider from the environment's clusters:
// a capacity provider attached to a cluster cannot be deleted, and the
// cluster goes next anyway.
func (k *capacityProviders) Prepare(ctx context.Context, _ []resource.Resource) error {
	cs, err := k.s.clusters(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if len(c.CapacityProviders) == 0 {
			continue
		}
		name := aws.ToString(c.ClusterName)
		err := k.s.retryDependency(ctx, wait.Target{Kind: kindCluster, ID: name}, nil, func(ctx context.Context) error {
			_, err := k.s.ECS.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{
				Cluster: &name, CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{},
			})
			return err
		})
		if err != nil && !errors.Is(err, resource.ErrGone) {
			return fmt.Errorf("detach capacity providers %s from ecs cluster %s: %w", strings.Join(c.CapacityProviders, ","), name, err)
		}
		k.s.Log.WithFields(logrus.Fields{"resource": kindCluster, "id": name, "providers": strings.Join(c.CapacityProviders, ",")}).Info("detached capacity providers")
	}
	return nil
}

func (k *capacityProviders) Remove(ctx context.Context, r resource.Resource) error {
	err := k.s.retryDependency(ctx, wait.Target{Kind: k.Kind(), ID: r.Name}, nil, func(ctx context.Context) error {
		_, err := k.s.ECS.DeleteCapacityProvider(ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: &r.Name})
		return err
	})
	if err != nil {
		return err
	}
	return wait.Until(ctx, k.s.Log, wait.Target{Kind: k.Kind(), ID: r.Name}, k.s.waitOptions(10*time.Minute), func(ctx context.Context) (bool, string, error) {
		out, err := k.s.ECS.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{CapacityProviders: []string{r.Name}})
		if err != nil {
			return false, "", err
		}
		for _, p := range out.CapacityProviders {
			if p.Status == ecstypes.CapacityProviderStatusActive && p.UpdateStatus != ecstypes.CapacityProviderUpdateStatusDeleteComplete {
				if p.UpdateStatus == ecstypes.CapacityProviderUpdateStatusDeleteFailed {
					return false, "", fmt.Errorf("deletion failed: %s", aws.ToString(p.UpdateStatusReason))
				}
				return false, string(p.UpdateStatus), nil
			}
		}
		return true, "deleted", nil
	})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
