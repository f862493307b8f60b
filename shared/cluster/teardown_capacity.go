package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/resource"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// ---- auto scaling groups

// groups returns the environment's auto scaling groups: those tagged with
// it, and the one of the artifact.
func (s *Scope) groups(ctx context.Context) ([]astypes.AutoScalingGroup, error) {
	fromArtifact := ""
	if s.Artifact != nil {
		fromArtifact = s.Artifact.AutoScalingGroupName
	}
	var out []astypes.AutoScalingGroup
	seen := map[string]bool{}
	add := func(in *autoscaling.DescribeAutoScalingGroupsInput) error {
		p := autoscaling.NewDescribeAutoScalingGroupsPaginator(s.AutoScaling, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("describe auto scaling groups: %w", err)
			}
			for _, g := range page.AutoScalingGroups {
				name := aws.ToString(g.AutoScalingGroupName)
				if seen[name] || !(s.owned(tags.FromAutoScaling(g.Tags)) || name == fromArtifact) {
					continue
				}
				seen[name] = true
				out = append(out, g)
			}
		}
		return nil
	}
	if err := add(&autoscaling.DescribeAutoScalingGroupsInput{Filters: []astypes.Filter{{Name: aws.String("tag:" + tags.Env), Values: []string{s.Env}}}}); err != nil {
		return nil, err
	}
	if fromArtifact != "" {
		if err := add(&autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{fromArtifact}}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func instanceIDs(g astypes.AutoScalingGroup) []string {
	ids := make([]string, 0, len(g.Instances))
	for _, i := range g.Instances {
		ids = append(ids, aws.ToString(i.InstanceId))
	}
	return ids
}

type autoScalingGroups struct{ s *Scope }

func (k *autoScalingGroups) Kind() string { return kindGroup }

func (k *autoScalingGroups) List(ctx context.Context) ([]resource.Resource, error) {
	gs, err := k.s.groups(ctx)
	if err != nil {
		return nil, err
	}
	rs := make([]resource.Resource, 0, len(gs))
	for _, g := range gs {
		rs = append(rs, resource.Resource{Kind: k.Kind(), ID: aws.ToString(g.AutoScalingGroupName), Name: aws.ToString(g.AutoScalingGroupName), State: aws.ToString(g.Status),
			Detail: fmt.Sprintf("%d instances, desired %d", len(g.Instances), aws.ToInt32(g.DesiredCapacity))})
	}
	return rs, nil
}

// Remove deletes the group with ForceDelete, which terminates whatever
// instances it still has, and waits until the group and its instances are
// gone: their network interfaces would keep the VPC from being deleted.
func (k *autoScalingGroups) Remove(ctx context.Context, r resource.Resource) error {
	g, err := describeGroup(ctx, k.s.AutoScaling, r.ID)
	if err != nil {
		return err
	}
	if g == nil {
		return resource.ErrGone
	}
	ids := instanceIDs(*g)
	if g.Status == nil { // not already being deleted
		err := k.s.retryDependency(ctx, wait.Target{Kind: k.Kind(), ID: r.ID}, nil, func(ctx context.Context) error {
			_, err := k.s.AutoScaling.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: &r.ID, ForceDelete: aws.Bool(true)})
			return err
		})
		if err != nil {
			// Auto Scaling answers a missing group with a generic ValidationError.
			if g, derr := describeGroup(ctx, k.s.AutoScaling, r.ID); derr == nil && g == nil {
				return resource.ErrGone
			}
			return err
		}
	}
	return wait.Until(ctx, k.s.Log, wait.Target{Kind: k.Kind(), ID: r.ID}, k.s.waitOptions(15*time.Minute), func(ctx context.Context) (bool, string, error) {
		g, err := describeGroup(ctx, k.s.AutoScaling, r.ID)
		if err != nil {
			return false, "", err
		}
		if g != nil {
			return false, fmt.Sprintf("%s, %d instances", aws.ToString(g.Status), len(g.Instances)), nil
		}
		left, err := liveInstances(ctx, k.s.EC2, ids)
		if err != nil {
			return false, "", err
		}
		if len(left) > 0 {
			return false, "group gone, instances terminating: " + strings.Join(left, ", "), nil
		}
		return true, "gone", nil
	})
}

