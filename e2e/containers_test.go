package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/stagehand/stagehand/e2e/e2etest"
	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/tags"
)

// workloadAPIs are the clients the workload tests assert with.
type workloadAPIs struct {
	ecs     *ecs.Client
	elb     *elb.Client
	ec2     *ec2.Client
	logs    *cloudwatchlogs.Client
	secrets *secretsmanager.Client
}

func newWorkloadAPIs(t *testing.T) workloadAPIs {
	cfg := h.AWS(t)
	return workloadAPIs{ecs: ecs.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), ec2: ec2.NewFromConfig(cfg),
		logs: cloudwatchlogs.NewFromConfig(cfg), secrets: secretsmanager.NewFromConfig(cfg)}
}

// workloadEnv is an environment with EC2 capacity scaled from zero (there
// is no container instance to wait for) and services.
func workloadEnv(cidr string, services []map[string]any) map[string]any {
	env := e2etest.Env(cidr)
	env["log_retention_days"] = 7
	env["ecs"] = map[string]any{"capacity": "ec2", "min_size": 0, "desired_capacity": 0, "max_size": 2}
	env["services"] = services
	return env
}

// workloadInventory is what exists of environment env's workload, found
// the way an operator would look: by tags and names.
type workloadInventory struct {
	Services       map[string]ecstypes.Service // name -> service, not INACTIVE
	TaskDefs       []string                    // ACTIVE revisions of ENV-* families, tagged with env
	LogGroups      map[string]int32            // name -> retention, tagged with env
	LoadBalancers  []string                    // ARNs tagged with env
	TargetGroups   []string                    // ARNs tagged with env
	SecurityGroups map[string]string           // name -> id, tagged with env and run-containers
}

func (i workloadInventory) count() map[string]int {
	return map[string]int{"services": len(i.Services), "task definitions": len(i.TaskDefs), "log groups": len(i.LogGroups),
		"load balancers": len(i.LoadBalancers), "target groups": len(i.TargetGroups), "security groups": len(i.SecurityGroups)}
}

func (i workloadInventory) empty() bool {
	for _, n := range i.count() {
		if n != 0 {
			return false
		}
	}
	return true
}

func workloadOf(t *testing.T, a workloadAPIs, env, cluster string) workloadInventory {
	t.Helper()
	ctx := context.Background()
	inv := workloadInventory{Services: map[string]ecstypes.Service{}, LogGroups: map[string]int32{}, SecurityGroups: map[string]string{}}
	if cluster != "" {
		ls, err := a.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: &cluster})
		if err == nil && len(ls.ServiceArns) > 0 {
			ds, err := a.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &cluster, Services: ls.ServiceArns, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
			must(t, err)
			for _, s := range ds.Services {
				if aws.ToString(s.Status) != "INACTIVE" && tags.Is(tags.FromECS(s.Tags), env) {
					inv.Services[aws.ToString(s.ServiceName)] = s
				}
			}
		}
	}
	tds, err := a.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{Status: ecstypes.TaskDefinitionStatusActive})
	must(t, err)
	for _, arn := range tds.TaskDefinitionArns {
		if !strings.Contains(arn, ":task-definition/"+env+"-") {
			continue
		}
		td, err := a.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: &arn, Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
		must(t, err)
		if tags.Is(tags.FromECS(td.Tags), env) {
			inv.TaskDefs = append(inv.TaskDefs, arn)
		}
	}
	sort.Strings(inv.TaskDefs)
	lgs, err := a.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/stagehand/" + env + "/")})
	must(t, err)
	for _, g := range lgs.LogGroups {
		tg, err := a.logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: g.LogGroupArn})
		must(t, err)
		if tags.Is(tg.Tags, env) {
			inv.LogGroups[aws.ToString(g.LogGroupName)] = aws.ToInt32(g.RetentionInDays)
		}
	}
	elbTagged := func(arns []string) []string {
		var out []string
		for _, arn := range arns {
			d, err := a.elb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{arn}})
			must(t, err)
			if len(d.TagDescriptions) == 1 && tags.Is(tags.FromELB(d.TagDescriptions[0].Tags), env) {
				out = append(out, arn)
			}
		}
		return out
	}
	lbs, err := a.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	must(t, err)
	var arns []string
	for _, l := range lbs.LoadBalancers {
		arns = append(arns, aws.ToString(l.LoadBalancerArn))
	}
	inv.LoadBalancers = elbTagged(arns)
	tgs, err := a.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	must(t, err)
	arns = nil
	for _, g := range tgs.TargetGroups {
		arns = append(arns, aws.ToString(g.TargetGroupArn))
	}
	inv.TargetGroups = elbTagged(arns)
	sgs, err := a.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: tags.EC2Filters(env, tags.Step, "run-containers")})
	must(t, err)
	for _, g := range sgs.SecurityGroups {
		if tags.IsEnv(g.Tags, env) && tags.FromEC2(g.Tags)[tags.Step] == "run-containers" {
			inv.SecurityGroups[aws.ToString(g.GroupName)] = aws.ToString(g.GroupId)
		}
	}
	return inv
}

