package workload

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/step"
)

func quietLog() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

// fakeECS is one cluster's services and task definitions. Calls it does
// not expect fail. Services move to running == desired after settle
// describes (0: at once).
type fakeECS struct {
	ECSAPI // nil: calls not listed below panic

	mu       sync.Mutex
	services map[string]*ecstypes.Service
	taskDefs map[string]*ecstypes.TaskDefinition // ARN -> definition
	tdTags   map[string][]ecstypes.Tag
	calls    []string
	// describeSizes records the number of services of each DescribeServices.
	describeSizes []int
	// onDescribe, when set, may change a service on each describe.
	onDescribe func(s *ecstypes.Service)
	deployment int
}

func newFakeECS() *fakeECS {
	return &fakeECS{services: map[string]*ecstypes.Service{}, taskDefs: map[string]*ecstypes.TaskDefinition{}, tdTags: map[string][]ecstypes.Tag{}}
}

func (f *fakeECS) call(name string) {
	f.calls = append(f.calls, name)
}

func (f *fakeECS) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == name {
			n++
		}
	}
	return n
}

func (f *fakeECS) newDeployment(td string, desired int32) []ecstypes.Deployment {
	f.deployment++
	return []ecstypes.Deployment{{Id: aws.String(fmt.Sprintf("ecs-svc/%d", f.deployment)), Status: aws.String("PRIMARY"),
		TaskDefinition: aws.String(td), DesiredCount: desired, RolloutState: ecstypes.DeploymentRolloutStateInProgress}}
}

func (f *fakeECS) ListTaskDefinitions(_ context.Context, in *ecs.ListTaskDefinitionsInput, _ ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("ListTaskDefinitions")
	var arns []string
	for arn, td := range f.taskDefs {
		if aws.ToString(td.Family) == aws.ToString(in.FamilyPrefix) && td.Status == ecstypes.TaskDefinitionStatusActive {
			arns = append(arns, arn)
		}
	}
	sort.Strings(arns)
	return &ecs.ListTaskDefinitionsOutput{TaskDefinitionArns: arns}, nil
}

func (f *fakeECS) DescribeTaskDefinition(_ context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("DescribeTaskDefinition")
	td, ok := f.taskDefs[aws.ToString(in.TaskDefinition)]
	if !ok {
		return nil, apiErr("ClientException")
	}
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: td, Tags: f.tdTags[aws.ToString(in.TaskDefinition)]}, nil
}

// register stores a revision the way ECS does: defaults filled in.
func (f *fakeECS) register(in *ecs.RegisterTaskDefinitionInput) *ecstypes.TaskDefinition {
	rev := int32(1)
	for _, td := range f.taskDefs {
		if aws.ToString(td.Family) == aws.ToString(in.Family) && td.Revision >= rev {
			rev = td.Revision + 1
		}
	}
	arn := fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:task-definition/%s:%d", aws.ToString(in.Family), rev)
	cds := make([]ecstypes.ContainerDefinition, len(in.ContainerDefinitions))
	for i, c := range in.ContainerDefinitions {
		if c.Essential == nil {
			c.Essential = aws.Bool(true)
		}
		var pms []ecstypes.PortMapping
		for _, p := range c.PortMappings {
			p.HostPort = p.ContainerPort
			if p.Protocol == "" {
				p.Protocol = ecstypes.TransportProtocolTcp
			}
			pms = append(pms, p)
		}
		c.PortMappings = pms
		if c.Environment == nil {
			c.Environment = []ecstypes.KeyValuePair{}
		}
		c.MountPoints, c.VolumesFrom = []ecstypes.MountPoint{}, []ecstypes.VolumeFrom{}
		cds[i] = c
	}
	td := &ecstypes.TaskDefinition{
		TaskDefinitionArn: &arn, Family: in.Family, Revision: rev, Status: ecstypes.TaskDefinitionStatusActive,
		ContainerDefinitions: cds, Cpu: in.Cpu, Memory: in.Memory, NetworkMode: in.NetworkMode,
		ExecutionRoleArn: in.ExecutionRoleArn, RequiresCompatibilities: in.RequiresCompatibilities,
		Compatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityEc2, ecstypes.CompatibilityFargate},
		Volumes:         []ecstypes.Volume{}, PlacementConstraints: []ecstypes.TaskDefinitionPlacementConstraint{},
	}
	f.taskDefs[arn], f.tdTags[arn] = td, in.Tags
	return td
}

