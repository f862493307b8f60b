package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/stagehand/stagehand/e2e/e2etest"
	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/jenkins"
	"github.com/stagehand/stagehand/shared/jenkins/jenkinstest"
	"github.com/stagehand/stagehand/shared/jenkinsfile"
	"github.com/stagehand/stagehand/shared/tags"
)

// adminSecret reads the admin password provision-jenkins stored, as the
// fake Jenkins' user database: the test plays the JCasC start-up that
// creates the admin user from the secret in a real container.
type adminSecret struct {
	api  *secretsmanager.Client
	name string
	mu   sync.Mutex
	pw   string
}

func (s *adminSecret) password() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pw == "" {
		out, err := s.api.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: &s.name})
		if err == nil {
			s.pw = aws.ToString(out.SecretString)
		}
	}
	return s.pw
}

func (s *adminSecret) accepts(user, password string) bool {
	pw := s.password()
	return user == "admin" && pw != "" && password == pw
}

func jenkinsEnv(jenkinsURL string, cron string) map[string]any {
	env := e2etest.Env("10.60.0.0/16")
	env["ecs"] = map[string]any{"capacity": "fargate"}
	env["jenkins"] = map[string]any{
		"url":             jenkinsURL,
		"allowed_cidrs":   []string{"127.0.0.1/32", "10.1.0.0/16"},
		"persistent_home": true,
		"jobs": []map[string]any{
			{"name": "converge", "repository": "https://git.example.com/platform/state.git", "cron": cron, "credentials_id": "git-ro"},
			{"name": "smoke", "repository": "https://git.example.com/platform/tests.git", "branch": "release", "script_path": "ci/smoke.Jenkinsfile"},
		},
	}
	return env
}

// jenkinsResources counts what provision-jenkins creates, by the
// environment's and the step's tags.
func jenkinsResources(t *testing.T, cfg aws.Config, env string) map[string]int {
	t.Helper()
	ctx := context.Background()
	c := map[string]int{}
	ours := func(m map[string]string) bool { return tags.Is(m, env) && m[tags.Step] == "provision-jenkins" }

	sm := secretsmanager.NewFromConfig(cfg)
	secrets, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	must(t, err)
	for _, s := range secrets.SecretList {
		if ours(tags.FromSecretsManager(s.Tags)) {
			c["secret"]++
		}
	}
	sgs, err := ec2.NewFromConfig(cfg).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: tags.EC2Filters(env, tags.Step, "provision-jenkins")})
	must(t, err)
	c["security group"] = len(sgs.SecurityGroups)

	lbapi := elb.NewFromConfig(cfg)
	lbs, err := lbapi.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	must(t, err)
	for _, l := range lbs.LoadBalancers {
		tg, err := lbapi.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{aws.ToString(l.LoadBalancerArn)}})
		must(t, err)
		if ours(tags.FromELB(tg.TagDescriptions[0].Tags)) {
			c["load balancer"]++
		}
	}
	tgs, err := lbapi.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	must(t, err)
	for _, g := range tgs.TargetGroups {
		tg, err := lbapi.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{aws.ToString(g.TargetGroupArn)}})
		must(t, err)
		if ours(tags.FromELB(tg.TagDescriptions[0].Tags)) {
			c["target group"]++
		}
	}

	fss, err := efs.NewFromConfig(cfg).DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{})
	must(t, err)
	for _, fs := range fss.FileSystems {
		if ours(tags.FromEFS(fs.Tags)) {
			c["file system"]++
			mts, err := efs.NewFromConfig(cfg).DescribeMountTargets(ctx, &efs.DescribeMountTargetsInput{FileSystemId: fs.FileSystemId})
			must(t, err)
			c["mount target"] += len(mts.MountTargets)
			aps, err := efs.NewFromConfig(cfg).DescribeAccessPoints(ctx, &efs.DescribeAccessPointsInput{FileSystemId: fs.FileSystemId})
			must(t, err)
			c["access point"] += len(aps.AccessPoints)
		}
	}

	ecsapi := ecs.NewFromConfig(cfg)
	tds, err := ecsapi.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(env + "-jenkins"), Status: ecstypes.TaskDefinitionStatusActive})
	must(t, err)
	c["task definition"] = len(tds.TaskDefinitionArns)
	svcs, err := ecsapi.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(env), Services: []string{"jenkins"}})
	if err == nil {
		for _, s := range svcs.Services {
			if aws.ToString(s.Status) == "ACTIVE" {
				c["service"]++
			}
		}
	}
	lgs, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/stagehand/" + env + "/jenkins")})
	must(t, err)
	c["log group"] = len(lgs.LogGroups)
	return c
}