// playScheduler does what ECS's scheduler does for a service whose desired
// count the local endpoint does not reach by itself (it starts every new
// service with one running task): once the service exists, it sets the
// desired count again, which the endpoint answers by running that many.
// It returns a channel that receives nil when done or the error, so that
// it can play while a step runs.
func playScheduler(a workloadAPIs, cluster, service string, desired int32) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for ctx.Err() == nil {
			out, err := a.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &cluster, Services: []string{service}})
			if err == nil && len(out.Services) == 1 && aws.ToString(out.Services[0].Status) == "ACTIVE" {
				_, err = a.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: &cluster, Service: &service, DesiredCount: aws.Int32(desired)})
				done <- err
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		done <- fmt.Errorf("service %s never appeared in cluster %s", service, cluster)
	}()
	return done
}

func awaitScheduler(t *testing.T, ch <-chan error) {
	t.Helper()
	if err := <-ch; err != nil {
		t.Fatalf("playing the scheduler: %v", err)
	}
}

// workloadServices is the manifest of the lifecycle test: a public
// service, one with a secret reference, one with two tasks.
func workloadServices(secretARN, webImage string, apiCount int) []map[string]any {
	return []map[string]any{
		{"name": "web", "image": webImage, "cpu": 256, "memory": 512, "port": 80, "public": true, "health_check_path": "/health"},
		{"name": "api", "image": "public.ecr.aws/docker/library/httpd:2.4", "cpu": 512, "memory": 1024, "port": 8080, "desired_count": apiCount,
			"environment": map[string]string{"MODE": "staging"}, "secrets": map[string]string{"DB_PASSWORD": secretARN}},
		{"name": "worker", "image": "public.ecr.aws/docker/library/busybox:1.36", "cpu": 256, "memory": 512, "desired_count": 2},
	}
}

