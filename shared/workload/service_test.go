package workload

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

func serviceSpec(name string) ServiceSpec {
	return ServiceSpec{
		Cluster: "c", Name: name, TaskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/env-" + name + ":1", DesiredCount: 1,
		Subnets: []string{"subnet-b", "subnet-a"}, SecurityGroups: []string{"sg-1"},
		CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("env-ec2"), Weight: 1}},
		Tags:                     tags.Set{Env: "env", Step: "run-containers", Run: "r1"}.Map(name),
	}
}

func TestEnsureService(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		existing   *ecstypes.Service // created from serviceSpec("api") first when nil and create is false
		change     func(s *ServiceSpec)
		create     bool
		wantAction string
		wantCalls  map[string]int
		wantErr    string
		force      bool
	}{
		{name: "missing: created", create: true, wantAction: step.Created, wantCalls: map[string]int{"CreateService": 1}},
		{name: "same: kept", change: func(*ServiceSpec) {}, wantAction: step.Kept, wantCalls: map[string]int{"UpdateService": 0}},
		{name: "subnets in another order: kept", change: func(s *ServiceSpec) { s.Subnets = []string{"subnet-a", "subnet-b"} }, wantAction: step.Kept},
		{name: "new revision: updated", change: func(s *ServiceSpec) { s.TaskDefinition = strings.Replace(s.TaskDefinition, ":1", ":2", 1) },
			wantAction: step.Updated, wantCalls: map[string]int{"UpdateService": 1}},
		{name: "count: updated", change: func(s *ServiceSpec) { s.DesiredCount = 3 }, wantAction: step.Updated, wantCalls: map[string]int{"UpdateService": 1}},
		{name: "strategy: updated with a new deployment", change: func(s *ServiceSpec) {
			s.CapacityProviderStrategy = []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}}
		}, wantAction: step.Updated, force: true},
		{name: "load balancer attached: updated", change: func(s *ServiceSpec) {
			s.LoadBalancers = []ecstypes.LoadBalancer{{TargetGroupArn: aws.String("tg"), ContainerName: aws.String("api"), ContainerPort: aws.Int32(80)}}
		}, wantAction: step.Updated},
		{name: "not ours: refused", existing: &ecstypes.Service{ServiceName: aws.String("api"), ServiceArn: aws.String("arn:svc/api"), Status: aws.String("ACTIVE"),
			Tags: tags.ECS(map[string]string{tags.Env: "prod"})}, change: func(*ServiceSpec) {}, wantErr: "belongs to environment \"prod\""},
		{name: "untagged: refused", existing: &ecstypes.Service{ServiceName: aws.String("api"), ServiceArn: aws.String("arn:svc/api"), Status: aws.String("ACTIVE")},
			change: func(*ServiceSpec) {}, wantErr: "not tagged"},
		{name: "inactive: created again", existing: &ecstypes.Service{ServiceName: aws.String("api"), ServiceArn: aws.String("arn:svc/api"), Status: aws.String("INACTIVE")},
			create: true, wantAction: step.Created, wantCalls: map[string]int{"CreateService": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeECS()
			b, _ := newBuilder(f, false)
			spec := serviceSpec("api")
			switch {
			case tt.existing != nil:
				f.services["api"] = tt.existing
			case !tt.create:
				if _, err := b.EnsureService(ctx, spec); err != nil {
					t.Fatal(err)
				}
				f.calls = nil
			}
			if tt.change != nil {
				tt.change(&spec)
			}
			r, err := b.EnsureService(ctx, spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || f.count("UpdateService")+f.count("CreateService") != 0 {
					t.Fatalf("got %v, want an error with %q and no change", err, tt.wantErr)
				}
				return
			}
			if err != nil || r.Action != tt.wantAction || r.DeploymentID == "" || r.ARN == "" {
				t.Fatalf("got %+v %v, want action %s", r, err, tt.wantAction)
			}
			for call, n := range tt.wantCalls {
				if f.count(call) != n {
					t.Errorf("%s called %d times, want %d", call, f.count(call), n)
				}
			}
			s := f.services["api"]
			if s.DeploymentConfiguration == nil || !s.DeploymentConfiguration.DeploymentCircuitBreaker.Rollback ||
				s.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp != ecstypes.AssignPublicIpDisabled {
				t.Errorf("service without circuit breaker or with public IPs: %+v", s)
			}
			if aws.ToString(s.TaskDefinition) != spec.TaskDefinition || s.DesiredCount != spec.DesiredCount {
				t.Errorf("service runs %s x%d, want %s x%d", aws.ToString(s.TaskDefinition), s.DesiredCount, spec.TaskDefinition, spec.DesiredCount)
			}
			if tt.force && r.DeploymentID == "" {
				t.Errorf("no new deployment for a new strategy")
			}
		})
	}
}

func TestEnsureServiceDryRun(t *testing.T) {
	f := newFakeECS()
	b, sum := newBuilder(f, true)
	r, err := b.EnsureService(context.Background(), serviceSpec("api"))
	if err != nil || r.Action != step.WouldCreate || r.ARN != Planned || f.count("CreateService") != 0 || sum.Count(step.WouldCreate) != 1 {
		t.Fatalf("dry run: %+v %v, calls %v", r, err, f.calls)
	}
}