// noSecretIn fails the test when the password appears in any of texts or
// in any file under dir.
func noSecretIn(t *testing.T, password, dir string, texts ...string) {
	t.Helper()
	if password == "" {
		t.Fatal("no password to look for")
	}
	for i, s := range texts {
		if strings.Contains(s, password) {
			t.Fatalf("the admin password appears in the output of run %d", i)
		}
	}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), password) {
			t.Errorf("the admin password appears in %s", path)
		}
		return nil
	})
	must(t, err)
}

func TestJenkinsLifecycle(t *testing.T) {
	h.Reset(t)
	cfg := h.AWS(t)
	ctx := context.Background()
	secret := &adminSecret{api: secretsmanager.NewFromConfig(cfg), name: "stagehand/jk/jenkins-admin"}
	fake := jenkinstest.NewServer(jenkinstest.Options{CSRF: true, StartingRequests: 1, Authenticate: secret.accepts})
	defer fake.Close()

	w := h.NewWorkspace(t)
	w.WriteEnv(t, "jk", jenkinsEnv(fake.URL, "H/15 * * * *"))
	var outputs []string
	run := func(want int, bin string, args ...string) e2etest.Result {
		r := w.MustRun(t, want, bin, append([]string{"--env", "jk"}, args...)...)
		outputs = append(outputs, r.Stdout, r.Stderr)
		return r
	}

	run(0, "create-vpc")
	run(0, "bootstrap-ecs")

	// A dry run creates nothing and contacts no Jenkins.
	run(0, "provision-jenkins", "--dry-run")
	for kind, n := range jenkinsResources(t, cfg, "jk") {
		if n != 0 {
			t.Fatalf("dry run created %d %s", n, kind)
		}
	}
	if len(fake.Requests()) != 0 || fileExists(filepath.Join(w.ArtifactsDir("jk"), "jenkins.json")) {
		t.Fatal("dry run contacted Jenkins or wrote jenkins.json")
	}

	// Jenkins does not come up in time: the step stops at its deadline
	// (exit 4) with the AWS side in place and on record in jenkins.json, no
	// job configured; the next run finishes the job without duplicates.
	fake.Restart(1 << 30)
	run(4, "provision-jenkins", "--timeout", "10s")
	var waiting artifact.Jenkins
	w.ReadArtifact(t, "jk", artifact.KindJenkins, &waiting)
	if waiting.Configured || len(waiting.Jobs) != 0 || waiting.ServiceARN == "" || waiting.AdminSecretARN == "" || len(fake.Jobs()) != 0 {
		t.Fatalf("after the timeout: jenkins.json %+v, %d jobs on Jenkins", waiting, len(fake.Jobs()))
	}
	fake.Restart(1)
	run(0, "provision-jenkins")
	want := map[string]int{"secret": 1, "security group": 3, "load balancer": 1, "target group": 1, "file system": 1,
		"mount target": 2, "access point": 1, "task definition": 1, "service": 1, "log group": 1}
	assertCounts(t, jenkinsResources(t, cfg, "jk"), want)

	var a artifact.Jenkins
	w.ReadArtifact(t, "jk", artifact.KindJenkins, &a)
	if a.URL != fake.URL || a.ServiceName != "jenkins" || a.ClusterName != "jk" || a.AdminUser != "admin" || !a.Configured ||
		strings.Join(a.Jobs, ",") != "converge,smoke" || a.FileSystemID == "" || a.AccessPointID == "" || len(a.MountTargetIDs) != 2 {
		t.Fatalf("jenkins.json: %+v", a)
	}
	sec, err := secretsmanager.NewFromConfig(cfg).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("stagehand/jk/jenkins-admin")})
	must(t, err)
	if aws.ToString(sec.ARN) != a.AdminSecretARN {
		t.Fatalf("secret %s, jenkins.json says %s", aws.ToString(sec.ARN), a.AdminSecretARN)
	}
	password := secret.password()

	// The task definition takes the password from the secret, by reference.
	ecsapi := ecs.NewFromConfig(cfg)
	td, err := ecsapi.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: &a.TaskDefinitionARN})
	must(t, err)
	c := td.TaskDefinition.ContainerDefinitions[0]
	if len(c.Secrets) != 1 || aws.ToString(c.Secrets[0].ValueFrom) != a.AdminSecretARN || aws.ToString(c.Secrets[0].Name) != "JENKINS_ADMIN_PASSWORD" {
		t.Fatalf("container secrets %+v, want JENKINS_ADMIN_PASSWORD from %s", c.Secrets, a.AdminSecretARN)
	}
	for _, kv := range c.Environment {
		if strings.Contains(aws.ToString(kv.Value), password) {
			t.Fatalf("environment variable %s holds the password", aws.ToString(kv.Name))
		}
	}
	if aws.ToString(c.Image) != "jenkins/jenkins:lts-jdk17" || aws.ToString(td.TaskDefinition.ExecutionRoleArn) == "" ||
		len(td.TaskDefinition.Volumes) != 1 || aws.ToString(td.TaskDefinition.Volumes[0].EfsVolumeConfiguration.FileSystemId) != a.FileSystemID {
		t.Fatalf("task definition: image %s, execution role %q, volumes %+v", aws.ToString(c.Image), aws.ToString(td.TaskDefinition.ExecutionRoleArn), td.TaskDefinition.Volumes)
	}

	// The service runs that revision behind the target group, in the task security group.
	svcs, err := ecsapi.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("jk"), Services: []string{"jenkins"}})
	must(t, err)
	svc := svcs.Services[0]
	if aws.ToString(svc.TaskDefinition) != a.TaskDefinitionARN || len(svc.LoadBalancers) != 1 || aws.ToString(svc.LoadBalancers[0].TargetGroupArn) != a.TargetGroupARN ||
		svc.NetworkConfiguration == nil || strings.Join(svc.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups, ",") != a.TaskSecurityGroupID {
		t.Fatalf("service: %+v", svc)
	}

	// The load balancer admits the allowed CIDRs on 80, the tasks only the load balancer on 8080.
	lbapi := elb.NewFromConfig(cfg)
	tgs, err := lbapi.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{a.TargetGroupARN}})
	must(t, err)
	if tg := tgs.TargetGroups[0]; aws.ToString(tg.HealthCheckPath) != "/login" || aws.ToInt32(tg.Port) != 8080 || tg.TargetType != "ip" {
		t.Fatalf("target group: %+v", tg)
	}
	ls, err := lbapi.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: &a.LoadBalancerARN})
	must(t, err)
	if len(ls.Listeners) != 1 || aws.ToInt32(ls.Listeners[0].Port) != 80 || aws.ToString(ls.Listeners[0].DefaultActions[0].TargetGroupArn) != a.TargetGroupARN {
		t.Fatalf("listeners: %+v", ls.Listeners)
	}
	assertIngress(t, cfg, a.LoadBalancerSecurityGroupID, []string{"tcp 80 127.0.0.1/32", "tcp 80 10.1.0.0/16"})
	assertIngress(t, cfg, a.TaskSecurityGroupID, []string{"tcp 8080 " + a.LoadBalancerSecurityGroupID})
	assertIngress(t, cfg, a.FileSystemSecurityGroupID, []string{"tcp 2049 " + a.TaskSecurityGroupID})

	// The jobs are on Jenkins as the environment describes them.
	jobs := fake.Jobs()
	converge, err := jenkins.ParsePipelineJob(jobs["converge"])
	must(t, err)
	smoke, err := jenkins.ParsePipelineJob(jobs["smoke"])
	must(t, err)
	if len(jobs) != 2 || converge.Cron != "H/15 * * * *" || converge.CredentialsID != "git-ro" || converge.Branch != "*/main" ||
		smoke.Branch != "*/release" || smoke.ScriptPath != "ci/smoke.Jenkinsfile" || smoke.Cron != "" {
		t.Fatalf("jobs: converge %+v, smoke %+v", converge, smoke)
	}

	// Again, with one job changed: the job is updated, nothing new is created.
	creates := fake.Count("POST", "/createItem")
	w.WriteEnv(t, "jk", jenkinsEnv(fake.URL, "H 3 * * *"))
	run(0, "provision-jenkins")
	assertCounts(t, jenkinsResources(t, cfg, "jk"), want)
	var again artifact.Jenkins
	w.ReadArtifact(t, "jk", artifact.KindJenkins, &again)
	if again.TaskDefinitionARN != a.TaskDefinitionARN || again.AdminSecretARN != a.AdminSecretARN || again.LoadBalancerARN != a.LoadBalancerARN || !again.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("second run changed jenkins.json: %+v", again)
	}
	if n := fake.Count("POST", "/createItem"); n != creates {
		t.Fatalf("second run created %d jobs", n-creates)
	}
	if fake.Count("POST", "/job/converge/config.xml") != 1 || fake.Count("POST", "/job/smoke/config.xml") != 0 {
		t.Fatalf("config updates: converge %d, smoke %d; want 1, 0", fake.Count("POST", "/job/converge/config.xml"), fake.Count("POST", "/job/smoke/config.xml"))
	}
	if j, _ := jenkins.ParsePipelineJob(fake.Jobs()["converge"]); j.Cron != "H 3 * * *" {
		t.Fatalf("converge cron %q after the update", j.Cron)
	}
	if p := secret.password(); p != password {
		t.Fatal("the password changed")
	}

	// Tear down in reverse order: nothing of the environment is left.
	run(0, "destroy-jenkins", "--yes")
	for kind, n := range jenkinsResources(t, cfg, "jk") {
		if n != 0 {
			t.Errorf("after destroy-jenkins: %d %s left", n, kind)
		}
	}
	if _, err := secretsmanager.NewFromConfig(cfg).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("stagehand/jk/jenkins-admin")}); !errors.Is(awserr.Translate(err), awserr.ErrNotFound) {
		t.Errorf("secret after destroy-jenkins: %v (want it deleted without recovery window)", err)
	}
	if fileExists(filepath.Join(w.ArtifactsDir("jk"), "jenkins.json")) {
		t.Error("jenkins.json is still there")
	}
	run(0, "destroy-jenkins", "--yes") // already gone is fine
	run(0, "destroy-ecs", "--yes")
	run(0, "destroy-vpc", "--yes")
	run(0, "verify-clean")
	noSecretIn(t, password, w.Dir, outputs...)
}

