package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/stagehand/stagehand/e2e/e2etest"
	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/environment"
	"github.com/stagehand/stagehand/shared/tags"
)

// ecsAPIs are the clients the cluster tests assert with.
type ecsAPIs struct {
	ecs *ecs.Client
	iam *iam.Client
	ec2 *ec2.Client
	asg *autoscaling.Client
	ssm *ssm.Client
}

func newECSAPIs(t *testing.T) ecsAPIs {
	cfg := h.AWS(t)
	return ecsAPIs{ecs: ecs.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg), ec2: ec2.NewFromConfig(cfg),
		asg: autoscaling.NewFromConfig(cfg), ssm: ssm.NewFromConfig(cfg)}
}

// ecsEnv is an environment with the given ecs section.
func ecsEnv(cidr string, ecsSection map[string]any) map[string]any {
	env := e2etest.Env(cidr)
	env["ecs"] = ecsSection
	return env
}

// clusterInventory is what exists of environment env's cluster resources,
// found the way an operator would look: by name and tag.
type clusterInventory struct {
	Cluster          *ecstypes.Cluster
	Roles            map[string]string // name -> ARN, tagged with env
	Profiles         map[string]string
	Templates        []string // ids
	Groups           []string // names
	Providers        []string // names
	Instances        []string // ids, not terminated
	ServicesActive   int
	TasksRunning     int
	ContainerInstCnt int
}

func (c clusterInventory) empty() bool {
	return c.Cluster == nil && len(c.Roles) == 0 && len(c.Profiles) == 0 && len(c.Templates) == 0 &&
		len(c.Groups) == 0 && len(c.Providers) == 0 && len(c.Instances) == 0
}

func (c clusterInventory) String() string {
	cl := "none"
	if c.Cluster != nil {
		cl = aws.ToString(c.Cluster.ClusterArn) + " " + aws.ToString(c.Cluster.Status)
	}
	return fmt.Sprintf("cluster %s, roles %v, profiles %v, templates %v, groups %v, providers %v, instances %v",
		cl, c.Roles, c.Profiles, c.Templates, c.Groups, c.Providers, c.Instances)
}

func inventory(t *testing.T, a ecsAPIs, env string) clusterInventory {
	t.Helper()
	ctx := context.Background()
	inv := clusterInventory{Roles: map[string]string{}, Profiles: map[string]string{}}
	cs, err := a.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{env}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags, ecstypes.ClusterFieldSettings}})
	must(t, err)
	for i, c := range cs.Clusters {
		if aws.ToString(c.Status) == "ACTIVE" && tags.Is(tags.FromECS(c.Tags), env) {
			inv.Cluster = &cs.Clusters[i]
		}
	}
	for _, name := range []string{env + "-ecs-instance", env + "-ecs-task-execution"} {
		r, err := a.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if err == nil && tags.Is(tags.FromIAM(r.Role.Tags), env) {
			inv.Roles[name] = aws.ToString(r.Role.Arn)
		}
	}
	if p, err := a.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(env + "-ecs-instance")}); err == nil {
		inv.Profiles[env+"-ecs-instance"] = aws.ToString(p.InstanceProfile.Arn)
	}
	lts, err := a.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{Filters: tags.EC2Filters(env)})
	must(t, err)
	for _, lt := range lts.LaunchTemplates {
		inv.Templates = append(inv.Templates, aws.ToString(lt.LaunchTemplateId))
	}
	gs, err := a.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	must(t, err)
	for _, g := range gs.AutoScalingGroups {
		if tags.Is(tags.FromAutoScaling(g.Tags), env) {
			inv.Groups = append(inv.Groups, aws.ToString(g.AutoScalingGroupName))
		}
	}
	ps, err := a.ecs.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{CapacityProviders: []string{env + "-ec2"}, Include: []ecstypes.CapacityProviderField{ecstypes.CapacityProviderFieldTags}})
	must(t, err)
	for _, p := range ps.CapacityProviders {
		if p.Status == ecstypes.CapacityProviderStatusActive && tags.Is(tags.FromECS(p.Tags), env) {
			inv.Providers = append(inv.Providers, aws.ToString(p.Name))
		}
	}
	is, err := a.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: append(tags.EC2Filters(env),
		ec2types.Filter{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped", "shutting-down"}})})
	must(t, err)
	for _, r := range is.Reservations {
		for _, i := range r.Instances {
			inv.Instances = append(inv.Instances, aws.ToString(i.InstanceId))
		}
	}
	return inv
}

// playECSAgent does what the ECS agent on a new instance does: it registers
// the instance with the cluster named in its user data. The local endpoint
// launches the auto scaling group's instances but runs no agent on them.
func playECSAgent(t *testing.T, a ecsAPIs, group, cluster string) {
	t.Helper()
	ctx := context.Background()
	out, err := a.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	must(t, err)
	if len(out.AutoScalingGroups) != 1 || len(out.AutoScalingGroups[0].Instances) == 0 {
		t.Fatalf("auto scaling group %s has launched no instance", group)
	}
	id := aws.ToString(out.AutoScalingGroups[0].Instances[0].InstanceId)
	doc, _ := json.Marshal(map[string]string{"instanceId": id, "region": e2etest.Region, "accountId": e2etest.Account})
	_, err = a.ecs.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		Cluster: aws.String(cluster), InstanceIdentityDocument: aws.String(string(doc)), InstanceIdentityDocumentSignature: aws.String("signature"),
	})
	must(t, err)
}

