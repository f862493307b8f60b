package workload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/environment"
	"github.com/stagehand/stagehand/shared/parallel"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// TagService records which manifest service a resource belongs to.
const TagService = "stagehand:service"

// Names of the manifest's resources.

// LoadBalancerName is the environment's load balancer for public services.
func LoadBalancerName(env string) string { return env + "-public" }

// LoadBalancerSecurityGroupName admits the world to the load balancer.
func LoadBalancerSecurityGroupName(env string) string { return env + "-public-lb" }

// ServicesSecurityGroupName admits the load balancer to the public services.
func ServicesSecurityGroupName(env string) string { return env + "-services" }

// LogGroupName is the log group of a service.
func LogGroupName(env, service string) string { return LogGroupPrefix(env) + service }

// FamilyName is the task definition family of a service.
func FamilyName(env, service string) string { return FamilyPrefix(env) + service }

// TargetGroupName is the target group of a public service: ENV-SERVICE,
// shortened with a hash of the whole when that is over 32 characters.
func TargetGroupName(env, service string) string {
	n := env + "-" + service
	if len(n) <= 32 {
		return n
	}
	sum := sha256.Sum256([]byte(n))
	return strings.TrimRight(n[:25], "-") + "-" + hex.EncodeToString(sum[:])[:6]
}

// PathPatterns route a public service's requests: /NAME and /NAME/...
// The load balancer forwards the path unchanged, so the service answers
// under /NAME/.
func PathPatterns(service string) []string { return []string{"/" + service, "/" + service + "/*"} }

// Deployment runs the manifest's services (run-containers).
type Deployment struct {
	B    *Builder
	Env  *environment.Environment
	Tags tags.Set
	VPC  *artifact.VPC
	ECS  *artifact.ECS
	// Concurrency bounds the services worked on side by side (default 10).
	Concurrency int
	// Wait bounds the wait for the services to become stable (default 15m)
	// and tunes its polling.
	Wait wait.Options
}

// service is one manifest service on its way.
type service struct {
	spec     environment.Service
	taskDef  string
	tg       string
	rule     string
	rollout  Rollout
	logGroup string
}

// Run creates or updates everything the manifest asks for and returns what
// containers.json records (without its header). It waits until every
// service is stable and the load balancer is active.
func (d *Deployment) Run(ctx context.Context) (*artifact.Containers, error) {
	env := d.Env.Name
	svcs := make([]*service, len(d.Env.Services))
	var public []*service
	for i, s := range d.Env.Services {
		svcs[i] = &service{spec: s, logGroup: LogGroupName(env, s.Name)}
		if s.Public {
			public = append(public, svcs[i])
		}
	}
	out := &artifact.Containers{ClusterName: d.ECS.ClusterName, Services: []artifact.ContainerService{}}
	limit := d.Concurrency
	if limit <= 0 {
		limit = 10
	}

	// Log groups and task definitions, and the load balancer's pieces, side by side.
	err := parallel.All(ctx,
		func(ctx context.Context) error {
			return parallel.Do(ctx, limit, len(svcs), func(ctx context.Context, i int) error {
				s := svcs[i]
				tagMap := d.Tags.Map(s.logGroup, TagService, s.spec.Name)
				if _, err := d.B.EnsureLogGroup(ctx, s.logGroup, d.Env.LogRetentionDays, tagMap); err != nil {
					return err
				}
				var err error
				s.taskDef, _, err = d.B.EnsureTaskDefinition(ctx, d.taskDefinition(s))
				return err
			})
		},
		func(ctx context.Context) error {
			if len(public) == 0 {
				return nil
			}
			return d.loadBalancer(ctx, out, public, limit)
		})
	if err != nil {
		return nil, err
	}

	// The services, side by side, then waited for together.
	err = parallel.Do(ctx, limit, len(svcs), func(ctx context.Context, i int) error {
		var err error
		svcs[i].rollout, err = d.B.EnsureService(ctx, d.serviceSpec(svcs[i], out.ServicesSecurityGroupID))
		return err
	})
	if err != nil {
		return nil, err
	}
	rollouts := make([]Rollout, len(svcs))
	for i, s := range svcs {
		rollouts[i] = s.rollout
	}
	o := d.Wait
	if o.Max == 0 {
		o.Max = 15 * time.Minute
	}
	err = parallel.All(ctx,
		func(ctx context.Context) error { return d.B.WaitStable(ctx, d.ECS.ClusterName, rollouts, o) },
		func(ctx context.Context) error {
			if out.LoadBalancerARN == "" {
				return nil
			}
			return d.B.WaitLoadBalancerActive(ctx, out.LoadBalancerARN, wait.Options{Interval: o.Interval, Beat: o.Beat})
		})
	if err != nil {
		return nil, err
	}

	for _, s := range svcs {
		cs := artifact.ContainerService{
			Name: s.spec.Name, ServiceARN: s.rollout.ARN, TaskDefinitionARN: s.taskDef,
			LogGroup: s.logGroup, DesiredCount: s.spec.Desired(),
			TargetGroupARN: s.tg, ListenerRuleARN: s.rule,
		}
		if s.spec.Public {
			cs.URL = Scheme(d.Env.PublicCertificateARN) + "://" + out.LoadBalancerDNSName + "/" + s.spec.Name + "/"
		}
		out.Services = append(out.Services, cs)
	}
	return out, nil
}