// A Jenkins that stays switched off (jenkins.configure false) is provisioned
// without being contacted, and the step says so; destroy works without
// jenkins.json.
func TestJenkinsNotConfigured(t *testing.T) {
	h.Reset(t)
	cfg := h.AWS(t)
	w := h.NewWorkspace(t)
	env := e2etest.Env("10.61.0.0/16")
	env["ecs"] = map[string]any{"capacity": "fargate"}
	env["jenkins"] = map[string]any{"configure": false, "jobs": []map[string]any{{"name": "x", "repository": "https://git.example.com/x.git"}}}
	w.WriteEnv(t, "off", env)

	w.MustRun(t, 0, "create-vpc", "--env", "off")
	w.MustRun(t, 0, "bootstrap-ecs", "--env", "off")
	r := w.MustRun(t, 0, "provision-jenkins", "--env", "off")
	if !strings.Contains(r.Stdout, "not configured") {
		t.Errorf("the summary does not say that Jenkins was not configured:\n%s", r.Stdout)
	}
	var a artifact.Jenkins
	w.ReadArtifact(t, "off", artifact.KindJenkins, &a)
	if a.Configured || len(a.Jobs) != 0 || !strings.HasPrefix(a.URL, "http://") || a.FileSystemID != "" {
		t.Fatalf("jenkins.json: %+v", a)
	}
	assertCounts(t, jenkinsResources(t, cfg, "off"), map[string]int{"secret": 1, "security group": 2, "load balancer": 1, "target group": 1,
		"task definition": 1, "service": 1, "log group": 1})
	assertIngress(t, cfg, a.LoadBalancerSecurityGroupID, nil)

	// destroy-jenkins finds everything by tags alone.
	must(t, os.Remove(filepath.Join(w.ArtifactsDir("off"), "jenkins.json")))
	w.MustRun(t, 0, "destroy-jenkins", "--env", "off", "--yes")
	for kind, n := range jenkinsResources(t, cfg, "off") {
		if n != 0 {
			t.Errorf("after destroy-jenkins: %d %s left", n, kind)
		}
	}
	w.MustRun(t, 0, "destroy-ecs", "--env", "off", "--yes")
	w.MustRun(t, 0, "destroy-vpc", "--env", "off", "--yes")
	w.MustRun(t, 0, "verify-clean", "--env", "off")
}