// liveInstances returns "id (state)" of each of ids not yet terminated.
func liveInstances(ctx context.Context, api EC2API, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var left []string
	p := ec2.NewDescribeInstancesPaginator(api, &ec2.DescribeInstancesInput{InstanceIds: ids})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if awserr.NotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("describe instances: %w", err)
		}
		for _, res := range page.Reservations {
			for _, i := range res.Instances {
				if i.State != nil && i.State.Name != ec2types.InstanceStateNameTerminated {
					left = append(left, fmt.Sprintf("%s (%s)", aws.ToString(i.InstanceId), i.State.Name))
				}
			}
		}
	}
	return left, nil
}

// ---- the auto scaling capacity

// capacityRelease takes the protections off the environment's auto scaling
// groups and sets them to size 0, before their container instances are
// deregistered: ECS's managed termination protection on the capacity
// provider, the group's scale-in protection for new instances, and each
// instance's own. Its "resources" are the groups that still have capacity
// or protection; it is not a resource kind verify-clean lists.
type capacityRelease struct{ s *Scope }

func (k *capacityRelease) Kind() string { return "auto scaling capacity" }

func (k *capacityRelease) List(ctx context.Context) ([]resource.Resource, error) {
	gs, err := k.s.groups(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := k.s.providers(ctx)
	if err != nil {
		return nil, err
	}
	var rs []resource.Resource
	for _, g := range gs {
		if g.Status != nil {
			continue // being deleted
		}
		name := aws.ToString(g.AutoScalingGroupName)
		var protectedProviders []string
		for _, p := range ps {
			if a := p.AutoScalingGroupProvider; a != nil && groupName(aws.ToString(a.AutoScalingGroupArn)) == name &&
				a.ManagedTerminationProtection == ecstypes.ManagedTerminationProtectionEnabled {
				protectedProviders = append(protectedProviders, aws.ToString(p.Name))
			}
		}
		var protectedInstances []string
		for _, i := range g.Instances {
			if aws.ToBool(i.ProtectedFromScaleIn) {
				protectedInstances = append(protectedInstances, aws.ToString(i.InstanceId))
			}
		}
		if aws.ToInt32(g.MinSize) == 0 && aws.ToInt32(g.DesiredCapacity) == 0 && !aws.ToBool(g.NewInstancesProtectedFromScaleIn) &&
			len(protectedInstances) == 0 && len(protectedProviders) == 0 {
			continue
		}
		rs = append(rs, resource.Resource{Kind: k.Kind(), ID: name, Name: "protection off, size 0",
			Detail: fmt.Sprintf("desired %d, %d protected instances, managed termination protection on %q", aws.ToInt32(g.DesiredCapacity), len(protectedInstances), strings.Join(protectedProviders, ",")),
			Ref:    map[string]string{"providers": strings.Join(protectedProviders, ","), "instances": strings.Join(protectedInstances, ",")}})
	}
	return rs, nil
}

// setInstanceProtectionBatch is the most instances one SetInstanceProtection call accepts.
const setInstanceProtectionBatch = 50

func (k *capacityRelease) Remove(ctx context.Context, r resource.Resource) error {
	for _, p := range splitList(r.Ref["providers"]) {
		_, err := k.s.ECS.UpdateCapacityProvider(ctx, &ecs.UpdateCapacityProviderInput{
			Name:                     aws.String(p),
			AutoScalingGroupProvider: &ecstypes.AutoScalingGroupProviderUpdate{ManagedTerminationProtection: ecstypes.ManagedTerminationProtectionDisabled},
		})
		if err != nil && !awserr.NotFound(err) {
			return fmt.Errorf("turn off managed termination protection of capacity provider %s: %w", p, err)
		}
	}
	err := k.s.retryDependency(ctx, wait.Target{Kind: kindGroup, ID: r.ID}, nil, func(ctx context.Context) error {
		_, err := k.s.AutoScaling.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
			AutoScalingGroupName: &r.ID, MinSize: aws.Int32(0), DesiredCapacity: aws.Int32(0),
			NewInstancesProtectedFromScaleIn: aws.Bool(false),
		})
		return err
	})
	if err != nil {
		if g, derr := describeGroup(ctx, k.s.AutoScaling, r.ID); derr == nil && g == nil {
			return resource.ErrGone
		}
		return fmt.Errorf("set auto scaling group %s to size 0: %w", r.ID, err)
	}
	ids := splitList(r.Ref["instances"])
	for start := 0; start < len(ids); start += setInstanceProtectionBatch {
		batch := ids[start:min(start+setInstanceProtectionBatch, len(ids))]
		_, err := k.s.AutoScaling.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{
			AutoScalingGroupName: &r.ID, InstanceIds: batch, ProtectedFromScaleIn: aws.Bool(false),
		})
		if err != nil {
			return fmt.Errorf("turn off scale-in protection of instances %s: %w", strings.Join(batch, ","), err)
		}
	}
	return nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// ---- EC2 instances

