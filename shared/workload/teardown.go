package workload

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/cluster"
	"github.com/stagehand/stagehand/shared/network"
	"github.com/stagehand/stagehand/shared/parallel"
	"github.com/stagehand/stagehand/shared/resource"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// FamilyPrefix starts the name of every task definition family of
// environment env ("ENV-"); verify-clean lists the families under it.
func FamilyPrefix(env string) string { return env + "-" }

// Known are ids a step recorded in its artifact. The kinds delete them
// too (when they still exist), beside what they find by tags.
type Known struct {
	// Cluster the services run in; more clusters are found by tags.
	Cluster            string
	Services           []string // names or ARNs, in Cluster
	TaskDefinitionARNs []string
	LoadBalancerARNs   []string
	TargetGroupARNs    []string
	SecurityGroupIDs   []string
	LogGroups          []string
}

// Scope is what the workload kinds work on: one environment and, for a
// destroy step, the step whose resources it removes.
type Scope struct {
	ECS  ECSAPI
	ELB  ELBAPI
	EC2  EC2API
	Logs LogsAPI
	Env  string
	// Step, when set, narrows every kind to resources tagged
	// stagehand:step=Step, so that destroy-containers removes only what
	// run-containers created and destroy-jenkins only what
	// provision-jenkins created. verify-clean leaves it empty.
	Step  string
	Known Known
	Log   logrus.FieldLogger
	// DependencyBudget bounds the retries of deletions something still
	// depends on (security groups and their network interfaces, target
	// groups still in use); default 10m.
	DependencyBudget time.Duration
	// Wait tunes the waits for services to drain and load balancers to go
	// (zero: defaults, at most 10 minutes each).
	Wait wait.Options
}

// NewScope returns a Scope with clients made from cfg; step "" is every
// step (verify-clean).
func NewScope(cfg aws.Config, env, step string, log logrus.FieldLogger) *Scope {
	return &Scope{
		ECS: ecs.NewFromConfig(cfg), ELB: elb.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg), Logs: cloudwatchlogs.NewFromConfig(cfg),
		Env: env, Step: step, Log: log,
	}
}

// Kinds returns the workload kinds in teardown order: ECS services (scaled
// to 0, deleted, waited INACTIVE) → task definitions (every ACTIVE
// revision deregistered) → load balancers (their listeners and rules go
// with them; waited until gone) → target groups → security groups (rules
// referencing each other revoked first; retried while network interfaces
// of the load balancer or tasks still hold them) → log groups.
func Kinds(s *Scope) []resource.Kind {
	return []resource.Kind{
		&services{s: s}, &taskDefinitions{s}, &loadBalancers{s}, &targetGroups{s}, s.securityGroups(), &logGroups{s},
	}
}

// Listers returns the kinds verify-clean lists: all of Kinds but those
// other listers already cover — ECS services (shared/cluster lists every
// service of the environment's clusters, and a service cannot outlive its
// cluster) and security groups (shared/network lists every group tagged
// with the environment).
func Listers(s *Scope) []resource.Lister {
	return []resource.Lister{&taskDefinitions{s}, &loadBalancers{s}, &targetGroups{s}, &logGroups{s}}
}

// matches reports whether tags m put a resource in the scope.
func (s *Scope) matches(m map[string]string) bool {
	return tags.Is(m, s.Env) && (s.Step == "" || m[tags.Step] == s.Step)
}

func (s *Scope) budget() time.Duration {
	if s.DependencyBudget > 0 {
		return s.DependencyBudget
	}
	return 10 * time.Minute
}

func (s *Scope) wait() wait.Options {
	o := s.Wait
	if o.Max == 0 {
		o.Max = 10 * time.Minute
	}
	return o
}

// retryDependency runs fn until nothing depends on the resource anymore;
// already gone is resource.ErrGone.
func (s *Scope) retryDependency(ctx context.Context, t wait.Target, fn func(context.Context) error) error {
	err := wait.Retry(ctx, s.Log, t, s.budget(), 5*time.Second, awserr.Dependency, func(ctx context.Context) error {
		return awserr.Translate(fn(ctx))
	})
	if awserr.NotFound(err) {
		return resource.ErrGone
	}
	return err
}

