package cluster

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/environment"
	"github.com/stagehand/stagehand/shared/exitcode"
	"github.com/stagehand/stagehand/shared/parallel"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// Summary kinds of the cluster resources, the same as the teardown kinds.
const (
	kindCluster  = "ecs cluster"
	kindTemplate = "launch template"
	kindGroup    = "auto scaling group"
	kindProvider = "capacity provider"
)

// planned is the placeholder id of a resource a dry run would create.
const planned = "(new)"

// Defaults of the Builder's bounds.
const (
	DefaultIAMBudget     = 3 * time.Minute
	DefaultInstancesWait = 15 * time.Minute
)

// Builder creates (or finds) the environment's cluster and its capacity.
type Builder struct {
	Clients
	Env *environment.Environment
	// VPC is the network the capacity and the tasks are placed in.
	VPC *artifact.VPC
	// Account and Partition of the environment, for the ARNs in policies.
	Account   string
	Partition string
	Tags      tags.Set
	Log       logrus.FieldLogger
	Summary   *step.Summary
	DryRun    bool
	// IAMBudget bounds the retries while IAM propagates a new instance
	// profile to EC2 and Auto Scaling (default DefaultIAMBudget).
	IAMBudget time.Duration
	// RetryInterval is the pause between those retries (default 5s).
	RetryInterval time.Duration
	// InstancesWait tunes the wait for container instances (Max default
	// DefaultInstancesWait).
	InstancesWait wait.Options
}

func (b *Builder) iamBudget() time.Duration {
	if b.IAMBudget > 0 {
		return b.IAMBudget
	}
	return DefaultIAMBudget
}

func (b *Builder) retryInterval() time.Duration {
	if b.RetryInterval > 0 {
		return b.RetryInterval
	}
	return 5 * time.Second
}

func (b *Builder) record(action, kind, id, name string) {
	b.Summary.Add(action, kind, id, name)
	if action == step.Created || action == step.Updated {
		b.Log.WithFields(logrus.Fields{"resource": kind, "id": id, "name": name}).Info(action)
	}
}

// existing is what of the environment's cluster resources exists already.
type existing struct {
	executionRole, instanceRole *iamtypes.Role
	profile                     *iamtypes.InstanceProfile
	cluster                     *ecstypes.Cluster
	template                    *ec2types.LaunchTemplate
	group                       *astypes.AutoScalingGroup
	provider                    *ecstypes.CapacityProvider
}