// loadBalancer makes the public services reachable: the load balancer's
// security group (open to the world on the listeners' ports), the services'
// security group (open to the load balancer only, on the services'
// ports), the load balancer in the public subnets, a target group per
// public service, the listeners (see EnsureListeners) and one rule per
// service on the one that forwards.
func (d *Deployment) loadBalancer(ctx context.Context, out *artifact.Containers, public []*service, limit int) error {
	env := d.Env.Name
	lbSGName, svcSGName, lbName := LoadBalancerSecurityGroupName(env), ServicesSecurityGroupName(env), LoadBalancerName(env)
	var mu sync.Mutex
	err := parallel.All(ctx,
		func(ctx context.Context) error {
			id, err := d.B.EnsureSecurityGroup(ctx, d.VPC.VPCID, lbSGName, "stagehand "+env+": public load balancer, open to the world",
				ListenerIngress([]string{"0.0.0.0/0"}, d.Env.PublicCertificateARN, "anywhere"), d.Tags.Map(lbSGName))
			if err != nil {
				return err
			}
			out.LoadBalancerSecurityGroupID = id
			var ingress []IngressRule
			seen := map[int]bool{}
			for _, s := range public {
				if !seen[s.spec.Port] {
					seen[s.spec.Port] = true
					ingress = append(ingress, IngressRule{SourceGroup: id, FromPort: int32(s.spec.Port), Description: "from the public load balancer"})
				}
			}
			sort.Slice(ingress, func(i, j int) bool { return ingress[i].FromPort < ingress[j].FromPort })
			if out.ServicesSecurityGroupID, err = d.B.EnsureSecurityGroup(ctx, d.VPC.VPCID, svcSGName,
				"stagehand "+env+": public services, from the load balancer only", ingress, d.Tags.Map(svcSGName)); err != nil {
				return err
			}
			arn, dns, err := d.B.EnsureLoadBalancer(ctx, LoadBalancerSpec{
				Name: lbName, Subnets: d.VPC.PublicSubnetIDs, SecurityGroups: []string{id}, Tags: d.Tags.Map(lbName),
			})
			mu.Lock()
			out.LoadBalancerARN, out.LoadBalancerDNSName = arn, dns
			mu.Unlock()
			return err
		},
		func(ctx context.Context) error {
			return parallel.Do(ctx, limit, len(public), func(ctx context.Context, i int) error {
				s := public[i]
				name := TargetGroupName(env, s.spec.Name)
				var err error
				s.tg, err = d.B.EnsureTargetGroup(ctx, TargetGroupSpec{
					Name: name, VPCID: d.VPC.VPCID, Port: int32(s.spec.Port), HealthCheckPath: s.spec.HealthPath(),
					Tags: d.Tags.Map(name, TagService, s.spec.Name),
				})
				return err
			})
		})
	if err != nil {
		return err
	}
	rules := make([]RuleSpec, len(public))
	for i, s := range public {
		rules[i] = RuleSpec{TargetGroupARN: s.tg, PathPatterns: PathPatterns(s.spec.Name), Tags: d.Tags.Map(lbName+"-"+s.spec.Name, TagService, s.spec.Name)}
	}
	ls, err := d.B.EnsureListeners(ctx, ListenersSpec{
		LoadBalancerARN: out.LoadBalancerARN, CertificateARN: d.Env.PublicCertificateARN, Rules: rules,
		HTTPTags: d.Tags.Map(lbName + "-http"), HTTPSTags: d.Tags.Map(lbName + "-https"),
	})
	if err != nil {
		return err
	}
	out.ListenerARN = ls.ARN
	for i, s := range public {
		s.rule = ls.RuleARNs[i]
	}
	return nil
}