// ---- ECS services

type services struct {
	s *Scope
	// deleted are the services Prepare deleted (by ARN).
	mu      sync.Mutex
	deleted map[string]bool
}

func (k *services) Kind() string { return KindService }

// clusters returns the names of the known cluster and of every cluster
// tagged with the environment that is not INACTIVE.
func (k *services) clusters(ctx context.Context) ([]string, error) {
	var arns []string
	p := ecs.NewListClustersPaginator(k.s.ECS, &ecs.ListClustersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list clusters: %w", err)
		}
		arns = append(arns, page.ClusterArns...)
	}
	if k.s.Known.Cluster != "" {
		arns = append(arns, k.s.Known.Cluster)
	}
	seen := map[string]bool{}
	var names []string
	for start := 0; start < len(arns); start += 100 {
		out, err := k.s.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{
			Clusters: arns[start:min(start+100, len(arns))], Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags},
		})
		if err != nil {
			return nil, fmt.Errorf("describe clusters: %w", err)
		}
		for _, c := range out.Clusters {
			name := aws.ToString(c.ClusterName)
			if aws.ToString(c.Status) == "INACTIVE" || seen[name] {
				continue
			}
			if name == k.s.Known.Cluster || tags.Is(tags.FromECS(c.Tags), k.s.Env) {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

func (k *services) List(ctx context.Context) ([]resource.Resource, error) {
	clusters, err := k.clusters(ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, n := range k.s.Known.Services {
		known[shortARN(n)] = true
	}
	var rs []resource.Resource
	for _, c := range clusters {
		arns, err := cluster.ListServices(ctx, k.s.ECS, c)
		if err != nil {
			return nil, err
		}
		if c == k.s.Known.Cluster {
			arns = append(arns, k.s.Known.Services...)
		}
		for start := 0; start < len(arns); start += describeBatch {
			out, err := k.s.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{
				Cluster: aws.String(c), Services: arns[start:min(start+describeBatch, len(arns))],
				Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags},
			})
			if awserr.NotFound(err) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("describe services of cluster %s: %w", c, err)
			}
			for _, svc := range out.Services {
				name := aws.ToString(svc.ServiceName)
				if aws.ToString(svc.Status) == "INACTIVE" {
					continue
				}
				if !k.s.matches(tags.FromECS(svc.Tags)) && !(c == k.s.Known.Cluster && known[name]) {
					continue
				}
				rs = resource.Merge(rs, []resource.Resource{{
					Kind: k.Kind(), ID: aws.ToString(svc.ServiceArn), Name: name, State: aws.ToString(svc.Status),
					Detail: fmt.Sprintf("cluster %s, %d running", c, svc.RunningCount), Ref: map[string]string{"cluster": c},
				}})
			}
		}
	}
	return rs, nil
}

// Prepare drains and deletes all the services at once, cluster by
// cluster (shared/cluster.DeleteServices: scale to 0, delete, wait until
// INACTIVE), so that they drain side by side; Remove then only reports.
func (k *services) Prepare(ctx context.Context, rs []resource.Resource) error {
	byCluster := map[string][]string{}
	for _, r := range rs {
		byCluster[r.Ref["cluster"]] = append(byCluster[r.Ref["cluster"]], r.ID)
	}
	k.mu.Lock()
	k.deleted = map[string]bool{}
	k.mu.Unlock()
	names := make([]string, 0, len(byCluster))
	for c := range byCluster {
		names = append(names, c)
	}
	sort.Strings(names)
	return parallel.Do(ctx, 4, len(names), func(ctx context.Context, i int) error {
		c := names[i]
		deleted, err := cluster.DeleteServices(ctx, k.s.ECS, k.s.Log, c, byCluster[c], k.s.wait())
		k.mu.Lock()
		for _, d := range deleted {
			k.deleted[d] = true
		}
		k.mu.Unlock()
		return err
	})
}

func (k *services) Remove(ctx context.Context, r resource.Resource) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.deleted[r.ID] {
		return nil
	}
	return resource.ErrGone
}

// ---- task definitions

type taskDefinitions struct{ s *Scope }