// Ensure makes the cluster and its capacity exist as the environment
// describes them, waits until the capacity is usable, and returns what the
// artifact records. Everything is looked up by name first and must carry
// the environment's tag: a same-named resource without it is a refusal
// (exit 3) before anything changes.
func (b *Builder) Ensure(ctx context.Context) (*artifact.ECS, error) {
	n := NamesFor(b.Env.Name)
	onEC2 := b.Env.ECS.Capacity == environment.CapacityEC2
	if onEC2 {
		if err := CheckProviderName(n.CapacityProvider); err != nil {
			return nil, exitcode.Usagef("environment %q: %v", b.Env.Name, err)
		}
	}
	if len(b.VPC.PrivateSubnetIDs) == 0 || b.VPC.BaseSecurityGroupID == "" {
		return nil, exitcode.Usagef("vpc.json of environment %q has no private subnets or base security group: run create-vpc again", b.Env.Name)
	}
	have, err := b.observe(ctx, n, onEC2)
	if err != nil {
		return nil, err
	}
	var amiID string
	if onEC2 { // before any change: a wrong parameter is bad input
		if amiID, err = b.ami(ctx); err != nil {
			return nil, err
		}
	}
	out := &artifact.ECS{
		ClusterName: n.Cluster, Capacity: b.Env.ECS.Capacity,
		ExecutionRoleName: n.ExecutionRole,
		VPCID:             b.VPC.VPCID,
		SubnetIDs:         append([]string(nil), b.VPC.PrivateSubnetIDs...),
		SecurityGroupIDs:  []string{b.VPC.BaseSecurityGroupID},
	}

	var profileARN string
	calls := []func(ctx context.Context) error{
		func(ctx context.Context) (err error) {
			out.ExecutionRoleARN, err = b.role(ctx, have.executionRole, roleSpec{
				name: n.ExecutionRole, principal: ecsTasksPrincipal,
				description: "stagehand " + b.Env.Name + ": ECS task execution (pull images, write logs, read the environment's secrets)",
				managed:     []string{managedPolicyARN(b.Partition, executionPolicy)},
				inline:      map[string]string{SecretsPolicyName: secretsPolicy(b.Partition, b.Env.Region, b.Account)},
			})
			return err
		},
		func(ctx context.Context) (err error) {
			out.ClusterARN, err = b.cluster(ctx, have.cluster, n.Cluster)
			return err
		},
	}
	if onEC2 {
		calls = append(calls,
			func(ctx context.Context) error {
				if _, err := b.role(ctx, have.instanceRole, roleSpec{
					name: n.InstanceRole, principal: ec2Principal,
					description: "stagehand " + b.Env.Name + ": ECS container instances",
					managed:     []string{managedPolicyARN(b.Partition, instancePolicy)},
				}); err != nil {
					return err
				}
				var err error
				profileARN, err = b.instanceProfile(ctx, have.profile, n.InstanceProfile, n.InstanceRole)
				return err
			})
	}
	if err := parallel.Do(ctx, len(calls), len(calls), func(ctx context.Context, i int) error { return calls[i](ctx) }); err != nil {
		return nil, err
	}

	var providers []string
	var strategy []ecstypes.CapacityProviderStrategyItem
	if onEC2 {
		out.InstanceRoleName, out.InstanceProfileName, out.InstanceProfileARN, out.AMIID = n.InstanceRole, n.InstanceProfile, profileARN, amiID
		templateID, err := b.launchTemplate(ctx, have.template, n.LaunchTemplate, b.templateData(n.Cluster, profileARN, amiID))
		if err != nil {
			return nil, err
		}
		out.LaunchTemplateID = templateID
		groupARN, err := b.group(ctx, have.group, n.AutoScalingGroup, templateID)
		if err != nil {
			return nil, err
		}
		out.AutoScalingGroupName = n.AutoScalingGroup
		if err := b.provider(ctx, have.provider, n.CapacityProvider, groupARN); err != nil {
			return nil, err
		}
		providers = []string{n.CapacityProvider}
		strategy = []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String(n.CapacityProvider), Weight: 1, Base: 0}}
	} else {
		providers = []string{ProviderFargate, ProviderFargateSpot}
		strategy = []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String(ProviderFargate), Weight: 1, Base: 0}}
	}
	if err := b.attach(ctx, have.cluster, n.Cluster, providers, strategy); err != nil {
		return nil, err
	}
	out.CapacityProviders = providers
	for _, s := range strategy {
		out.DefaultStrategy = append(out.DefaultStrategy, artifact.StrategyItem{CapacityProvider: aws.ToString(s.CapacityProvider), Weight: s.Weight, Base: s.Base})
	}

	if onEC2 && !b.DryRun {
		if err := b.waitInstances(ctx, n.Cluster, int(*b.Env.ECS.DesiredCapacity)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// observe looks up every resource by name, side by side, and refuses when
// one exists without the environment's tag.
func (b *Builder) observe(ctx context.Context, n Names, onEC2 bool) (*existing, error) {
	have := &existing{}
	lookups := []func(ctx context.Context) error{
		func(ctx context.Context) (err error) {
			have.executionRole, err = getRole(ctx, b.IAM, n.ExecutionRole)
			return err
		},
		func(ctx context.Context) (err error) {
			have.cluster, err = describeCluster(ctx, b.ECS, n.Cluster)
			return err
		},
	}
	if onEC2 {
		lookups = append(lookups,
			func(ctx context.Context) (err error) {
				have.instanceRole, err = getRole(ctx, b.IAM, n.InstanceRole)
				return err
			},
			func(ctx context.Context) (err error) {
				have.profile, err = getInstanceProfile(ctx, b.IAM, n.InstanceProfile)
				return err
			},
			func(ctx context.Context) (err error) {
				have.template, err = describeTemplate(ctx, b.EC2, n.LaunchTemplate)
				return err
			},
			func(ctx context.Context) (err error) {
				have.group, err = describeGroup(ctx, b.AutoScaling, n.AutoScalingGroup)
				return err
			},
			func(ctx context.Context) (err error) {
				have.provider, err = describeProvider(ctx, b.ECS, n.CapacityProvider)
				return err
			})
	}
	if err := parallel.Do(ctx, 4, len(lookups), func(ctx context.Context, i int) error { return lookups[i](ctx) }); err != nil {
		return nil, err
	}
	var foreign []string
	check := func(kind, name string, exists bool, t map[string]string) {
		if exists && !tags.Is(t, b.Env.Name) {
			foreign = append(foreign, fmt.Sprintf("%s %q", kind, name))
		}
	}
	if r := have.executionRole; r != nil {
		check(kindRole, n.ExecutionRole, true, tags.FromIAM(r.Tags))
	}
	if r := have.instanceRole; r != nil {
		check(kindRole, n.InstanceRole, true, tags.FromIAM(r.Tags))
	}
	if p := have.profile; p != nil {
		check(kindProfile, n.InstanceProfile, true, tags.FromIAM(p.Tags))
	}
	if c := have.cluster; c != nil {
		check(kindCluster, n.Cluster, true, tags.FromECS(c.Tags))
	}
	if t := have.template; t != nil {
		check(kindTemplate, n.LaunchTemplate, true, tags.FromEC2(t.Tags))
	}
	if g := have.group; g != nil {
		check(kindGroup, n.AutoScalingGroup, true, tags.FromAutoScaling(g.Tags))
	}
	if p := have.provider; p != nil {
		check(kindProvider, n.CapacityProvider, true, tags.FromECS(p.Tags))
	}
	if len(foreign) > 0 {
		return nil, exitcode.Refusedf("%s already exist(s) without the tag %s=%s: stagehand does not take over what it did not create; delete or rename it, or pick another environment name (nothing was changed)",
			strings.Join(foreign, ", "), tags.Env, b.Env.Name)
	}
	return have, nil
}

// ---- cluster

// describeCluster returns the cluster called name (or of ARN name) unless it is missing or
// INACTIVE (a deleted cluster stays visible as INACTIVE for a while; creating
// one with its name makes a new cluster).
func describeCluster(ctx context.Context, api ECSAPI, name string) (*ecstypes.Cluster, error) {
	out, err := api.DescribeClusters(ctx, &ecs.DescribeClustersInput{
		Clusters: []string{name}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags, ecstypes.ClusterFieldSettings},
	})
	if err != nil {
		return nil, fmt.Errorf("describe ecs cluster %s: %w", name, err)
	}
	for i, c := range out.Clusters {
		if (aws.ToString(c.ClusterName) == name || aws.ToString(c.ClusterArn) == name) && aws.ToString(c.Status) != clusterInactive {
			return &out.Clusters[i], nil
		}
	}
	return nil, nil
}

// Cluster states.
const clusterInactive = "INACTIVE"

func (b *Builder) insights() string {
	if b.Env.ECS.ContainerInsights {
		return "enabled"
	}
	return "disabled"
}

// cluster creates the cluster when it is missing and returns its ARN. An
// existing one is recorded by attach, which brings its settings and
// capacity providers in line.
func (b *Builder) cluster(ctx context.Context, have *ecstypes.Cluster, name string) (string, error) {
	if have != nil {
		return aws.ToString(have.ClusterArn), nil
	}
	if b.DryRun {
		b.record(step.WouldCreate, kindCluster, planned, name+" (container insights "+b.insights()+")")
		return planned, nil
	}
	out, err := b.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{
		ClusterName: &name,
		Tags:        tags.ECS(b.Tags.Map(name)),
		Settings:    []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String(b.insights())}},
	})
	if err != nil {
		return "", fmt.Errorf("create ecs cluster %s: %w", name, err)
	}
	arn := aws.ToString(out.Cluster.ClusterArn)
	b.record(step.Created, kindCluster, arn, name)
	return arn, nil
}

