package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/stagehand/stagehand/shared/resource"
	"github.com/stagehand/stagehand/shared/wait"
)

// fakeIAM holds roles and profiles; DeleteRole and DeleteInstanceProfile
// answer DeleteConflict conflicts times before they succeed.
type fakeIAM struct {
	IAMAPI
	roles     map[string]*fakeRole
	profiles  map[string][]string // profile -> roles
	conflicts int
	calls     []string
}

type fakeRole struct {
	managed []string
	inline  []string
}

func (f *fakeIAM) ListAttachedRolePolicies(_ context.Context, in *iam.ListAttachedRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error) {
	r, ok := f.roles[aws.ToString(in.RoleName)]
	if !ok {
		return nil, apiErr("NoSuchEntity")
	}
	out := &iam.ListAttachedRolePoliciesOutput{}
	for _, p := range r.managed {
		out.AttachedPolicies = append(out.AttachedPolicies, iamtypes.AttachedPolicy{PolicyArn: aws.String(p)})
	}
	return out, nil
}

func (f *fakeIAM) ListRolePolicies(_ context.Context, in *iam.ListRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error) {
	r, ok := f.roles[aws.ToString(in.RoleName)]
	if !ok {
		return nil, apiErr("NoSuchEntity")
	}
	return &iam.ListRolePoliciesOutput{PolicyNames: r.inline}, nil
}

func (f *fakeIAM) ListInstanceProfilesForRole(_ context.Context, in *iam.ListInstanceProfilesForRoleInput, _ ...func(*iam.Options)) (*iam.ListInstanceProfilesForRoleOutput, error) {
	out := &iam.ListInstanceProfilesForRoleOutput{}
	for p, roles := range f.profiles {
		if contains(roles, aws.ToString(in.RoleName)) {
			out.InstanceProfiles = append(out.InstanceProfiles, iamtypes.InstanceProfile{InstanceProfileName: aws.String(p)})
		}
	}
	return out, nil
}

func (f *fakeIAM) DetachRolePolicy(_ context.Context, in *iam.DetachRolePolicyInput, _ ...func(*iam.Options)) (*iam.DetachRolePolicyOutput, error) {
	f.calls = append(f.calls, "detach "+aws.ToString(in.PolicyArn))
	r := f.roles[aws.ToString(in.RoleName)]
	var keep []string
	for _, p := range r.managed {
		if p != aws.ToString(in.PolicyArn) {
			keep = append(keep, p)
		}
	}
	r.managed = keep
	return &iam.DetachRolePolicyOutput{}, nil
}

func (f *fakeIAM) DeleteRolePolicy(_ context.Context, in *iam.DeleteRolePolicyInput, _ ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error) {
	f.calls = append(f.calls, "delete inline "+aws.ToString(in.PolicyName))
	r := f.roles[aws.ToString(in.RoleName)]
	r.inline = nil
	return &iam.DeleteRolePolicyOutput{}, nil
}

func (f *fakeIAM) DeleteRole(_ context.Context, in *iam.DeleteRoleInput, _ ...func(*iam.Options)) (*iam.DeleteRoleOutput, error) {
	name := aws.ToString(in.RoleName)
	f.calls = append(f.calls, "delete role "+name)
	if _, ok := f.roles[name]; !ok {
		return nil, apiErr("NoSuchEntity")
	}
	if f.conflicts > 0 {
		f.conflicts--
		return nil, apiErr("DeleteConflict")
	}
	delete(f.roles, name)
	return &iam.DeleteRoleOutput{}, nil
}

func (f *fakeIAM) GetInstanceProfile(_ context.Context, in *iam.GetInstanceProfileInput, _ ...func(*iam.Options)) (*iam.GetInstanceProfileOutput, error) {
	roles, ok := f.profiles[aws.ToString(in.InstanceProfileName)]
	if !ok {
		return nil, apiErr("NoSuchEntity")
	}
	ip := &iamtypes.InstanceProfile{InstanceProfileName: in.InstanceProfileName}
	for _, r := range roles {
		ip.Roles = append(ip.Roles, iamtypes.Role{RoleName: aws.String(r)})
	}
	return &iam.GetInstanceProfileOutput{InstanceProfile: ip}, nil
}