// taskDefinition is the task definition a service asks for.
func (d *Deployment) taskDefinition(s *service) *ecs.RegisterTaskDefinitionInput {
	m := s.spec
	c := ecstypes.ContainerDefinition{
		Name: aws.String(m.Name), Image: aws.String(m.Image), Essential: aws.Bool(true),
		LogConfiguration: &ecstypes.LogConfiguration{
			LogDriver: ecstypes.LogDriverAwslogs,
			Options: map[string]string{
				"awslogs-group": s.logGroup, "awslogs-region": d.Env.Region, "awslogs-stream-prefix": m.Name,
			},
		},
	}
	if m.Port > 0 {
		c.PortMappings = []ecstypes.PortMapping{{ContainerPort: aws.Int32(int32(m.Port)), Protocol: ecstypes.TransportProtocolTcp}}
	}
	for _, k := range sortedKeys(m.Environment) {
		c.Environment = append(c.Environment, ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(m.Environment[k])})
	}
	for _, k := range sortedKeys(m.Secrets) {
		c.Secrets = append(c.Secrets, ecstypes.Secret{Name: aws.String(k), ValueFrom: aws.String(m.Secrets[k])})
	}
	family := FamilyName(d.Env.Name, m.Name)
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(family),
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{d.compatibility()},
		Cpu:                     aws.String(fmt.Sprint(m.CPU)),
		Memory:                  aws.String(fmt.Sprint(m.Memory)),
		ExecutionRoleArn:        aws.String(d.ECS.ExecutionRoleARN),
		ContainerDefinitions:    []ecstypes.ContainerDefinition{c},
		Tags:                    tags.ECS(d.Tags.Map(family, TagService, m.Name)),
	}
}

func (d *Deployment) compatibility() ecstypes.Compatibility {
	if d.ECS.Capacity == environment.CapacityFargate {
		return ecstypes.CompatibilityFargate
	}
	return ecstypes.CompatibilityEc2
}

// serviceSpec is the ECS service a manifest service asks for.
func (d *Deployment) serviceSpec(s *service, servicesSG string) ServiceSpec {
	spec := ServiceSpec{
		Cluster: d.ECS.ClusterName, Name: s.spec.Name, TaskDefinition: s.taskDef,
		DesiredCount: int32(s.spec.Desired()),
		Subnets:      d.ECS.SubnetIDs, SecurityGroups: append([]string(nil), d.ECS.SecurityGroupIDs...),
		Tags: d.Tags.Map(s.spec.Name, TagService, s.spec.Name),
	}
	for _, it := range d.ECS.DefaultStrategy {
		spec.CapacityProviderStrategy = append(spec.CapacityProviderStrategy, ecstypes.CapacityProviderStrategyItem{
			CapacityProvider: aws.String(it.CapacityProvider), Weight: it.Weight, Base: it.Base,
		})
	}
	if len(spec.CapacityProviderStrategy) == 0 && d.ECS.Capacity == environment.CapacityFargate {
		spec.LaunchType = ecstypes.LaunchTypeFargate
	}
	if s.spec.Public {
		spec.SecurityGroups = append(spec.SecurityGroups, servicesSG)
		spec.LoadBalancers = []ecstypes.LoadBalancer{{
			TargetGroupArn: aws.String(s.tg), ContainerName: aws.String(s.spec.Name), ContainerPort: aws.Int32(int32(s.spec.Port)),
		}}
	}
	return spec
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