// attach sets the cluster's capacity providers and default strategy, and
// (for a cluster that existed) its container insights setting, where they
// differ from the wanted ones.
func (b *Builder) attach(ctx context.Context, have *ecstypes.Cluster, name string, providers []string, strategy []ecstypes.CapacityProviderStrategyItem) error {
	var changed []string
	insights := true
	providersOK := false
	if have != nil {
		cur := ""
		for _, s := range have.Settings {
			if s.Name == ecstypes.ClusterSettingNameContainerInsights {
				cur = aws.ToString(s.Value)
			}
		}
		// "enhanced" is container insights with more detail: it counts as on.
		insights = (cur == "enabled" || cur == "enhanced") == b.Env.ECS.ContainerInsights
		if !insights {
			changed = append(changed, "container insights "+b.insights())
		}
		providersOK = sameStrings(have.CapacityProviders, providers) && sameStrategy(have.DefaultCapacityProviderStrategy, strategy)
		if !providersOK {
			changed = append(changed, "capacity providers "+strings.Join(providers, ","))
		}
	}
	arn := planned
	if have != nil {
		arn = aws.ToString(have.ClusterArn)
	}
	switch {
	case have != nil && len(changed) == 0:
		b.record(step.Kept, kindCluster, arn, name)
		return nil
	case b.DryRun:
		if have != nil {
			b.record(step.WouldUpdate, kindCluster, arn, name+": "+strings.Join(changed, ", "))
		}
		return nil
	}
	if !insights {
		_, err := b.ECS.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{
			Cluster:  &name,
			Settings: []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String(b.insights())}},
		})
		if err != nil {
			return fmt.Errorf("set container insights of ecs cluster %s: %w", name, err)
		}
	}
	if !providersOK {
		_, err := b.ECS.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{
			Cluster: &name, CapacityProviders: providers, DefaultCapacityProviderStrategy: strategy,
		})
		if err != nil {
			return fmt.Errorf("set capacity providers of ecs cluster %s: %w", name, err)
		}
	}
	if have != nil {
		b.record(step.Updated, kindCluster, arn, name+": "+strings.Join(changed, ", "))
	}
	return nil
}