func (f *fakeIAM) RemoveRoleFromInstanceProfile(_ context.Context, in *iam.RemoveRoleFromInstanceProfileInput, _ ...func(*iam.Options)) (*iam.RemoveRoleFromInstanceProfileOutput, error) {
	f.calls = append(f.calls, "remove "+aws.ToString(in.RoleName)+" from "+aws.ToString(in.InstanceProfileName))
	if _, ok := f.profiles[aws.ToString(in.InstanceProfileName)]; !ok {
		return nil, apiErr("NoSuchEntity")
	}
	f.profiles[aws.ToString(in.InstanceProfileName)] = nil
	return &iam.RemoveRoleFromInstanceProfileOutput{}, nil
}

func (f *fakeIAM) DeleteInstanceProfile(_ context.Context, in *iam.DeleteInstanceProfileInput, _ ...func(*iam.Options)) (*iam.DeleteInstanceProfileOutput, error) {
	name := aws.ToString(in.InstanceProfileName)
	f.calls = append(f.calls, "delete profile "+name)
	if _, ok := f.profiles[name]; !ok {
		return nil, apiErr("NoSuchEntity")
	}
	if f.conflicts > 0 {
		f.conflicts--
		return nil, apiErr("DeleteConflict")
	}
	delete(f.profiles, name)
	return &iam.DeleteInstanceProfileOutput{}, nil
}

func testScope(c Clients, budget time.Duration) *Scope {
	return &Scope{Clients: c, Env: "st", Step: "bootstrap-ecs", Log: quietLog(), DependencyBudget: budget, RetryInterval: time.Millisecond,
		Wait: wait.Options{Interval: time.Millisecond, Beat: time.Hour, Max: 5 * time.Second}}
}

// IAM answers DeleteConflict for a while after the policies were detached
// or the role removed from its profile: retried within the budget. When it
// does not clear, the error says what still hangs on the role.
func TestRoleDeleteConflict(t *testing.T) {
	const execPolicy = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
	tests := []struct {
		name      string
		conflicts int
		profiles  map[string][]string
		budget    time.Duration
		wantErr   []string
	}{
		{name: "clears within the budget", conflicts: 3, budget: time.Second},
		{name: "already gone", conflicts: 0, budget: time.Second},
		{name: "held by a profile that is not the environment's", conflicts: 1 << 30, budget: 20 * time.Millisecond,
			profiles: map[string][]string{"someone-elses-profile": {"st-ecs-task-execution"}},
			wantErr:  []string{"DeleteConflict", "in instance profile someone-elses-profile"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeIAM{conflicts: tt.conflicts, profiles: tt.profiles,
				roles: map[string]*fakeRole{"st-ecs-task-execution": {managed: []string{execPolicy}, inline: []string{SecretsPolicyName}}}}
			if tt.name == "already gone" {
				f.roles = map[string]*fakeRole{}
			}
			err := (&roles{testScope(Clients{IAM: f}, tt.budget)}).Remove(context.Background(), resource.Resource{Kind: kindRole, ID: "st-ecs-task-execution"})
			switch {
			case tt.name == "already gone":
				if !errors.Is(err, resource.ErrGone) {
					t.Fatalf("err %v, want ErrGone", err)
				}
				return
			case len(tt.wantErr) == 0 && err != nil:
				t.Fatalf("unexpected error: %v", err)
			}
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v does not say %q", err, w)
				}
			}
			if len(tt.wantErr) == 0 {
				if _, ok := f.roles["st-ecs-task-execution"]; ok {
					t.Error("role not deleted")
				}
				want := "detach " + execPolicy + ";delete inline " + SecretsPolicyName + ";delete role st-ecs-task-execution"
				if got := strings.Join(f.calls, ";"); !strings.HasPrefix(got, want) {
					t.Errorf("calls %s, want policies first: %s", got, want)
				}
			}
		})
	}
}