// noCreated fails when a step's summary reports a created resource.
func noCreated(t *testing.T, r e2etest.Result) {
	t.Helper()
	for _, line := range strings.Split(r.Stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "created ") {
			t.Errorf("second run created something: %s", line)
		}
	}
}

func hasPolicy(t *testing.T, a ecsAPIs, role, policyARN string) bool {
	t.Helper()
	out, err := a.iam.ListAttachedRolePolicies(context.Background(), &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	must(t, err)
	for _, p := range out.AttachedPolicies {
		if aws.ToString(p.PolicyArn) == policyARN {
			return true
		}
	}
	return false
}

func trusts(t *testing.T, a ecsAPIs, role, service string) bool {
	t.Helper()
	out, err := a.iam.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(role)})
	must(t, err)
	doc, err := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
	must(t, err)
	return strings.Contains(doc, `"`+service+`"`)
}

// TestECSOnEC2 is the EC2 capacity chain: create-vpc → bootstrap-ecs (a
// first run that times out waiting for the container instance, as a run
// killed half-way, then a run that completes) → wired resources → a second
// run creates nothing → someone else's service and task in the cluster →
// destroy-ecs (dry run, then twice) → destroy-vpc → verify-clean.
func TestECSOnEC2(t *testing.T) {
	h.Reset(t)
	w := h.NewWorkspace(t)
	const env = "alpha"
	w.WriteEnv(t, env, ecsEnv("10.90.0.0/16", map[string]any{"capacity": "ec2", "instance_type": "t3.small", "min_size": 1, "desired_capacity": 1, "max_size": 3}))
	a := newECSAPIs(t)
	ctx := context.Background()

	// Without vpc.json there is nothing to build on.
	w.MustRun(t, 2, "bootstrap-ecs", "--env", env)
	w.MustRun(t, 0, "create-vpc", "--env", env)
	var vpc artifact.VPC
	w.ReadArtifact(t, env, artifact.KindVPC, &vpc)

	// Dry run: a plan, nothing created, no ecs.json.
	r := w.MustRun(t, 0, "bootstrap-ecs", "--env", env, "--dry-run")
	if !strings.Contains(r.Stdout, "would create") {
		t.Fatalf("dry run printed no plan:\n%s", r.Stdout)
	}
	if inv := inventory(t, a, env); !inv.empty() {
		t.Fatalf("dry run created: %s", inv)
	}
	ecsJSON := filepath.Join(w.ArtifactsDir(env), "ecs.json")
	if _, err := os.Stat(ecsJSON); !os.IsNotExist(err) {
		t.Fatal("dry run wrote ecs.json")
	}

	// First run: everything is created, then no container instance registers
	// in time (nobody plays the agent yet): exit 4, no ecs.json.
	w.MustRun(t, 4, "bootstrap-ecs", "--env", env, "--instances-wait", "2s")
	if _, err := os.Stat(ecsJSON); !os.IsNotExist(err) {
		t.Fatal("a run that timed out wrote ecs.json")
	}
	// The instance the group launched registers, as its agent would.
	playECSAgent(t, a, env+"-ecs", env)
	// Started again, it completes without duplicates.
	w.MustRun(t, 0, "bootstrap-ecs", "--env", env)
	inv := inventory(t, a, env)
	if inv.Cluster == nil || len(inv.Roles) != 2 || len(inv.Profiles) != 1 || len(inv.Templates) != 1 || len(inv.Groups) != 1 || len(inv.Providers) != 1 || len(inv.Instances) != 1 {
		t.Fatalf("after bootstrap: %s", inv)
	}

	var e artifact.ECS
	w.ReadArtifact(t, env, artifact.KindECS, &e)
	if e.Env != env || e.Account != e2etest.Account || e.Capacity != "ec2" || e.ClusterName != env || e.ClusterARN != aws.ToString(inv.Cluster.ClusterArn) {
		t.Fatalf("artifact header/cluster wrong: %+v", e)
	}
	if e.ExecutionRoleARN != inv.Roles[env+"-ecs-task-execution"] || e.InstanceProfileARN != inv.Profiles[env+"-ecs-instance"] ||
		e.LaunchTemplateID != inv.Templates[0] || e.AutoScalingGroupName != env+"-ecs" || e.VPCID != vpc.VPCID ||
		strings.Join(e.SubnetIDs, ",") != strings.Join(vpc.PrivateSubnetIDs, ",") || strings.Join(e.SecurityGroupIDs, ",") != vpc.BaseSecurityGroupID {
		t.Fatalf("artifact ids wrong: %+v", e)
	}
	if len(e.DefaultStrategy) != 1 || e.DefaultStrategy[0].CapacityProvider != env+"-ec2" || strings.Join(e.CapacityProviders, ",") != env+"-ec2" {
		t.Fatalf("artifact strategy wrong: %+v", e.DefaultStrategy)
	}

	// Cluster: tagged, container insights off, the capacity provider as its default strategy.
	ct := tags.FromECS(inv.Cluster.Tags)
	if ct[tags.Step] != "bootstrap-ecs" || ct[tags.Run] == "" || ct[tags.Name] != env {
		t.Errorf("cluster tags %v", ct)
	}
	if len(inv.Cluster.DefaultCapacityProviderStrategy) != 1 || aws.ToString(inv.Cluster.DefaultCapacityProviderStrategy[0].CapacityProvider) != env+"-ec2" {
		t.Errorf("cluster default strategy %+v", inv.Cluster.DefaultCapacityProviderStrategy)
	}
	for _, s := range inv.Cluster.Settings {
		if s.Name == ecstypes.ClusterSettingNameContainerInsights && aws.ToString(s.Value) != "disabled" {
			t.Errorf("container insights %s, want disabled", aws.ToString(s.Value))
		}
	}

	// Launch template → instance profile → role; AMI from SSM, IMDSv2, user data, security group.
	v, err := a.ec2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: &e.LaunchTemplateID, Versions: []string{"$Default"}})
	must(t, err)
	d := v.LaunchTemplateVersions[0].LaunchTemplateData
	param, err := a.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(environment.DefaultAMIParameter)})
	must(t, err)
	if aws.ToString(d.ImageId) != aws.ToString(param.Parameter.Value) || e.AMIID != aws.ToString(d.ImageId) || d.InstanceType != "t3.small" {
		t.Errorf("launch template image %s type %s, want %s t3.small", aws.ToString(d.ImageId), d.InstanceType, aws.ToString(param.Parameter.Value))
	}
	if d.IamInstanceProfile == nil || aws.ToString(d.IamInstanceProfile.Arn) != e.InstanceProfileARN {
		t.Errorf("launch template profile %+v, want %s", d.IamInstanceProfile, e.InstanceProfileARN)
	}
	if d.MetadataOptions == nil || d.MetadataOptions.HttpTokens != ec2types.LaunchTemplateHttpTokensStateRequired {
		t.Errorf("launch template metadata options %+v: IMDSv2 not required", d.MetadataOptions)
	}
	ud, err := base64.StdEncoding.DecodeString(aws.ToString(d.UserData))
	must(t, err)
	if !strings.Contains(string(ud), "ECS_CLUSTER="+env+"\n") || !strings.Contains(string(ud), "/etc/ecs/ecs.config") {
		t.Errorf("user data does not name the cluster:\n%s", ud)
	}
	if strings.Join(d.SecurityGroupIds, ",") != vpc.BaseSecurityGroupID {
		t.Errorf("launch template security groups %v, want %s", d.SecurityGroupIds, vpc.BaseSecurityGroupID)
	}
	prof, err := a.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(env + "-ecs-instance")})
	must(t, err)
	if len(prof.InstanceProfile.Roles) != 1 || aws.ToString(prof.InstanceProfile.Roles[0].RoleName) != env+"-ecs-instance" {
		t.Errorf("instance profile roles %+v", prof.InstanceProfile.Roles)
	}
	if !trusts(t, a, env+"-ecs-instance", "ec2.amazonaws.com") || !hasPolicy(t, a, env+"-ecs-instance", "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role") {
		t.Error("instance role: wrong trust or managed policy")
	}
	if !trusts(t, a, env+"-ecs-task-execution", "ecs-tasks.amazonaws.com") || !hasPolicy(t, a, env+"-ecs-task-execution", "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy") {
		t.Error("execution role: wrong trust or managed policy")
	}
	pol, err := a.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(env + "-ecs-task-execution"), PolicyName: aws.String("stagehand-read-secrets")})
	must(t, err)
	if doc, _ := url.QueryUnescape(aws.ToString(pol.PolicyDocument)); !strings.Contains(doc, "arn:aws:secretsmanager:us-east-1:123456789012:secret:*") {
		t.Errorf("execution role's secrets policy: %s", doc)
	}

	// Auto scaling group → launch template, private subnets, sizes, tags propagated.
	gs, err := a.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{env + "-ecs"}})
	must(t, err)
	g := gs.AutoScalingGroups[0]
	subnets := strings.Split(aws.ToString(g.VPCZoneIdentifier), ",")
	sort.Strings(subnets)
	want := append([]string{}, vpc.PrivateSubnetIDs...)
	sort.Strings(want)
	if g.LaunchTemplate == nil || aws.ToString(g.LaunchTemplate.LaunchTemplateId) != e.LaunchTemplateID || strings.Join(subnets, ",") != strings.Join(want, ",") {
		t.Errorf("group template %+v subnets %v, want %s in %v", g.LaunchTemplate, subnets, e.LaunchTemplateID, want)
	}
	if aws.ToInt32(g.MinSize) != 1 || aws.ToInt32(g.MaxSize) != 3 || aws.ToInt32(g.DesiredCapacity) != 1 || !aws.ToBool(g.NewInstancesProtectedFromScaleIn) {
		t.Errorf("group sizes %d/%d/%d protected %v", aws.ToInt32(g.MinSize), aws.ToInt32(g.DesiredCapacity), aws.ToInt32(g.MaxSize), aws.ToBool(g.NewInstancesProtectedFromScaleIn))
	}
	for _, tg := range g.Tags {
		if aws.ToString(tg.Key) == tags.Env && !aws.ToBool(tg.PropagateAtLaunch) {
			t.Error("group tags are not propagated to its instances")
		}
	}

	// Capacity provider → auto scaling group, managed scaling and termination protection.
	cps, err := a.ecs.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{CapacityProviders: []string{env + "-ec2"}})
	must(t, err)
	p := cps.CapacityProviders[0].AutoScalingGroupProvider
	if aws.ToString(p.AutoScalingGroupArn) != aws.ToString(g.AutoScalingGroupARN) || p.ManagedScaling.Status != ecstypes.ManagedScalingStatusEnabled ||
		p.ManagedTerminationProtection != ecstypes.ManagedTerminationProtectionEnabled {
		t.Errorf("capacity provider %+v, want group %s with managed scaling and termination protection", p, aws.ToString(g.AutoScalingGroupARN))
	}

	// A second run creates nothing and keeps the artifact's creation time.
	r = w.MustRun(t, 0, "bootstrap-ecs", "--env", env)
	noCreated(t, r)
	if again := inventory(t, a, env); again.String() != inv.String() {
		t.Errorf("second run changed what exists:\n%s\n%s", inv, again)
	}
	var e2 artifact.ECS
	w.ReadArtifact(t, env, artifact.KindECS, &e2)
	if !e2.CreatedAt.Equal(e.CreatedAt) || e2.LaunchTemplateID != e.LaunchTemplateID {
		t.Errorf("second run rewrote the artifact's identity: %+v", e2.Header)
	}

	// Someone else deploys into the environment's cluster: a service of two
	// tasks (the test plays the scheduler that scales it up). A standalone
	// task is not part of this test: the local endpoint reports tasks with
	// container cpu as a number, which the SDK cannot read, so RunTask and
	// StopTask cannot be shown here; shared/cluster's unit tests cover
	// stopping tasks against a fake.
	td, err := a.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("intruder"), Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("c"), Image: aws.String("public.ecr.aws/docker/library/busybox:1.36"), Essential: aws.Bool(true), MemoryReservation: aws.Int32(64)}},
	})
	must(t, err)
	_, err = a.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(env), ServiceName: aws.String("intruder"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(2)})
	must(t, err)
	_, err = a.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(env), Service: aws.String("intruder"), DesiredCount: aws.Int32(2)})
	must(t, err)

	// Destroy, dry run: a plan in teardown order, nothing changed.
	r = w.MustRun(t, 0, "destroy-ecs", "--env", env, "--dry-run")
	for _, s := range []string{"would delete  ecs service", "would delete  container instance", "would delete  capacity provider", "would delete  iam role"} {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("destroy dry run does not plan %q:\n%s", s, r.Stdout)
		}
	}
	if again := inventory(t, a, env); again.String() != inv.String() {
		t.Fatalf("destroy dry run changed what exists:\n%s", again)
	}
	w.MustRun(t, 3, "destroy-ecs", "--env", env) // no terminal, no --yes

	w.MustRun(t, 5, "verify-clean", "--env", env)
	r = w.MustRun(t, 0, "destroy-ecs", "--env", env, "--yes")
	if left := inventory(t, a, env); !left.empty() {
		t.Fatalf("after destroy-ecs: %s", left)
	}
	svc, err := a.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(env), Services: []string{"intruder"}})
	if err == nil && len(svc.Services) > 0 && aws.ToString(svc.Services[0].Status) != "INACTIVE" {
		t.Errorf("service intruder is %s", aws.ToString(svc.Services[0].Status))
	}
	if _, err := os.Stat(ecsJSON); !os.IsNotExist(err) {
		t.Error("ecs.json not removed")
	}

	// Twice in a row is fine: nothing to do.
	r = w.MustRun(t, 0, "destroy-ecs", "--env", env, "--yes")
	if !strings.Contains(r.Stdout, "nothing to do") {
		t.Errorf("second destroy-ecs did something:\n%s", r.Stdout)
	}
	w.MustRun(t, 0, "destroy-vpc", "--env", env, "--yes")
	w.MustRun(t, 0, "verify-clean", "--env", env)
}