// liveStates are the instance states that count as existing.
var liveStates = []string{"pending", "running", "stopping", "stopped", "shutting-down"}

type instances struct{ s *Scope }

func (k *instances) Kind() string { return "ec2 instance" }

// List returns the instances tagged with the environment (the auto scaling
// group propagates its tags to them) that are not terminated.
func (k *instances) List(ctx context.Context) ([]resource.Resource, error) {
	extra := []string{}
	if k.s.Step != "" {
		extra = append(extra, tags.Step, k.s.Step)
	}
	filters := append(tags.EC2Filters(k.s.Env, extra...), ec2types.Filter{Name: aws.String("instance-state-name"), Values: liveStates})
	var rs []resource.Resource
	p := ec2.NewDescribeInstancesPaginator(k.s.EC2, &ec2.DescribeInstancesInput{Filters: filters})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe instances: %w", err)
		}
		for _, res := range page.Reservations {
			for _, i := range res.Instances {
				t := tags.FromEC2(i.Tags)
				if !k.s.owned(t) || i.State == nil || i.State.Name == ec2types.InstanceStateNameTerminated {
					continue
				}
				rs = append(rs, resource.Resource{Kind: k.Kind(), ID: aws.ToString(i.InstanceId), Name: t[tags.Name],
					State: string(i.State.Name), Detail: string(i.InstanceType) + " " + aws.ToString(i.SubnetId)})
			}
		}
	}
	return rs, nil
}

func (k *instances) Remove(ctx context.Context, r resource.Resource) error {
	if r.State != string(ec2types.InstanceStateNameShuttingDown) {
		_, err := k.s.EC2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{r.ID}})
		if awserr.NotFound(err) {
			return resource.ErrGone
		}
		if err != nil {
			return fmt.Errorf("terminate instance: %w", err)
		}
	}
	return wait.Until(ctx, k.s.Log, wait.Target{Kind: k.Kind(), ID: r.ID}, k.s.waitOptions(10*time.Minute), func(ctx context.Context) (bool, string, error) {
		left, err := liveInstances(ctx, k.s.EC2, []string{r.ID})
		if err != nil {
			return false, "", err
		}
		return len(left) == 0, strings.Join(left, ""), nil
	})
}

// ---- launch templates

type launchTemplates struct{ s *Scope }

func (k *launchTemplates) Kind() string { return kindTemplate }

// List returns the launch templates tagged with the environment, and the
// one of the artifact.
func (k *launchTemplates) List(ctx context.Context) ([]resource.Resource, error) {
	fromArtifact := ""
	if k.s.Artifact != nil {
		fromArtifact = k.s.Artifact.LaunchTemplateID
	}
	var rs []resource.Resource
	add := func(in *ec2.DescribeLaunchTemplatesInput) error {
		p := ec2.NewDescribeLaunchTemplatesPaginator(k.s.EC2, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, t := range page.LaunchTemplates {
				id := aws.ToString(t.LaunchTemplateId)
				if !k.s.owned(tags.FromEC2(t.Tags)) && id != fromArtifact {
					continue
				}
				rs = resource.Merge(rs, []resource.Resource{{Kind: k.Kind(), ID: id, Name: aws.ToString(t.LaunchTemplateName),
					Detail: fmt.Sprintf("default version %d", aws.ToInt64(t.DefaultVersionNumber))}})
			}
		}
		return nil
	}
	if err := add(&ec2.DescribeLaunchTemplatesInput{Filters: tags.EC2Filters(k.s.Env)}); err != nil {
		return nil, fmt.Errorf("describe launch templates: %w", err)
	}
	if fromArtifact != "" {
		if err := add(&ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{fromArtifact}}); err != nil && !awserr.NotFound(err) {
			return nil, fmt.Errorf("describe launch template %s: %w", fromArtifact, err)
		}
	}
	return rs, nil
}

func (k *launchTemplates) Remove(ctx context.Context, r resource.Resource) error {
	_, err := k.s.EC2.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: &r.ID})
	if awserr.NotFound(err) {
		return resource.ErrGone
	}
	if err != nil {
		return fmt.Errorf("delete launch template: %w", err)
	}
	return nil
}