func sameStrings(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	return slices.Equal(x, y)
}

func sameStrategy(a, b []ecstypes.CapacityProviderStrategyItem) bool {
	key := func(items []ecstypes.CapacityProviderStrategyItem) []string {
		out := make([]string, len(items))
		for i, s := range items {
			out[i] = fmt.Sprintf("%s/%d/%d", aws.ToString(s.CapacityProvider), s.Weight, s.Base)
		}
		sort.Strings(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

// ---- AMI

func (b *Builder) ami(ctx context.Context) (string, error) {
	if b.Env.ECS.AMIID != "" {
		return b.Env.ECS.AMIID, nil
	}
	name := b.Env.ECS.AMIParameter
	out, err := b.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: &name})
	if awserr.NotFound(err) {
		return "", exitcode.Usagef("field \"ecs.ami_ssm_parameter\": SSM parameter %s does not exist in %s", name, b.Env.Region)
	}
	if err != nil {
		return "", fmt.Errorf("read the AMI id from SSM parameter %s: %w", name, err)
	}
	id := aws.ToString(out.Parameter.Value)
	if !strings.HasPrefix(id, "ami-") {
		return "", fmt.Errorf("SSM parameter %s holds %q, not an AMI id", name, id)
	}
	b.Log.WithFields(logrus.Fields{"parameter": name, "ami": id}).Info("found the ECS-optimized AMI")
	return id, nil
}

// ---- launch template

func describeTemplate(ctx context.Context, api EC2API, name string) (*ec2types.LaunchTemplate, error) {
	out, err := api.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{name}})
	if awserr.NotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe launch template %s: %w", name, err)
	}
	for i, t := range out.LaunchTemplates {
		if aws.ToString(t.LaunchTemplateName) == name {
			return &out.LaunchTemplates[i], nil
		}
	}
	return nil, nil
}

// metadataHopLimit 1 keeps containers from reaching the instance's
// credentials through IMDS; tasks get theirs from their task roles.
const metadataHopLimit = 1