func (k *taskDefinitions) Kind() string { return KindTaskDefinition }

func (k *taskDefinitions) List(ctx context.Context) ([]resource.Resource, error) {
	var families []string
	p := ecs.NewListTaskDefinitionFamiliesPaginator(k.s.ECS, &ecs.ListTaskDefinitionFamiliesInput{
		FamilyPrefix: aws.String(FamilyPrefix(k.s.Env)), Status: ecstypes.TaskDefinitionFamilyStatusActive,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list task definition families: %w", err)
		}
		families = append(families, page.Families...)
	}
	var arns []string
	for _, f := range families {
		if !strings.HasPrefix(f, FamilyPrefix(k.s.Env)) {
			continue
		}
		a, err := activeRevisions(ctx, k.s.ECS, f)
		if err != nil {
			return nil, err
		}
		arns = append(arns, a...)
	}
	known := map[string]bool{}
	for _, a := range k.s.Known.TaskDefinitionARNs {
		known[a] = true
		arns = append(arns, a)
	}
	arns = dedupe(arns)
	found := make([]*resource.Resource, len(arns))
	err := parallel.Do(ctx, 8, len(arns), func(ctx context.Context, i int) error {
		out, err := k.s.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
			TaskDefinition: &arns[i], Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
		})
		if err != nil {
			if known[arns[i]] && awserr.Code(err) == "ClientException" {
				return nil // a recorded revision that no longer exists
			}
			return fmt.Errorf("describe task definition %s: %w", arns[i], err)
		}
		td := out.TaskDefinition
		if td.Status != ecstypes.TaskDefinitionStatusActive || !(known[arns[i]] || k.s.matches(tags.FromECS(out.Tags))) {
			return nil
		}
		found[i] = &resource.Resource{Kind: k.Kind(), ID: arns[i], Name: aws.ToString(td.Family), State: string(td.Status)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var rs []resource.Resource
	for _, r := range found {
		if r != nil {
			rs = append(rs, *r)
		}
	}
	return rs, nil
}

func (k *taskDefinitions) Remove(ctx context.Context, r resource.Resource) error {
	_, err := k.s.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: &r.ID})
	if awserr.NotFound(err) {
		return resource.ErrGone
	}
	return err
}

// ---- load balancers

type loadBalancers struct{ s *Scope }

func (k *loadBalancers) Kind() string { return KindLoadBalancer }

func (k *loadBalancers) List(ctx context.Context) ([]resource.Resource, error) {
	type lb struct{ arn, name, state string }
	var all []lb
	add := func(in *elb.DescribeLoadBalancersInput) error {
		p := elb.NewDescribeLoadBalancersPaginator(k.s.ELB, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, l := range page.LoadBalancers {
				st := ""
				if l.State != nil {
					st = string(l.State.Code)
				}
				all = append(all, lb{aws.ToString(l.LoadBalancerArn), aws.ToString(l.LoadBalancerName), st})
			}
		}
		return nil
	}
	if err := add(&elb.DescribeLoadBalancersInput{}); err != nil {
		return nil, fmt.Errorf("describe load balancers: %w", err)
	}
	known := map[string]bool{}
	for _, a := range k.s.Known.LoadBalancerARNs {
		known[a] = true
	}
	arns := make([]string, len(all))
	for i, l := range all {
		arns[i] = l.arn
	}
	tm, err := elbTags(ctx, k.s.ELB, arns)
	if err != nil {
		return nil, err
	}
	var rs []resource.Resource
	for _, l := range all {
		if known[l.arn] || k.s.matches(tm[l.arn]) {
			rs = resource.Merge(rs, []resource.Resource{{Kind: k.Kind(), ID: l.arn, Name: l.name, State: l.state}})
		}
	}
	return rs, nil
}