// TestContainersLifecycle is the workload chain: create-vpc → bootstrap-ecs
// → run-containers (dry run; a run that times out waiting, as one killed
// half-way; a run that completes) → what exists and how it is wired → a
// second run creates nothing → an image and a count change →
// destroy-containers (dry run, then twice) → destroy-ecs → destroy-vpc →
// verify-clean.
func TestContainersLifecycle(t *testing.T) {
	h.Reset(t)
	w := h.NewWorkspace(t)
	const env = "wl"
	a := newWorkloadAPIs(t)
	ctx := context.Background()
	sec, err := a.secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("wl/db-password"), SecretString: aws.String("s3cr3t-value")})
	must(t, err)
	secretARN := aws.ToString(sec.ARN)
	w.WriteEnv(t, env, workloadEnv("10.91.0.0/16", workloadServices(secretARN, "public.ecr.aws/nginx/nginx:1.27", 1)))

	// Without vpc.json and ecs.json there is nothing to run on.
	w.MustRun(t, 2, "run-containers", "--env", env)
	w.MustRun(t, 0, "create-vpc", "--env", env)
	w.MustRun(t, 2, "run-containers", "--env", env)
	w.MustRun(t, 0, "bootstrap-ecs", "--env", env)
	var vpc artifact.VPC
	w.ReadArtifact(t, env, artifact.KindVPC, &vpc)
	var cl artifact.ECS
	w.ReadArtifact(t, env, artifact.KindECS, &cl)

	// Dry run: a plan, nothing created, no containers.json.
	r := w.MustRun(t, 0, "run-containers", "--env", env, "--dry-run")
	if !strings.Contains(r.Stdout, "would create") {
		t.Fatalf("dry run printed no plan:\n%s", r.Stdout)
	}
	if inv := workloadOf(t, a, env, cl.ClusterName); !inv.empty() {
		t.Fatalf("dry run created: %v", inv.count())
	}
	containersJSON := artifact.Path(w.ArtifactsDir(env), artifact.KindContainers)
	if _, err := os.Stat(containersJSON); !os.IsNotExist(err) {
		t.Fatal("dry run wrote containers.json")
	}

	// First run: everything is created, then worker's second task never
	// comes (nobody plays the scheduler yet): exit 4, no containers.json, as
	// a run killed half-way.
	w.MustRun(t, 4, "run-containers", "--env", env, "--stable-wait", "2s")
	if _, err := os.Stat(containersJSON); !os.IsNotExist(err) {
		t.Fatal("a run that timed out wrote containers.json")
	}
	// The scheduler places worker's second task; started again, the run
	// completes without creating anything twice.
	awaitScheduler(t, playScheduler(a, cl.ClusterName, "worker", 2))
	r = w.MustRun(t, 0, "run-containers", "--env", env)
	noCreated(t, r)
	inv := workloadOf(t, a, env, cl.ClusterName)
	want := map[string]int{"services": 3, "task definitions": 3, "log groups": 3, "load balancers": 1, "target groups": 1, "security groups": 2}
	for k, n := range want {
		if inv.count()[k] != n {
			t.Errorf("%s: %d, want %d", k, inv.count()[k], n)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	var c artifact.Containers
	w.ReadArtifact(t, env, artifact.KindContainers, &c)
	if c.Env != env || c.Account != e2etest.Account || c.Region != e2etest.Region || c.RunID == "" || c.ClusterName != cl.ClusterName {
		t.Fatalf("containers.json header: %+v", c.Header)
	}
	if c.LoadBalancerARN != inv.LoadBalancers[0] || c.LoadBalancerDNSName == "" || c.ListenerARN == "" ||
		c.LoadBalancerSecurityGroupID != inv.SecurityGroups[env+"-public-lb"] || c.ServicesSecurityGroupID != inv.SecurityGroups[env+"-services"] {
		t.Fatalf("containers.json load balancer: %+v", c)
	}
	byName := map[string]artifact.ContainerService{}
	for _, s := range c.Services {
		byName[s.Name] = s
		if s.ServiceARN != aws.ToString(inv.Services[s.Name].ServiceArn) || s.LogGroup != "/stagehand/"+env+"/"+s.Name ||
			!strings.HasSuffix(s.TaskDefinitionARN, ":task-definition/"+env+"-"+s.Name+":1") {
			t.Errorf("containers.json service %+v", s)
		}
	}
	web := byName["web"]
	if len(byName) != 3 || web.TargetGroupARN != inv.TargetGroups[0] || web.ListenerRuleARN == "" ||
		web.URL != "http://"+c.LoadBalancerDNSName+"/web/" || byName["api"].URL != "" || byName["worker"].TargetGroupARN != "" {
		t.Fatalf("containers.json services: %+v", c.Services)
	}
	if raw, err := os.ReadFile(containersJSON); err != nil || strings.Contains(string(raw), "s3cr3t") {
		t.Fatalf("containers.json unreadable or holds the secret's value: %v", err)
	}

	// Log groups: the environment's retention.
	for name, days := range inv.LogGroups {
		if days != 7 {
			t.Errorf("log group %s retention %d, want 7", name, days)
		}
	}

	// Task definitions: awsvpc, EC2, the task size, the execution role, logs, port, secrets by reference.
	td := func(arn string) *ecstypes.TaskDefinition {
		out, err := a.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: &arn})
		must(t, err)
		return out.TaskDefinition
	}
	for _, s := range c.Services {
		d := td(s.TaskDefinitionARN)
		cd := d.ContainerDefinitions[0]
		lc := cd.LogConfiguration
		if d.NetworkMode != ecstypes.NetworkModeAwsvpc || len(d.RequiresCompatibilities) != 1 || d.RequiresCompatibilities[0] != ecstypes.CompatibilityEc2 ||
			aws.ToString(d.ExecutionRoleArn) != cl.ExecutionRoleARN || aws.ToString(cd.Name) != s.Name ||
			lc == nil || lc.LogDriver != ecstypes.LogDriverAwslogs || lc.Options["awslogs-group"] != s.LogGroup || lc.Options["awslogs-region"] != e2etest.Region {
			t.Errorf("task definition %s: %+v", s.TaskDefinitionARN, d)
		}
	}
	api := td(byName["api"].TaskDefinitionARN)
	apiC := api.ContainerDefinitions[0]
	if aws.ToString(api.Cpu) != "512" || aws.ToString(api.Memory) != "1024" || len(apiC.PortMappings) != 1 || aws.ToInt32(apiC.PortMappings[0].ContainerPort) != 8080 ||
		len(apiC.Secrets) != 1 || aws.ToString(apiC.Secrets[0].Name) != "DB_PASSWORD" || aws.ToString(apiC.Secrets[0].ValueFrom) != secretARN ||
		len(apiC.Environment) != 1 || aws.ToString(apiC.Environment[0].Name) != "MODE" {
		t.Errorf("api task definition: %+v / %+v", api, apiC)
	}
	if wc := td(byName["worker"].TaskDefinitionARN).ContainerDefinitions[0]; len(wc.PortMappings) != 0 || len(wc.Secrets) != 0 {
		t.Errorf("worker container: %+v", wc)
	}

	// Services: tagged, counts, private subnets, security groups, the target group of the public one.
	for name, wantCount := range map[string]int32{"web": 1, "api": 1, "worker": 2} {
		s := inv.Services[name]
		st := tags.FromECS(s.Tags)
		nc := s.NetworkConfiguration.AwsvpcConfiguration
		if st[tags.Step] != "run-containers" || st[tags.Run] == "" || st[tags.Env] != env || s.DesiredCount != wantCount || s.RunningCount != wantCount ||
			aws.ToString(s.TaskDefinition) != byName[name].TaskDefinitionARN ||
			!sameStrings(nc.Subnets, vpc.PrivateSubnetIDs) || nc.AssignPublicIp != ecstypes.AssignPublicIpDisabled {
			t.Errorf("service %s: tags %v, %d/%d running, %s, network %+v", name, st, s.RunningCount, s.DesiredCount, aws.ToString(s.TaskDefinition), nc)
		}
		wantSGs := []string{vpc.BaseSecurityGroupID}
		if name == "web" {
			wantSGs = append(wantSGs, c.ServicesSecurityGroupID)
		}
		if !sameStrings(nc.SecurityGroups, wantSGs) {
			t.Errorf("service %s security groups %v, want %v", name, nc.SecurityGroups, wantSGs)
		}
	}
	if lbs := inv.Services["web"].LoadBalancers; len(lbs) != 1 || aws.ToString(lbs[0].TargetGroupArn) != web.TargetGroupARN ||
		aws.ToString(lbs[0].ContainerName) != "web" || aws.ToInt32(lbs[0].ContainerPort) != 80 {
		t.Errorf("web load balancers %+v", lbs)
	}
	if len(inv.Services["api"].LoadBalancers)+len(inv.Services["worker"].LoadBalancers) != 0 {
		t.Errorf("private services behind the load balancer")
	}

	// Load balancer: internet-facing ALB in the public subnets with its own security group.
	lbs, err := a.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{c.LoadBalancerARN}})
	must(t, err)
	lb := lbs.LoadBalancers[0]
	var lbSubnets []string
	for _, z := range lb.AvailabilityZones {
		lbSubnets = append(lbSubnets, aws.ToString(z.SubnetId))
	}
	if aws.ToString(lb.LoadBalancerName) != env+"-public" || lb.Scheme != elbtypes.LoadBalancerSchemeEnumInternetFacing || lb.Type != elbtypes.LoadBalancerTypeEnumApplication ||
		!sameStrings(lbSubnets, vpc.PublicSubnetIDs) || !sameStrings(lb.SecurityGroups, []string{c.LoadBalancerSecurityGroupID}) || aws.ToString(lb.DNSName) != c.LoadBalancerDNSName {
		t.Errorf("load balancer %+v", lb)
	}
	// The load balancer's group: HTTP from anywhere; the services' group: the load balancer only, on web's port.
	if got := ingress(t, a, c.LoadBalancerSecurityGroupID); strings.Join(got, ";") != "tcp 80-80 0.0.0.0/0" {
		t.Errorf("load balancer security group ingress %v", got)
	}
	if got := ingress(t, a, c.ServicesSecurityGroupID); strings.Join(got, ";") != "tcp 80-80 "+c.LoadBalancerSecurityGroupID {
		t.Errorf("services security group ingress %v", got)
	}
	// Listener on 80 answering 404 by default; one rule /web, /web/* -> web's target group.
	ls, err := a.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: &c.LoadBalancerARN})
	must(t, err)
	if len(ls.Listeners) != 1 || aws.ToInt32(ls.Listeners[0].Port) != 80 || ls.Listeners[0].Protocol != elbtypes.ProtocolEnumHttp ||
		ls.Listeners[0].DefaultActions[0].Type != elbtypes.ActionTypeEnumFixedResponse || aws.ToString(ls.Listeners[0].ListenerArn) != c.ListenerARN {
		t.Fatalf("listeners %+v", ls.Listeners)
	}
	rules, err := a.elb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: &c.ListenerARN})
	must(t, err)
	var custom []elbtypes.Rule
	for _, r := range rules.Rules {
		if !aws.ToBool(r.IsDefault) {
			custom = append(custom, r)
		}
	}
	if len(custom) != 1 || aws.ToString(custom[0].RuleArn) != web.ListenerRuleARN || aws.ToString(custom[0].Actions[0].TargetGroupArn) != web.TargetGroupARN ||
		custom[0].Conditions[0].PathPatternConfig == nil || !sameStrings(custom[0].Conditions[0].PathPatternConfig.Values, []string{"/web", "/web/*"}) {
		t.Errorf("listener rules %+v", custom)
	}
	tgs, err := a.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{web.TargetGroupARN}})
	must(t, err)
	if tg := tgs.TargetGroups[0]; tg.TargetType != elbtypes.TargetTypeEnumIp || aws.ToString(tg.VpcId) != vpc.VPCID ||
		aws.ToString(tg.HealthCheckPath) != "/health" || aws.ToString(tg.TargetGroupName) != env+"-web" {
		t.Errorf("target group %+v", tg)
	}

	// Second run: nothing new, the same revisions.
	r = w.MustRun(t, 0, "run-containers", "--env", env)
	noCreated(t, r)
	again := workloadOf(t, a, env, cl.ClusterName)
	for k, n := range want {
		if again.count()[k] != n {
			t.Errorf("after the second run %s: %d, want %d", k, again.count()[k], n)
		}
	}
	if strings.Join(again.TaskDefs, ",") != strings.Join(inv.TaskDefs, ",") {
		t.Errorf("second run registered revisions: %v, was %v", again.TaskDefs, inv.TaskDefs)
	}
	// The circuit breaker with rollback and the cluster's strategy. (The local
	// endpoint keeps both only from an UpdateService, so they are checked here.)
	for name, s := range again.Services {
		dc := s.DeploymentConfiguration
		if dc == nil || dc.DeploymentCircuitBreaker == nil || !dc.DeploymentCircuitBreaker.Enable || !dc.DeploymentCircuitBreaker.Rollback ||
			len(s.CapacityProviderStrategy) != 1 || aws.ToString(s.CapacityProviderStrategy[0].CapacityProvider) != cl.DefaultStrategy[0].CapacityProvider {
			t.Errorf("service %s: deployment configuration %+v, strategy %+v", name, dc, s.CapacityProviderStrategy)
		}
	}

	// A new image for web and a new count for api: one new revision, two updated services.
	w.WriteEnv(t, env, workloadEnv("10.91.0.0/16", workloadServices(secretARN, "public.ecr.aws/nginx/nginx:1.28", 3)))
	r = w.MustRun(t, 0, "run-containers", "--env", env)
	noCreated(t, r)
	var c2 artifact.Containers
	w.ReadArtifact(t, env, artifact.KindContainers, &c2)
	after := workloadOf(t, a, env, cl.ClusterName)
	newWeb := ""
	for _, s := range c2.Services {
		switch s.Name {
		case "web":
			newWeb = s.TaskDefinitionARN
		default:
			if s.TaskDefinitionARN != byName[s.Name].TaskDefinitionARN {
				t.Errorf("%s got a new revision %s without a change", s.Name, s.TaskDefinitionARN)
			}
		}
	}
	if !strings.HasSuffix(newWeb, ":task-definition/"+env+"-web:2") || aws.ToString(after.Services["web"].TaskDefinition) != newWeb {
		t.Errorf("web runs %s, artifact says %s, want revision 2", aws.ToString(after.Services["web"].TaskDefinition), newWeb)
	}
	if img := aws.ToString(td(newWeb).ContainerDefinitions[0].Image); img != "public.ecr.aws/nginx/nginx:1.28" {
		t.Errorf("web revision 2 image %s", img)
	}
	if after.Services["api"].DesiredCount != 3 {
		t.Errorf("api desired count %d, want 3", after.Services["api"].DesiredCount)
	}
	if len(after.TaskDefs) != 4 || after.count()["load balancers"] != 1 || after.count()["target groups"] != 1 || after.count()["services"] != 3 {
		t.Errorf("after the change: %v, revisions %v", after.count(), after.TaskDefs)
	}
	if !c2.CreatedAt.Equal(c.CreatedAt) || c2.LoadBalancerARN != c.LoadBalancerARN {
		t.Errorf("containers.json lost its creation time or load balancer: %+v", c2.Header)
	}

	// verify-clean sees the workload's kinds.
	w.MustRun(t, 5, "verify-clean", "--env", env)
	var rep struct {
		Resources []json_resource `json:"resources"`
	}
	w.ReadArtifact(t, env, "verify-clean", &rep)
	left := map[string]int{}
	for _, res := range rep.Resources {
		left[res.Kind]++
	}
	for kind, n := range map[string]int{"ecs service": 3, "task definition": 4, "load balancer": 1, "target group": 1, "log group": 3} {
		if left[kind] != n {
			t.Errorf("verify-clean lists %d %s, want %d (all: %v)", left[kind], kind, n, left)
		}
	}

	// Destroy: a dry run lists and changes nothing; without --yes it refuses.
	r = w.MustRun(t, 0, "destroy-containers", "--env", env, "--dry-run")
	if !strings.Contains(r.Stdout, "would delete") || !strings.Contains(r.Stdout, c.LoadBalancerARN) {
		t.Fatalf("destroy dry run printed no plan:\n%s", r.Stdout)
	}
	if workloadOf(t, a, env, cl.ClusterName).count()["services"] != 3 {
		t.Fatal("destroy dry run deleted services")
	}
	w.MustRun(t, 3, "destroy-containers", "--env", env)
	w.MustRun(t, 0, "destroy-containers", "--env", env, "--yes")
	if gone := workloadOf(t, a, env, cl.ClusterName); !gone.empty() {
		t.Fatalf("after destroy-containers: %v", gone.count())
	}
	for _, arn := range append([]string{newWeb}, inv.TaskDefs...) {
		if d := td(arn); d.Status != ecstypes.TaskDefinitionStatusInactive {
			t.Errorf("task definition %s is %s", arn, d.Status)
		}
	}
	if _, err := os.Stat(containersJSON); !os.IsNotExist(err) {
		t.Error("containers.json not removed")
	}
	// The cluster and network are untouched.
	if networkCounts(t, a.ec2, env)["sg"] != 1 {
		t.Errorf("destroy-containers touched the base security group")
	}
	// Again: nothing left to do.
	w.MustRun(t, 0, "destroy-containers", "--env", env, "--yes")

	w.MustRun(t, 0, "destroy-ecs", "--env", env, "--yes")
	w.MustRun(t, 0, "destroy-vpc", "--env", env, "--yes")
	w.MustRun(t, 0, "verify-clean", "--env", env)
}