func (b *Builder) templateData(cluster, profileARN, amiID string) *ec2types.RequestLaunchTemplateData {
	return &ec2types.RequestLaunchTemplateData{
		ImageId:            aws.String(amiID),
		InstanceType:       ec2types.InstanceType(b.Env.ECS.InstanceType),
		IamInstanceProfile: &ec2types.LaunchTemplateIamInstanceProfileSpecificationRequest{Arn: aws.String(profileARN)},
		SecurityGroupIds:   []string{b.VPC.BaseSecurityGroupID},
		UserData:           aws.String(base64.StdEncoding.EncodeToString([]byte(userData(cluster)))),
		MetadataOptions: &ec2types.LaunchTemplateInstanceMetadataOptionsRequest{
			HttpTokens:              ec2types.LaunchTemplateHttpTokensStateRequired,
			HttpEndpoint:            ec2types.LaunchTemplateInstanceMetadataEndpointStateEnabled,
			HttpPutResponseHopLimit: aws.Int32(metadataHopLimit),
		},
		TagSpecifications: []ec2types.LaunchTemplateTagSpecificationRequest{
			{ResourceType: ec2types.ResourceTypeVolume, Tags: tags.EC2(b.Tags.Map(NamesFor(b.Env.Name).AutoScalingGroup))},
		},
	}
}

// templateChanges lists the fields in which the current version differs
// from the wanted data.
func templateChanges(cur *ec2types.ResponseLaunchTemplateData, want *ec2types.RequestLaunchTemplateData) []string {
	var changed []string
	if cur == nil {
		return []string{"everything"}
	}
	if aws.ToString(cur.ImageId) != aws.ToString(want.ImageId) {
		changed = append(changed, "ami "+aws.ToString(cur.ImageId)+" -> "+aws.ToString(want.ImageId))
	}
	if cur.InstanceType != want.InstanceType {
		changed = append(changed, "instance type "+string(cur.InstanceType)+" -> "+string(want.InstanceType))
	}
	if cur.IamInstanceProfile == nil || aws.ToString(cur.IamInstanceProfile.Arn) != aws.ToString(want.IamInstanceProfile.Arn) {
		changed = append(changed, "instance profile")
	}
	if !sameStrings(cur.SecurityGroupIds, want.SecurityGroupIds) {
		changed = append(changed, "security groups")
	}
	if aws.ToString(cur.UserData) != aws.ToString(want.UserData) {
		changed = append(changed, "user data")
	}
	if m := cur.MetadataOptions; m == nil || m.HttpTokens != ec2types.LaunchTemplateHttpTokensStateRequired ||
		aws.ToInt32(m.HttpPutResponseHopLimit) != aws.ToInt32(want.MetadataOptions.HttpPutResponseHopLimit) {
		changed = append(changed, "metadata options")
	}
	return changed
}

// launchTemplate makes the launch template exist with data as its default
// version and returns its id. A template whose default version differs
// gets a new version that becomes the default: instances launched from then
// on use it; running ones are left alone.
func (b *Builder) launchTemplate(ctx context.Context, have *ec2types.LaunchTemplate, name string, data *ec2types.RequestLaunchTemplateData) (string, error) {
	target := wait.Target{Kind: kindTemplate, ID: name}
	if have == nil {
		if b.DryRun {
			b.record(step.WouldCreate, kindTemplate, planned, name+" ("+aws.ToString(data.ImageId)+", "+string(data.InstanceType)+")")
			return planned, nil
		}
		var out *ec2.CreateLaunchTemplateOutput
		err := b.retryIAM(ctx, target, func(ctx context.Context) (err error) {
			out, err = b.EC2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
				LaunchTemplateName: &name, LaunchTemplateData: data,
				VersionDescription: aws.String("stagehand run " + b.Tags.Run),
				TagSpecifications:  tags.EC2Spec(ec2types.ResourceTypeLaunchTemplate, b.Tags.Map(name)),
			})
			return err
		})
		if err != nil {
			return "", fmt.Errorf("create launch template %s: %w", name, err)
		}
		id := aws.ToString(out.LaunchTemplate.LaunchTemplateId)
		b.record(step.Created, kindTemplate, id, name+" ("+aws.ToString(data.ImageId)+", "+string(data.InstanceType)+")")
		return id, nil
	}
	id := aws.ToString(have.LaunchTemplateId)
	versions, err := b.EC2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: &id, Versions: []string{"$Default"}})
	if err != nil {
		return "", fmt.Errorf("describe the default version of launch template %s: %w", id, err)
	}
	var cur *ec2types.ResponseLaunchTemplateData
	if len(versions.LaunchTemplateVersions) > 0 {
		cur = versions.LaunchTemplateVersions[0].LaunchTemplateData
	}
	changed := templateChanges(cur, data)
	switch {
	case len(changed) == 0:
		b.record(step.Kept, kindTemplate, id, name)
		return id, nil
	case b.DryRun:
		b.record(step.WouldUpdate, kindTemplate, id, name+": "+strings.Join(changed, ", "))
		return id, nil
	}
	var out *ec2.CreateLaunchTemplateVersionOutput
	err = b.retryIAM(ctx, target, func(ctx context.Context) (err error) {
		out, err = b.EC2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
			LaunchTemplateId: &id, LaunchTemplateData: data, VersionDescription: aws.String("stagehand run " + b.Tags.Run),
		})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create a version of launch template %s: %w", id, err)
	}
	version := fmt.Sprint(aws.ToInt64(out.LaunchTemplateVersion.VersionNumber))
	if _, err := b.EC2.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: &id, DefaultVersion: &version}); err != nil {
		return "", fmt.Errorf("make version %s the default of launch template %s: %w", version, id, err)
	}
	b.record(step.Updated, kindTemplate, id, name+": version "+version+": "+strings.Join(changed, ", "))
	return id, nil
}