func (k *loadBalancers) Remove(ctx context.Context, r resource.Resource) error {
	_, err := k.s.ELB.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: &r.ID})
	if awserr.NotFound(err) {
		return resource.ErrGone
	}
	if err != nil {
		return err
	}
	// Its network interfaces keep the subnets and security groups busy
	// until it is gone.
	return wait.Until(ctx, k.s.Log, wait.Target{Kind: k.Kind(), ID: r.Name}, k.s.wait(), func(ctx context.Context) (bool, string, error) {
		out, err := k.s.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{r.ID}})
		if awserr.NotFound(err) {
			return true, "gone", nil
		}
		if err != nil {
			return false, "", err
		}
		if len(out.LoadBalancers) == 0 {
			return true, "gone", nil
		}
		return false, "deleting", nil
	})
}

// ---- target groups

type targetGroups struct{ s *Scope }

func (k *targetGroups) Kind() string { return KindTargetGroup }

func (k *targetGroups) List(ctx context.Context) ([]resource.Resource, error) {
	type tg struct{ arn, name string }
	var all []tg
	p := elb.NewDescribeTargetGroupsPaginator(k.s.ELB, &elb.DescribeTargetGroupsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe target groups: %w", err)
		}
		for _, t := range page.TargetGroups {
			all = append(all, tg{aws.ToString(t.TargetGroupArn), aws.ToString(t.TargetGroupName)})
		}
	}
	known := map[string]bool{}
	for _, a := range k.s.Known.TargetGroupARNs {
		known[a] = true
	}
	arns := make([]string, len(all))
	for i, t := range all {
		arns[i] = t.arn
	}
	tm, err := elbTags(ctx, k.s.ELB, arns)
	if err != nil {
		return nil, err
	}
	var rs []resource.Resource
	for _, t := range all {
		if known[t.arn] || k.s.matches(tm[t.arn]) {
			rs = append(rs, resource.Resource{Kind: k.Kind(), ID: t.arn, Name: t.name})
		}
	}
	return rs, nil
}

func (k *targetGroups) Remove(ctx context.Context, r resource.Resource) error {
	// A target group stays "in use" for a moment after its load balancer is gone.
	return k.s.retryDependency(ctx, wait.Target{Kind: k.Kind(), ID: r.Name}, func(ctx context.Context) error {
		_, err := k.s.ELB.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: &r.ID})
		return err
	})
}

// ---- log groups

type logGroups struct{ s *Scope }

func (k *logGroups) Kind() string { return KindLogGroup }

func (k *logGroups) List(ctx context.Context) ([]resource.Resource, error) {
	type group struct{ name, arn string }
	var all []group
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(k.s.Logs, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(LogGroupPrefix(k.s.Env))})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe log groups: %w", err)
		}
		for _, g := range page.LogGroups {
			all = append(all, group{aws.ToString(g.LogGroupName), logGroupARN(g)})
		}
	}
	for _, name := range k.s.Known.LogGroups {
		g, err := findLogGroup(ctx, k.s.Logs, name)
		if err != nil {
			return nil, err
		}
		if g != nil {
			all = append(all, group{name, logGroupARN(*g)})
		}
	}
	known := map[string]bool{}
	for _, n := range k.s.Known.LogGroups {
		known[n] = true
	}
	seen := map[string]bool{}
	found := make([]bool, len(all))
	err := parallel.Do(ctx, 8, len(all), func(ctx context.Context, i int) error {
		if known[all[i].name] {
			found[i] = true
			return nil
		}
		out, err := k.s.Logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(all[i].arn)})
		if awserr.NotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list tags of log group %s: %w", all[i].name, err)
		}
		found[i] = k.s.matches(out.Tags)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var rs []resource.Resource
	for i, g := range all {
		if found[i] && !seen[g.name] {
			seen[g.name] = true
			rs = append(rs, resource.Resource{Kind: k.Kind(), ID: g.name, Name: g.name})
		}
	}
	return rs, nil
}

func (k *logGroups) Remove(ctx context.Context, r resource.Resource) error {
	_, err := k.s.Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: &r.ID})
	if awserr.NotFound(err) {
		return resource.ErrGone
	}
	return err
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// securityGroups are the step's security groups; the kind is the network's.
func (s *Scope) securityGroups() resource.Kind {
	return network.SecurityGroups(network.SecurityGroupSet{
		API: s.EC2, Env: s.Env, Step: s.Step, IDs: s.Known.SecurityGroupIDs, Log: s.Log, DependencyBudget: s.budget(),
	})
}