func (f *fakeECS) RegisterTaskDefinition(_ context.Context, in *ecs.RegisterTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("RegisterTaskDefinition")
	return &ecs.RegisterTaskDefinitionOutput{TaskDefinition: f.register(in)}, nil
}

func (f *fakeECS) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("DescribeServices")
	if len(in.Services) > 10 {
		return nil, apiErr("InvalidParameterException")
	}
	f.describeSizes = append(f.describeSizes, len(in.Services))
	out := &ecs.DescribeServicesOutput{}
	for _, n := range in.Services {
		s, ok := f.services[n[strings.LastIndex(n, "/")+1:]]
		if !ok {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(n), Reason: aws.String("MISSING")})
			continue
		}
		if f.onDescribe != nil {
			f.onDescribe(s)
		}
		out.Services = append(out.Services, *s)
	}
	return out, nil
}

func (f *fakeECS) CreateService(_ context.Context, in *ecs.CreateServiceInput, _ ...func(*ecs.Options)) (*ecs.CreateServiceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("CreateService")
	name := aws.ToString(in.ServiceName)
	s := &ecstypes.Service{
		ServiceName: in.ServiceName, ServiceArn: aws.String("arn:aws:ecs:us-east-1:123456789012:service/c/" + name), Status: aws.String("ACTIVE"),
		TaskDefinition: in.TaskDefinition, DesiredCount: aws.ToInt32(in.DesiredCount), NetworkConfiguration: in.NetworkConfiguration,
		LoadBalancers: in.LoadBalancers, CapacityProviderStrategy: in.CapacityProviderStrategy, DeploymentConfiguration: in.DeploymentConfiguration,
		Tags: in.Tags, Deployments: f.newDeployment(aws.ToString(in.TaskDefinition), aws.ToInt32(in.DesiredCount)),
	}
	f.services[name] = s
	return &ecs.CreateServiceOutput{Service: s}, nil
}

func (f *fakeECS) UpdateService(_ context.Context, in *ecs.UpdateServiceInput, _ ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("UpdateService")
	s, ok := f.services[aws.ToString(in.Service)]
	if !ok {
		return nil, apiErr("ServiceNotFoundException")
	}
	if in.TaskDefinition != nil {
		s.TaskDefinition = in.TaskDefinition
	}
	if in.DesiredCount != nil {
		s.DesiredCount = *in.DesiredCount
	}
	if in.NetworkConfiguration != nil {
		s.NetworkConfiguration = in.NetworkConfiguration
	}
	if in.LoadBalancers != nil {
		s.LoadBalancers = in.LoadBalancers
	}
	if in.CapacityProviderStrategy != nil {
		s.CapacityProviderStrategy = in.CapacityProviderStrategy
	}
	if in.DeploymentConfiguration != nil {
		s.DeploymentConfiguration = in.DeploymentConfiguration
	}
	s.Deployments = f.newDeployment(aws.ToString(s.TaskDefinition), s.DesiredCount)
	return &ecs.UpdateServiceOutput{Service: s}, nil
}

// newBuilder is a Builder over fake ECS for environment "env".
func newBuilder(e *fakeECS, dryRun bool) (*Builder, *step.Summary) {
	sum := &step.Summary{}
	return &Builder{ECS: e, Env: "env", Log: quietLog(), Summary: sum, DryRun: dryRun}, sum
}