// ---- auto scaling group

func describeGroup(ctx context.Context, api AutoScalingAPI, name string) (*astypes.AutoScalingGroup, error) {
	out, err := api.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		return nil, fmt.Errorf("describe auto scaling group %s: %w", name, err)
	}
	for i, g := range out.AutoScalingGroups {
		if aws.ToString(g.AutoScalingGroupName) == name {
			return &out.AutoScalingGroups[i], nil
		}
	}
	return nil, nil
}

// templateVersion is the launch template version the group launches: the
// template's default, so that a new default version reaches new instances
// without touching the group.
const templateVersion = "$Default"

// group makes the auto scaling group exist in the private subnets and
// returns its ARN. On an existing group it corrects the template, subnets,
// min and max sizes and scale-in protection, never the desired capacity:
// the capacity provider's managed scaling owns that.
func (b *Builder) group(ctx context.Context, have *astypes.AutoScalingGroup, name, templateID string) (string, error) {
	e := b.Env.ECS
	subnets := strings.Join(b.VPC.PrivateSubnetIDs, ",")
	sizes := fmt.Sprintf("min %d, desired %d, max %d", *e.MinSize, *e.DesiredCapacity, *e.MaxSize)
	target := wait.Target{Kind: kindGroup, ID: name}
	if have == nil {
		if b.DryRun {
			b.record(step.WouldCreate, kindGroup, planned, name+" ("+sizes+")")
			return planned, nil
		}
		err := b.retryIAM(ctx, target, func(ctx context.Context) error {
			_, err := b.AutoScaling.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
				AutoScalingGroupName: &name,
				LaunchTemplate:       &astypes.LaunchTemplateSpecification{LaunchTemplateId: &templateID, Version: aws.String(templateVersion)},
				MinSize:              aws.Int32(int32(*e.MinSize)),
				MaxSize:              aws.Int32(int32(*e.MaxSize)),
				DesiredCapacity:      aws.Int32(int32(*e.DesiredCapacity)),
				VPCZoneIdentifier:    &subnets,
				// Managed termination protection needs it: ECS protects the
				// instances that run tasks from scale-in.
				NewInstancesProtectedFromScaleIn: aws.Bool(true),
				Tags:                             tags.AutoScaling(name, b.Tags.Map(name), true),
			})
			return err
		})
		if err != nil {
			return "", fmt.Errorf("create auto scaling group %s: %w", name, err)
		}
		g, err := describeGroup(ctx, b.AutoScaling, name)
		if err != nil {
			return "", err
		}
		if g == nil {
			return "", fmt.Errorf("auto scaling group %s was created but cannot be described", name)
		}
		arn := aws.ToString(g.AutoScalingGroupARN)
		b.record(step.Created, kindGroup, name, sizes)
		return arn, nil
	}
	arn := aws.ToString(have.AutoScalingGroupARN)
	if have.Status != nil {
		return "", fmt.Errorf("auto scaling group %s is %q: wait until destroy-ecs has finished, then run bootstrap-ecs again", name, aws.ToString(have.Status))
	}
	in := &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: &name}
	var changed []string
	if lt := have.LaunchTemplate; templateID != planned && (lt == nil || aws.ToString(lt.LaunchTemplateId) != templateID || aws.ToString(lt.Version) != templateVersion) {
		in.LaunchTemplate = &astypes.LaunchTemplateSpecification{LaunchTemplateId: &templateID, Version: aws.String(templateVersion)}
		changed = append(changed, "launch template")
	}
	if !sameStrings(strings.Split(aws.ToString(have.VPCZoneIdentifier), ","), b.VPC.PrivateSubnetIDs) {
		in.VPCZoneIdentifier = &subnets
		changed = append(changed, "subnets")
	}
	if aws.ToInt32(have.MinSize) != int32(*e.MinSize) {
		in.MinSize = aws.Int32(int32(*e.MinSize))
		changed = append(changed, fmt.Sprintf("min %d -> %d", aws.ToInt32(have.MinSize), *e.MinSize))
	}
	if aws.ToInt32(have.MaxSize) != int32(*e.MaxSize) {
		in.MaxSize = aws.Int32(int32(*e.MaxSize))
		changed = append(changed, fmt.Sprintf("max %d -> %d", aws.ToInt32(have.MaxSize), *e.MaxSize))
	}
	if !aws.ToBool(have.NewInstancesProtectedFromScaleIn) {
		in.NewInstancesProtectedFromScaleIn = aws.Bool(true)
		changed = append(changed, "scale-in protection")
	}
	switch {
	case len(changed) == 0:
		b.record(step.Kept, kindGroup, name, fmt.Sprintf("min %d, desired %d, max %d", aws.ToInt32(have.MinSize), aws.ToInt32(have.DesiredCapacity), aws.ToInt32(have.MaxSize)))
		return arn, nil
	case b.DryRun:
		b.record(step.WouldUpdate, kindGroup, name, strings.Join(changed, ", "))
		return arn, nil
	}
	err := b.retryIAM(ctx, target, func(ctx context.Context) error {
		_, err := b.AutoScaling.UpdateAutoScalingGroup(ctx, in)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("update auto scaling group %s: %w", name, err)
	}
	b.record(step.Updated, kindGroup, name, strings.Join(changed, ", "))
	return arn, nil
}