// TestECSOnFargateBesideAnotherEnvironment: a Fargate environment next to
// an EC2 one scaled from zero. The Fargate chain runs (a second run creates
// nothing), and its destroy, without ecs.json, leaves the neighbour's
// cluster, roles and capacity alone. A same-named role without the
// environment's tag is refused before anything changes.
func TestECSOnFargateBesideAnotherEnvironment(t *testing.T) {
	h.Reset(t)
	w := h.NewWorkspace(t)
	a := newECSAPIs(t)
	ctx := context.Background()
	w.WriteEnv(t, "fg", ecsEnv("10.91.0.0/16", map[string]any{"capacity": "fargate", "container_insights": true}))
	w.WriteEnv(t, "nb", ecsEnv("10.92.0.0/16", map[string]any{"capacity": "ec2", "min_size": 0, "desired_capacity": 0, "max_size": 2}))
	for _, env := range []string{"fg", "nb"} {
		w.MustRun(t, 0, "create-vpc", "--env", env)
		w.MustRun(t, 0, "bootstrap-ecs", "--env", env)
	}

	fg := inventory(t, a, "fg")
	if fg.Cluster == nil || len(fg.Roles) != 1 || fg.Roles["fg-ecs-task-execution"] == "" || len(fg.Profiles)+len(fg.Templates)+len(fg.Groups)+len(fg.Providers)+len(fg.Instances) != 0 {
		t.Fatalf("fargate environment: %s", fg)
	}
	got := map[string]int32{}
	for _, s := range fg.Cluster.DefaultCapacityProviderStrategy {
		got[aws.ToString(s.CapacityProvider)] = s.Weight
	}
	providers := append([]string{}, fg.Cluster.CapacityProviders...)
	sort.Strings(providers)
	if strings.Join(providers, ",") != "FARGATE,FARGATE_SPOT" || len(got) != 1 || got["FARGATE"] != 1 {
		t.Errorf("fargate cluster providers %v strategy %v", providers, got)
	}
	insights := ""
	for _, s := range fg.Cluster.Settings {
		if s.Name == ecstypes.ClusterSettingNameContainerInsights {
			insights = aws.ToString(s.Value)
		}
	}
	if insights != "enabled" {
		t.Errorf("container insights %q, want enabled", insights)
	}
	var e artifact.ECS
	w.ReadArtifact(t, "fg", artifact.KindECS, &e)
	if e.Capacity != "fargate" || e.ExecutionRoleARN != fg.Roles["fg-ecs-task-execution"] || e.AutoScalingGroupName != "" || len(e.DefaultStrategy) != 1 || e.DefaultStrategy[0].CapacityProvider != "FARGATE" {
		t.Errorf("fargate artifact: %+v", e)
	}
	noCreated(t, w.MustRun(t, 0, "bootstrap-ecs", "--env", "fg"))

	nb := inventory(t, a, "nb")
	if nb.Cluster == nil || len(nb.Roles) != 2 || len(nb.Groups) != 1 || len(nb.Providers) != 1 || len(nb.Instances) != 0 {
		t.Fatalf("scale-from-zero environment: %s", nb)
	}

	// The Fargate environment goes without its ecs.json; the neighbour stays.
	must(t, os.Remove(filepath.Join(w.ArtifactsDir("fg"), "ecs.json")))
	w.MustRun(t, 0, "destroy-ecs", "--env", "fg", "--yes")
	if left := inventory(t, a, "fg"); !left.empty() {
		t.Fatalf("fg after destroy-ecs without ecs.json: %s", left)
	}
	if after := inventory(t, a, "nb"); after.String() != nb.String() {
		t.Fatalf("the neighbour changed:\n%s\n%s", nb, after)
	}
	w.MustRun(t, 0, "destroy-vpc", "--env", "fg", "--yes")
	w.MustRun(t, 0, "verify-clean", "--env", "fg")
	w.MustRun(t, 5, "verify-clean", "--env", "nb")

	// A role with the environment's name that is not the environment's.
	w.WriteEnv(t, "taken", ecsEnv("10.93.0.0/16", map[string]any{"capacity": "fargate"}))
	w.MustRun(t, 0, "create-vpc", "--env", "taken")
	_, err := a.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("taken-ecs-task-execution"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
	must(t, err)
	w.MustRun(t, 3, "bootstrap-ecs", "--env", "taken")
	if inv := inventory(t, a, "taken"); inv.Cluster != nil {
		t.Fatalf("a refused run created the cluster: %s", inv)
	}
	// destroy-ecs leaves the untagged role alone.
	w.MustRun(t, 0, "destroy-ecs", "--env", "taken", "--yes")
	if _, err := a.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("taken-ecs-task-execution")}); err != nil {
		t.Fatalf("destroy-ecs deleted a role that is not the environment's: %v", err)
	}

	// An AMI parameter that does not exist is bad input: exit 2, nothing created.
	w.WriteEnv(t, "badami", ecsEnv("10.94.0.0/16", map[string]any{"capacity": "ec2", "ami_ssm_parameter": "/stagehand/no-such-parameter"}))
	w.MustRun(t, 0, "create-vpc", "--env", "badami")
	r := w.MustRun(t, 2, "bootstrap-ecs", "--env", "badami")
	if !strings.Contains(r.Stderr, "ecs.ami_ssm_parameter") {
		t.Errorf("error does not name the field:\n%s", r.Stderr)
	}
	if inv := inventory(t, a, "badami"); !inv.empty() {
		t.Fatalf("bad input still created: %s", inv)
	}
}