func assertCounts(t *testing.T, got, want map[string]int) {
	t.Helper()
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d, want %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok && n != 0 {
			t.Errorf("%s: %d, want 0", k, n)
		}
	}
}

// assertIngress checks a security group's ingress rules, each written
// "PROTO PORT SOURCE".
func assertIngress(t *testing.T, cfg aws.Config, groupID string, want []string) {
	t.Helper()
	out, err := ec2.NewFromConfig(cfg).DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{groupID}})
	must(t, err)
	var got []string
	for _, p := range out.SecurityGroups[0].IpPermissions {
		add := func(src string) {
			got = append(got, aws.ToString(p.IpProtocol)+" "+itoa32(p.FromPort)+" "+src)
		}
		for _, r := range p.IpRanges {
			add(aws.ToString(r.CidrIp))
		}
		for _, g := range p.UserIdGroupPairs {
			add(aws.ToString(g.GroupId))
		}
	}
	sort.Strings(got)
	want = append([]string(nil), want...)
	sort.Strings(want)
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("ingress of %s: %v, want %v", groupID, got, want)
	}
}

func itoa32(p *int32) string {
	if p == nil {
		return "-"
	}
	return strconv.Itoa(int(*p))
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// register-jobs against a fake Jenkins, with the repository's lifecycle
// Jenkinsfiles copied into the workspace (it runs from the repository
// root): jobs created once, left alone the second time, a changed cron
// updated; the cron of each job is the one its Jenkinsfile declares.
func TestRegisterJobs(t *testing.T) {
	const user, token = "ops", "11f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5"
	fake := jenkinstest.NewServer(jenkinstest.Options{User: user, Token: token, CSRF: true})
	defer fake.Close()
	w := h.NewWorkspace(t)
	files, err := filepath.Glob(filepath.Join(h.RepoRoot, "pipelines", "*.Jenkinsfile"))
	must(t, err)
	if len(files) == 0 {
		t.Fatal("no pipelines/*.Jenkinsfile in the repository")
	}
	must(t, os.MkdirAll(filepath.Join(w.Dir, "pipelines"), 0o755))
	for _, f := range files {
		data, err := os.ReadFile(f)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(w.Dir, "pipelines", filepath.Base(f)), data, 0o644))
	}
	w.Vars = []string{"JENKINS_URL=" + fake.URL, "JENKINS_USER=" + user, "JENKINS_API_TOKEN=" + token,
		"STAGEHAND_REPOSITORY=https://git.example.com/platform/stagehand.git"}
	var outputs []string
	run := func(args ...string) e2etest.Result {
		r := w.MustRun(t, 0, "register-jobs", append([]string{"--credentials-id", "git-ro"}, args...)...)
		outputs = append(outputs, r.Stdout, r.Stderr)
		return r
	}
	posts := func() int {
		n := 0
		for _, r := range fake.Requests() {
			if r.Method == "POST" {
				n++
			}
		}
		return n
	}
	// wantCron is the cron each Jenkinsfile declares, as Jenkins' own
	// reading of it (the groovy-based recorder) sees it when available.
	recorded := map[string]string{} // by Jenkinsfile content
	wantCron := func(file string) string {
		src, err := os.ReadFile(file)
		must(t, err)
		if c, ok := recorded[string(src)]; ok {
			return c
		}
		c := ""
		if jenkinsfile.Available() {
			if p := record(t, file); len(p.Triggers) > 0 {
				c = p.Triggers[0]
			}
		} else if m := regexp.MustCompile(`cron\('([^']*)'\)`).FindStringSubmatch(string(src)); m != nil {
			c = m[1]
		}
		recorded[string(src)] = c
		return c
	}
	checkJobs := func() {
		t.Helper()
		jobs := fake.Jobs()
		if len(jobs) != len(files) {
			t.Fatalf("%d jobs on Jenkins, want %d", len(jobs), len(files))
		}
		for _, f := range files {
			base := strings.TrimSuffix(filepath.Base(f), ".Jenkinsfile")
			j, err := jenkins.ParsePipelineJob(jobs["stagehand-"+base])
			must(t, err)
			local := filepath.Join(w.Dir, "pipelines", filepath.Base(f))
			if j.Cron != wantCron(local) || j.ScriptPath != "pipelines/"+filepath.Base(f) || j.Branch != "*/main" ||
				j.RepoURL != "https://git.example.com/platform/stagehand.git" || j.CredentialsID != "git-ro" {
				t.Errorf("job stagehand-%s: %+v (Jenkinsfile cron %q)", base, j, wantCron(local))
			}
		}
	}

	// A dry run against an empty Jenkins changes nothing.
	run("--dry-run")
	if len(fake.Jobs()) != 0 || posts() != 0 {
		t.Fatal("dry run changed Jenkins")
	}
	run()
	checkJobs()
	if j, _ := jenkins.ParsePipelineJob(fake.Jobs()["stagehand-friday-destroy"]); j.Cron == "" {
		t.Fatal("the Friday destroy has no timer")
	}
	if j, _ := jenkins.ParsePipelineJob(fake.Jobs()["stagehand-stage"]); j.Cron != "" {
		t.Fatalf("stagehand-stage has a timer %q", j.Cron)
	}

	// Second run: nothing to change, nothing sent.
	before := posts()
	run()
	if posts() != before {
		t.Fatalf("second run sent %d POSTs", posts()-before)
	}

	// A changed cron: the dry run shows it, changes nothing; the run updates that job only.
	friday := filepath.Join(w.Dir, "pipelines", "friday-destroy.Jenkinsfile")
	src, err := os.ReadFile(friday)
	must(t, err)
	old := wantCron(friday)
	changed := strings.Replace(string(src), "cron('"+old+"')", "cron('H 23 * * 5')", 1)
	if changed == string(src) {
		t.Fatalf("cron('%s') not found in %s", old, friday)
	}
	must(t, os.WriteFile(friday, []byte(changed), 0o644))
	r := run("--dry-run")
	if !strings.Contains(r.Stdout, "H 23 * * 5") || posts() != before {
		t.Fatalf("dry run: %d POSTs, plan:\n%s", posts()-before, r.Stdout)
	}
	run()
	if posts()-before != 1 || fake.Count("POST", "/job/stagehand-friday-destroy/config.xml") != 1 {
		t.Fatalf("update sent %d POSTs, want one to stagehand-friday-destroy", posts()-before)
	}
	checkJobs()
	for _, o := range outputs {
		if strings.Contains(o, token) {
			t.Fatal("the API token was printed")
		}
	}
}