// ---- capacity provider

// Capacity provider settings: managed scaling keeps the group at the size
// the tasks need (100% of the instances busy), and managed termination
// protection keeps it from scaling in instances that run tasks.
const (
	providerTargetCapacity = 100
	providerMaxStep        = 10
)

func describeProvider(ctx context.Context, api ECSAPI, name string) (*ecstypes.CapacityProvider, error) {
	out, err := api.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{
		CapacityProviders: []string{name}, Include: []ecstypes.CapacityProviderField{ecstypes.CapacityProviderFieldTags},
	})
	if err != nil {
		return nil, fmt.Errorf("describe capacity provider %s: %w", name, err)
	}
	for i, p := range out.CapacityProviders {
		if aws.ToString(p.Name) == name && p.Status == ecstypes.CapacityProviderStatusActive {
			return &out.CapacityProviders[i], nil
		}
	}
	return nil, nil
}

func (b *Builder) providerSettings(groupARN string) *ecstypes.AutoScalingGroupProvider {
	return &ecstypes.AutoScalingGroupProvider{
		AutoScalingGroupArn: &groupARN,
		ManagedScaling: &ecstypes.ManagedScaling{
			Status:                 ecstypes.ManagedScalingStatusEnabled,
			TargetCapacity:         aws.Int32(providerTargetCapacity),
			MinimumScalingStepSize: aws.Int32(1),
			MaximumScalingStepSize: aws.Int32(providerMaxStep),
		},
		ManagedTerminationProtection: ecstypes.ManagedTerminationProtectionEnabled,
	}
}