// TestDestroyContainersWithoutArtifact: with containers.json lost,
// destroy-containers finds what run-containers made by its tags, and
// leaves alone what another step (Jenkins) or another environment made.
func TestDestroyContainersWithoutArtifact(t *testing.T) {
	h.Reset(t)
	w := h.NewWorkspace(t)
	const env, other = "wx", "wy"
	a := newWorkloadAPIs(t)
	ctx := context.Background()
	w.WriteEnv(t, env, workloadEnv("10.92.0.0/16", []map[string]any{
		{"name": "web", "image": "nginx:1.27", "cpu": 256, "memory": 512, "port": 80, "public": true},
		{"name": "api", "image": "httpd:2.4", "cpu": 256, "memory": 512, "port": 8080, "public": true},
	}))
	w.WriteEnv(t, other, workloadEnv("10.93.0.0/16", []map[string]any{
		{"name": "web", "image": "nginx:1.27", "cpu": 256, "memory": 512, "port": 80, "public": true},
	}))
	for _, e := range []string{env, other} {
		w.MustRun(t, 0, "create-vpc", "--env", e)
		w.MustRun(t, 0, "bootstrap-ecs", "--env", e)
		w.MustRun(t, 0, "run-containers", "--env", e)
	}
	var cl artifact.ECS
	w.ReadArtifact(t, env, artifact.KindECS, &cl)
	var vpc artifact.VPC
	w.ReadArtifact(t, env, artifact.KindVPC, &vpc)

	// What provision-jenkins would have made in the same environment: a
	// log group, a task definition and a service, tagged with its step.
	jt := tags.Set{Env: env, Step: "provision-jenkins", Run: "r1"}
	_, err := a.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/stagehand/" + env + "/jenkins"), Tags: jt.Map("jenkins")})
	must(t, err)
	jtd, err := a.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(env + "-jenkins"), NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("1024"), Memory: aws.String("2048"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("jenkins"), Image: aws.String("jenkins/jenkins:lts-jdk17")}},
		Tags:                 tags.ECS(jt.Map(env + "-jenkins")),
	})
	must(t, err)
	_, err = a.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: &cl.ClusterName, ServiceName: aws.String("jenkins"), TaskDefinition: jtd.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1),
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: cl.SubnetIDs, SecurityGroups: cl.SecurityGroupIDs}},
		Tags:                 tags.ECS(jt.Map("jenkins")),
	})
	must(t, err)
	before := workloadOf(t, a, other, other)

	must(t, os.Remove(artifact.Path(w.ArtifactsDir(env), artifact.KindContainers)))
	w.MustRun(t, 0, "destroy-containers", "--env", env, "--yes")

	inv := workloadOf(t, a, env, cl.ClusterName)
	if len(inv.Services) != 1 || inv.Services["jenkins"].ServiceName == nil || len(inv.TaskDefs) != 1 || inv.TaskDefs[0] != aws.ToString(jtd.TaskDefinition.TaskDefinitionArn) ||
		len(inv.LogGroups) != 1 || !hasKey(inv.LogGroups, "/stagehand/"+env+"/jenkins") ||
		len(inv.LoadBalancers)+len(inv.TargetGroups)+len(inv.SecurityGroups) != 0 {
		t.Fatalf("after destroy-containers without containers.json: services %v, task definitions %v, log groups %v, %v", keys(inv.Services), inv.TaskDefs, inv.LogGroups, inv.count())
	}
	after := workloadOf(t, a, other, other)
	for k, n := range before.count() {
		if after.count()[k] != n {
			t.Errorf("%s's %s went from %d to %d", other, k, n, after.count()[k])
		}
	}
	if n := networkCounts(t, a.ec2, env)["sg"]; n != 1 {
		t.Errorf("%d security groups of %s left, want the base one", n, env)
	}
	// The base security group is free again: nothing of ours holds it.
	_, err = a.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{vpc.BaseSecurityGroupID}})
	must(t, err)
}