// stableAfter makes services reach running == desired (rollout COMPLETED)
// after n describes of each.
func stableAfter(n int) func(s *ecstypes.Service) {
	seen := map[string]int{}
	return func(s *ecstypes.Service) {
		seen[aws.ToString(s.ServiceName)]++
		if seen[aws.ToString(s.ServiceName)] >= n {
			s.RunningCount = s.DesiredCount
			s.Deployments[0].RolloutState = ecstypes.DeploymentRolloutStateCompleted
		}
	}
}

func TestWaitStableBatches(t *testing.T) {
	f := newFakeECS()
	b, _ := newBuilder(f, false)
	var rollouts []Rollout
	for i := 0; i < 23; i++ {
		r, err := b.EnsureService(context.Background(), serviceSpec(fmt.Sprintf("s%02d", i)))
		if err != nil {
			t.Fatal(err)
		}
		rollouts = append(rollouts, r)
	}
	f.describeSizes = nil
	f.onDescribe = stableAfter(3)
	if err := b.WaitStable(context.Background(), "c", rollouts, wait.Options{Interval: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	// Three rounds of ceil(23/10) = 3 calls: batched, never one per service.
	if len(f.describeSizes) != 9 {
		t.Errorf("%d DescribeServices calls (%v), want 9", len(f.describeSizes), f.describeSizes)
	}
	for _, n := range f.describeSizes {
		if n > 10 {
			t.Errorf("a DescribeServices call asked for %d services", n)
		}
	}
}

func TestWaitStableFailures(t *testing.T) {
	events := []ecstypes.ServiceEvent{
		{CreatedAt: aws.Time(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), Message: aws.String("(service api) failed to launch a task: CannotPullContainerError")},
	}
	tests := []struct {
		name    string
		mutate  func(s *ecstypes.Service)
		timeout bool
		want    []string
	}{
		{"circuit breaker", func(s *ecstypes.Service) {
			s.Deployments[0].RolloutState = ecstypes.DeploymentRolloutStateFailed
			s.Deployments[0].RolloutStateReason = aws.String("ECS deployment circuit breaker: tasks failed to start.")
			s.Events = events
		}, false, []string{"service api", "circuit breaker", "CannotPullContainerError", "2026-01-02T03:04:05Z"}},
		{"rolled back", func(s *ecstypes.Service) {
			s.Deployments = []ecstypes.Deployment{{Id: aws.String("ecs-svc/rollback"), Status: aws.String("PRIMARY"), TaskDefinition: aws.String("td:0"),
				RolloutState: ecstypes.DeploymentRolloutStateCompleted, RolloutStateReason: aws.String("rolled back")}}
			s.RunningCount = s.DesiredCount
			s.Events = events
		}, false, []string{"service api", "replaced by ecs-svc/rollback", "CannotPullContainerError"}},
		{"never stable", func(s *ecstypes.Service) { s.Events = events }, true, []string{"timed out", "service api", "0/1 running", "CannotPullContainerError"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeECS()
			b, _ := newBuilder(f, false)
			ok, _ := b.EnsureService(context.Background(), serviceSpec("ok"))
			api, _ := b.EnsureService(context.Background(), serviceSpec("api"))
			stable := stableAfter(1)
			f.onDescribe = func(s *ecstypes.Service) {
				if aws.ToString(s.ServiceName) == "api" {
					tt.mutate(s)
				} else {
					stable(s)
				}
			}
			err := b.WaitStable(context.Background(), "c", []Rollout{ok, api}, wait.Options{Interval: time.Millisecond, Max: 50 * time.Millisecond})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "service ok") {
				t.Errorf("error blames the stable service: %v", err)
			}
			if got := errors.Is(err, context.DeadlineExceeded); got != tt.timeout {
				t.Errorf("deadline error = %v, want %v (exit 4 only for a timeout)", got, tt.timeout)
			}
		})
	}
}

func TestDeploymentPercentages(t *testing.T) {
	def := deploymentConfiguration(ServiceSpec{})
	if *def.MinimumHealthyPercent != 100 || *def.MaximumPercent != 200 {
		t.Fatalf("defaults %d/%d, want 100/200", *def.MinimumHealthyPercent, *def.MaximumPercent)
	}
	one := ServiceSpec{MinimumHealthyPercent: aws.Int32(0), MaximumPercent: aws.Int32(100)}
	svc := &ecstypes.Service{DeploymentConfiguration: def}
	if d := serviceDiff(one, svc); !strings.Contains(strings.Join(d, ","), "deployment percentages") {
		t.Fatalf("a stop-then-start service running 100/200 is not reported: %v", d)
	}
	svc.DeploymentConfiguration = deploymentConfiguration(one)
	for _, d := range serviceDiff(one, svc) {
		if d == "deployment percentages" {
			t.Fatal("matching percentages reported as a difference")
		}
	}
}