func (b *Builder) provider(ctx context.Context, have *ecstypes.CapacityProvider, name, groupARN string) error {
	if have == nil {
		if b.DryRun {
			b.record(step.WouldCreate, kindProvider, planned, name)
			return nil
		}
		out, err := b.ECS.CreateCapacityProvider(ctx, &ecs.CreateCapacityProviderInput{
			Name: &name, AutoScalingGroupProvider: b.providerSettings(groupARN), Tags: tags.ECS(b.Tags.Map(name)),
		})
		if err != nil {
			return fmt.Errorf("create capacity provider %s: %w", name, err)
		}
		b.record(step.Created, kindProvider, aws.ToString(out.CapacityProvider.CapacityProviderArn), name)
		return nil
	}
	arn := aws.ToString(have.CapacityProviderArn)
	p := have.AutoScalingGroupProvider
	if p == nil || (groupARN != planned && aws.ToString(p.AutoScalingGroupArn) != groupARN) {
		return fmt.Errorf("capacity provider %s does not use auto scaling group %s (its group was replaced): run destroy-ecs, then bootstrap-ecs", name, groupARN)
	}
	var changed []string
	if p.ManagedScaling == nil || p.ManagedScaling.Status != ecstypes.ManagedScalingStatusEnabled || aws.ToInt32(p.ManagedScaling.TargetCapacity) != providerTargetCapacity {
		changed = append(changed, "managed scaling")
	}
	if p.ManagedTerminationProtection != ecstypes.ManagedTerminationProtectionEnabled {
		changed = append(changed, "managed termination protection")
	}
	switch {
	case len(changed) == 0:
		b.record(step.Kept, kindProvider, arn, name)
		return nil
	case b.DryRun:
		b.record(step.WouldUpdate, kindProvider, arn, name+": "+strings.Join(changed, ", "))
		return nil
	}
	want := b.providerSettings(groupARN)
	_, err := b.ECS.UpdateCapacityProvider(ctx, &ecs.UpdateCapacityProviderInput{
		Name: &name,
		AutoScalingGroupProvider: &ecstypes.AutoScalingGroupProviderUpdate{
			ManagedScaling: want.ManagedScaling, ManagedTerminationProtection: want.ManagedTerminationProtection,
		},
	})
	if err != nil {
		return fmt.Errorf("update capacity provider %s: %w", name, err)
	}
	b.record(step.Updated, kindProvider, arn, name+": "+strings.Join(changed, ", "))
	return nil
}

// ---- container instances

// waitInstances waits until want container instances are registered in the
// cluster, ACTIVE and connected. With want 0 (scale from zero) there is
// nothing to wait for: the capacity provider launches instances when tasks
// need them.
func (b *Builder) waitInstances(ctx context.Context, cluster string, want int) error {
	if want == 0 {
		b.Log.Info("desired_capacity is 0: no container instance to wait for; the capacity provider launches instances when tasks need them")
		return nil
	}
	o := b.InstancesWait
	if o.Interval == 0 {
		o.Interval = 10 * time.Second
	}
	if o.Max == 0 {
		o.Max = DefaultInstancesWait
	}
	return wait.Until(ctx, b.Log, wait.Target{Kind: "container instances", ID: cluster}, o, func(ctx context.Context) (bool, string, error) {
		cis, err := containerInstances(ctx, b.ECS, cluster, ecstypes.ContainerInstanceStatusActive)
		if err != nil {
			return false, "", err
		}
		ready := 0
		for _, ci := range cis {
			if aws.ToString(ci.Status) == string(ecstypes.ContainerInstanceStatusActive) && ci.AgentConnected {
				ready++
			}
		}
		return ready >= want, fmt.Sprintf("%d of %d registered and connected", ready, want), nil
	})
}

// describeBatchInstances is the most container instances one
// DescribeContainerInstances call accepts.
const describeBatchInstances = 100

// containerInstances lists and describes the cluster's container instances
// of status ("" for every status).
func containerInstances(ctx context.Context, api ECSAPI, cluster string, status ecstypes.ContainerInstanceStatus) ([]ecstypes.ContainerInstance, error) {
	var arns []string
	p := ecs.NewListContainerInstancesPaginator(api, &ecs.ListContainerInstancesInput{Cluster: &cluster, Status: status})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list container instances of cluster %s: %w", cluster, err)
		}
		arns = append(arns, page.ContainerInstanceArns...)
	}
	var out []ecstypes.ContainerInstance
	for start := 0; start < len(arns); start += describeBatchInstances {
		batch := arns[start:min(start+describeBatchInstances, len(arns))]
		resp, err := api.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: &cluster, ContainerInstances: batch})
		if err != nil {
			return nil, fmt.Errorf("describe container instances of cluster %s: %w", cluster, err)
		}
		out = append(out, resp.ContainerInstances...)
	}
	return out, nil
}