// TestRunContainersBadManifest: a manifest with errors is exit 2 before any
// change, naming the service and the field, and never showing a value that
// should have been a secret's ARN.
func TestRunContainersBadManifest(t *testing.T) {
	h.Reset(t)
	w := h.NewWorkspace(t)
	const env = "wz"
	a := newWorkloadAPIs(t)
	w.WriteEnv(t, env, workloadEnv("10.94.0.0/16", []map[string]any{
		{"name": "web", "image": "nginx:1.27", "cpu": 256, "memory": 512, "port": 80, "public": true},
	}))
	w.MustRun(t, 0, "create-vpc", "--env", env)
	w.MustRun(t, 0, "bootstrap-ecs", "--env", env)
	var cl artifact.ECS
	w.ReadArtifact(t, env, artifact.KindECS, &cl)

	cases := map[string]struct {
		services []map[string]any
		want     []string
	}{
		"memory too small": {[]map[string]any{
			{"name": "web", "image": "nginx", "cpu": 256, "memory": 512, "port": 80, "public": true},
			{"name": "api", "image": "httpd", "cpu": 1024, "memory": 256},
		}, []string{`services[1] "api"`, `field "memory"`, "too small for cpu 1024"}},
		"duplicate": {[]map[string]any{
			{"name": "web", "image": "nginx", "cpu": 256, "memory": 512},
			{"name": "web", "image": "nginx", "cpu": 256, "memory": 512},
		}, []string{`services[1] "web"`, `field "name"`, "twice"}},
		"secret value": {[]map[string]any{
			{"name": "web", "image": "nginx", "cpu": 256, "memory": 512, "secrets": map[string]string{"DB_PASSWORD": "hunter2-plain"}},
		}, []string{`services[0] "web"`, `field "secrets.DB_PASSWORD"`, "not the ARN"}},
		"public without port": {[]map[string]any{
			{"name": "web", "image": "nginx", "cpu": 256, "memory": 512, "public": true},
		}, []string{`services[0] "web"`, `field "port"`}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w.WriteEnv(t, env, workloadEnv("10.94.0.0/16", tc.services))
			r := w.MustRun(t, 2, "run-containers", "--env", env)
			for _, s := range append(tc.want, env+".json") {
				if !strings.Contains(r.Stderr, s) {
					t.Errorf("error does not say %q:\n%s", s, r.Stderr)
				}
			}
			if strings.Contains(r.Stderr+r.Stdout, "hunter2") {
				t.Errorf("the secret's value was printed")
			}
			if inv := workloadOf(t, a, env, cl.ClusterName); !inv.empty() {
				t.Fatalf("a rejected manifest created %v", inv.count())
			}
			if _, err := os.Stat(filepath.Join(w.ArtifactsDir(env), "containers.json")); !os.IsNotExist(err) {
				t.Fatal("a rejected manifest wrote containers.json")
			}
		})
	}
}

// ingress sums up a security group's ingress rules as "proto from-to source".
func ingress(t *testing.T, a workloadAPIs, id string) []string {
	t.Helper()
	out, err := a.ec2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	must(t, err)
	var rules []string
	for _, p := range out.SecurityGroups[0].IpPermissions {
		src := func(s string) {
			rules = append(rules, fmt.Sprintf("%s %d-%d %s", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort), s))
		}
		for _, r := range p.IpRanges {
			src(aws.ToString(r.CidrIp))
		}
		for _, g := range p.UserIdGroupPairs {
			src(aws.ToString(g.GroupId))
		}
	}
	sort.Strings(rules)
	return rules
}

func sameStrings(a, b []string) bool {
	x, y := append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	return strings.Join(x, ",") == strings.Join(y, ",")
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