func TestInstanceProfileRolesRemovedThenDeleted(t *testing.T) {
	f := &fakeIAM{conflicts: 2, profiles: map[string][]string{"st-ecs-instance": {"st-ecs-instance"}}}
	r := resource.Resource{Kind: kindProfile, ID: "st-ecs-instance", Ref: map[string]string{"roles": "st-ecs-instance"}}
	if err := (&instanceProfiles{testScope(Clients{IAM: f}, time.Second)}).Remove(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.profiles["st-ecs-instance"]; ok || f.calls[0] != "remove st-ecs-instance from st-ecs-instance" {
		t.Fatalf("calls %v", f.calls)
	}
	err := (&instanceProfiles{testScope(Clients{IAM: f}, time.Second)}).Remove(context.Background(), r)
	if !errors.Is(err, resource.ErrGone) {
		t.Fatalf("second removal: %v, want ErrGone", err)
	}
}

// fakeTasksECS has one cluster with tasks; a stopped task reaches STOPPED
// after stopPolls describes.
type fakeTasksECS struct {
	ECSAPI
	tasks     map[string]string // arn -> last status
	stopPolls int
	polls     int
	reasons   []string
}

func (f *fakeTasksECS) ListTasks(_ context.Context, in *ecs.ListTasksInput, _ ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	out := &ecs.ListTasksOutput{}
	for arn, st := range f.tasks {
		if in.DesiredStatus == ecstypes.DesiredStatusRunning && st == "RUNNING" {
			out.TaskArns = append(out.TaskArns, arn)
		}
	}
	return out, nil
}

func (f *fakeTasksECS) StopTask(_ context.Context, in *ecs.StopTaskInput, _ ...func(*ecs.Options)) (*ecs.StopTaskOutput, error) {
	arn := aws.ToString(in.Task)
	if _, ok := f.tasks[arn]; !ok {
		return nil, apiErr("ClusterNotFoundException")
	}
	f.reasons = append(f.reasons, aws.ToString(in.Reason))
	f.tasks[arn] = "DEACTIVATING"
	return &ecs.StopTaskOutput{}, nil
}

func (f *fakeTasksECS) DescribeTasks(_ context.Context, in *ecs.DescribeTasksInput, _ ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	out := &ecs.DescribeTasksOutput{}
	for _, arn := range in.Tasks {
		f.polls++
		if f.polls > f.stopPolls {
			f.tasks[arn] = "STOPPED"
		}
		out.Tasks = append(out.Tasks, ecstypes.Task{TaskArn: aws.String(arn), LastStatus: aws.String(f.tasks[arn])})
	}
	return out, nil
}

func TestTasksAreStoppedAndWaitedFor(t *testing.T) {
	const arn = "arn:aws:ecs:us-east-1:123456789012:task/st/abc"
	f := &fakeTasksECS{tasks: map[string]string{arn: "RUNNING"}, stopPolls: 3}
	k := &tasks{testScope(Clients{ECS: f}, time.Second)}
	r := resource.Resource{Kind: k.Kind(), ID: arn, Name: "abc", Ref: map[string]string{"cluster": "st"}}
	if err := k.Remove(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if f.tasks[arn] != "STOPPED" || f.polls < 4 || len(f.reasons) != 1 || f.reasons[0] != stopReason {
		t.Fatalf("task %s after %d polls, reasons %v", f.tasks[arn], f.polls, f.reasons)
	}
}

// fakeCapacity records the calls that release an auto scaling group.
type fakeCapacity struct {
	ECSAPI
	AutoScalingAPI
	calls []string
}

func (f *fakeCapacity) UpdateCapacityProvider(_ context.Context, in *ecs.UpdateCapacityProviderInput, _ ...func(*ecs.Options)) (*ecs.UpdateCapacityProviderOutput, error) {
	f.calls = append(f.calls, "provider "+aws.ToString(in.Name)+" termination protection "+string(in.AutoScalingGroupProvider.ManagedTerminationProtection))
	return &ecs.UpdateCapacityProviderOutput{}, nil
}

func (f *fakeCapacity) UpdateAutoScalingGroup(_ context.Context, in *autoscaling.UpdateAutoScalingGroupInput, _ ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
	f.calls = append(f.calls, fmt.Sprintf("group min %d desired %d protect new %v", aws.ToInt32(in.MinSize), aws.ToInt32(in.DesiredCapacity), aws.ToBool(in.NewInstancesProtectedFromScaleIn)))
	return &autoscaling.UpdateAutoScalingGroupOutput{}, nil
}

func (f *fakeCapacity) SetInstanceProtection(_ context.Context, in *autoscaling.SetInstanceProtectionInput, _ ...func(*autoscaling.Options)) (*autoscaling.SetInstanceProtectionOutput, error) {
	f.calls = append(f.calls, fmt.Sprintf("unprotect %s %v", strings.Join(in.InstanceIds, ","), aws.ToBool(in.ProtectedFromScaleIn)))
	return &autoscaling.SetInstanceProtectionOutput{}, nil
}

func (f *fakeCapacity) DescribeAutoScalingGroups(context.Context, *autoscaling.DescribeAutoScalingGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	return &autoscaling.DescribeAutoScalingGroupsOutput{AutoScalingGroups: []astypes.AutoScalingGroup{{AutoScalingGroupName: aws.String("st-ecs")}}}, nil
}

func TestCapacityReleaseTurnsProtectionOffBeforeScalingIn(t *testing.T) {
	f := &fakeCapacity{}
	k := &capacityRelease{testScope(Clients{ECS: f, AutoScaling: f}, time.Second)}
	r := resource.Resource{Kind: k.Kind(), ID: "st-ecs", Ref: map[string]string{"providers": "st-ec2", "instances": "i-1,i-2"}}
	if err := k.Remove(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"provider st-ec2 termination protection DISABLED",
		"group min 0 desired 0 protect new false",
		"unprotect i-1,i-2 false",
	}
	if strings.Join(f.calls, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(f.calls, "\n"), strings.Join(want, "\n"))
	}
}

// fakeBusyCluster refuses deletion while it holds tasks.
type fakeBusyCluster struct {
	ECSAPI
	deletes int
}

func (f *fakeBusyCluster) DeleteCluster(context.Context, *ecs.DeleteClusterInput, ...func(*ecs.Options)) (*ecs.DeleteClusterOutput, error) {
	f.deletes++
	return nil, apiErr("ClusterContainsTasksException")
}

func (f *fakeBusyCluster) DescribeClusters(_ context.Context, in *ecs.DescribeClustersInput, _ ...func(*ecs.Options)) (*ecs.DescribeClustersOutput, error) {
	return &ecs.DescribeClustersOutput{Clusters: []ecstypes.Cluster{{ClusterName: aws.String("st"), ClusterArn: aws.String(in.Clusters[0]), Status: aws.String("ACTIVE"), RunningTasksCount: 2, RegisteredContainerInstancesCount: 1}}}, nil
}

func TestClusterThatRefusesSaysWhy(t *testing.T) {
	f := &fakeBusyCluster{}
	k := &clusters{testScope(Clients{ECS: f}, 20*time.Millisecond)}
	err := k.Remove(context.Background(), resource.Resource{Kind: k.Kind(), ID: "arn:aws:ecs:us-east-1:123456789012:cluster/st", Name: "st"})
	if err == nil || !strings.Contains(err.Error(), "ClusterContainsTasksException") || !strings.Contains(err.Error(), "2 running and 0 pending tasks, 1 container instances") {
		t.Fatalf("error %v does not say what the cluster still holds", err)
	}
	if f.deletes < 2 {
		t.Fatalf("DeleteCluster tried %d times, want retries within the budget", f.deletes)
	}
}
