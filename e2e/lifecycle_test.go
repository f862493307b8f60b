package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/stagehand/stagehand/e2e/e2etest"
	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/jenkinsfile"
)

// The whole lifecycle, run the way the Jenkins jobs run it: the sh commands
// recorded from pipelines/*.Jenkinsfile, group after group, side by side
// where the job runs them side by side, against the local endpoint.

type command struct {
	bin        string
	args       []string
	statusOnly bool // sh(returnStatus: true): the job goes on whatever the exit
}

// jobCommands returns the step commands of a recorded job in groups.
func jobCommands(p *jenkinsfile.Pipeline) [][]command {
	cmds := func(steps []jenkinsfile.Step) []command {
		var out []command
		for _, s := range steps {
			if s.Name != "sh" || !strings.HasPrefix(s.Script, "bin/") {
				continue // make build: the harness built the binaries already
			}
			w := strings.Fields(s.Script)
			out = append(out, command{bin: strings.TrimPrefix(w[0], "bin/"), args: w[1:], statusOnly: s.Args["returnStatus"] == true})
		}
		return out
	}
	var groups [][]command
	var walk func([]jenkinsfile.Stage)
	walk = func(ss []jenkinsfile.Stage) {
		for _, s := range ss {
			if len(s.Parallel) > 0 {
				var g []command
				for _, b := range s.Parallel {
					g = append(g, cmds(b.Steps)...)
				}
				groups = append(groups, g)
				continue
			}
			for _, c := range cmds(s.Steps) {
				groups = append(groups, []command{c})
			}
			walk(s.Stages)
		}
	}
	walk(p.Stages)
	return groups
}

// runJob runs a lifecycle job's commands in w and fails the test at the
// first group with a failed command, as Jenkins would fail the build.
func runJob(t *testing.T, w *e2etest.Workspace, job string, runID string) {
	t.Helper()
	p := record(t, filepath.Join(h.RepoRoot, "pipelines", job+".Jenkinsfile"))
	jw := *w
	jw.Vars = append(append([]string{}, w.Vars...), "STAGEHAND_RUN_ID="+runID)
	for _, g := range jobCommands(p) {
		results := make([]e2etest.Result, len(g))
		var wg sync.WaitGroup
		for i, c := range g {
			wg.Add(1)
			go func(i int, c command) {
				defer wg.Done()
				results[i] = jw.Run(t, c.bin, c.args...)
			}(i, c)
		}
		wg.Wait()
		for i, c := range g {
			if r := results[i]; r.Code != 0 && !c.statusOnly {
				t.Fatalf("job %s: %s %s exited %d\nstdout:\n%s\nstderr (tail):\n%s", job, c.bin, strings.Join(c.args, " "), r.Code, r.Stdout, tailString(r.Stderr, 3000))
			}
		}
	}
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// lifecycleEnv is the "staging" environment the jobs default to, on the
// local endpoint: EC2 capacity scaled from zero, three services, Jenkins
// without HTTP configuration (the endpoint runs no containers).
func lifecycleEnv() map[string]any {
	env := e2etest.Env("10.80.0.0/16")
	env["ecs"] = map[string]any{"capacity": "ec2", "min_size": 0, "desired_capacity": 0, "max_size": 2}
	env["jenkins"] = map[string]any{"configure": false, "allowed_cidrs": []string{"203.0.113.0/24"}}
	env["services"] = []map[string]any{
		{"name": "web", "image": "public.ecr.aws/nginx/nginx:1.27", "cpu": 256, "memory": 512, "port": 80, "desired_count": 1, "health_check_path": "/", "public": true},
		{"name": "api", "image": "public.ecr.aws/docker/library/httpd:2.4", "cpu": 256, "memory": 512, "port": 8080, "desired_count": 1},
		{"name": "worker", "image": "public.ecr.aws/docker/library/busybox:1.36", "cpu": 256, "memory": 512, "desired_count": 1},
	}
	return env
}

// artifacts reads every create step's artifact and checks its header.
func checkArtifacts(t *testing.T, w *e2etest.Workspace, runID string) (vpc artifact.VPC, ecs artifact.ECS) {
	t.Helper()
	w.ReadArtifact(t, "staging", artifact.KindVPC, &vpc)
	w.ReadArtifact(t, "staging", artifact.KindECS, &ecs)
	var jenkins, containers map[string]any
	w.ReadArtifact(t, "staging", artifact.KindJenkins, &jenkins)
	w.ReadArtifact(t, "staging", artifact.KindContainers, &containers)
	for kind, h := range map[string]map[string]any{
		"vpc":        {"env": vpc.Env, "account": vpc.Account, "run": vpc.RunID, "schema": float64(vpc.Schema)},
		"ecs":        {"env": ecs.Env, "account": ecs.Account, "run": ecs.RunID, "schema": float64(ecs.Schema)},
		"jenkins":    {"env": jenkins["env"], "account": jenkins["account"], "run": jenkins["run_id"], "schema": jenkins["schema"]},
		"containers": {"env": containers["env"], "account": containers["account"], "run": containers["run_id"], "schema": containers["schema"]},
	} {
		if h["env"] != "staging" || h["account"] != e2etest.Account || h["run"] != runID || h["schema"] != float64(artifact.SchemaVersion) {
			t.Errorf("%s.json header %v, want env staging, account %s, run %s", kind, h, e2etest.Account, runID)
		}
	}
	if vpc.VPCID == "" || ecs.ClusterName == "" || ecs.VPCID != vpc.VPCID {
		t.Errorf("artifacts not wired: vpc %s, ecs cluster %q in vpc %s", vpc.VPCID, ecs.ClusterName, ecs.VPCID)
	}
	return vpc, ecs
}

func verifyClean(t *testing.T, w *e2etest.Workspace) {
	t.Helper()
	w.MustRun(t, 0, "verify-clean", "--env", "staging")
	for _, kind := range []string{artifact.KindVPC, artifact.KindECS, artifact.KindJenkins, artifact.KindContainers} {
		if _, err := os.Stat(artifact.Path(w.ArtifactsDir("staging"), kind)); !os.IsNotExist(err) {
			t.Errorf("%s.json left after the destroy", kind)
		}
	}
}

func TestLifecycleFridayMonday(t *testing.T) {
	jenkinsfile.RequireGroovy(t)
	h.Reset(t)
	w := h.NewWorkspace(t)
	w.WriteEnv(t, "staging", lifecycleEnv())
	api := ec2.NewFromConfig(h.AWS(t))

	// Create, as the stage job does, and check what exists.
	runJob(t, w, "stage", "jenkins-stagehand-stage-1")
	first, _ := checkArtifacts(t, w, "jenkins-stagehand-stage-1")
	w.MustRun(t, 5, "verify-clean", "--env", "staging")
	checkInventoryCoversCreates(t, w)

	// Friday night.
	runJob(t, w, "friday-destroy", "jenkins-stagehand-friday-destroy-1")
	verifyClean(t, w)

	// Monday morning: from zero again.
	runJob(t, w, "monday-rebuild", "jenkins-stagehand-monday-rebuild-1")
	second, _ := checkArtifacts(t, w, "jenkins-stagehand-monday-rebuild-1")
	if second.VPCID == first.VPCID {
		t.Fatalf("Monday reused VPC %s: not rebuilt from scratch", first.VPCID)
	}
	if n := networkCounts(t, api, "staging")["vpc"]; n != 1 {
		t.Fatalf("%d VPCs after the rebuild, want 1", n)
	}

	// And the manual destroy job takes it back to zero.
	runJob(t, w, "destroy-stage", "jenkins-stagehand-destroy-stage-1")
	verifyClean(t, w)
}

func TestMondayCleansLeftoversOfAFailedFriday(t *testing.T) {
	jenkinsfile.RequireGroovy(t)
	h.Reset(t)
	w := h.NewWorkspace(t)
	w.WriteEnv(t, "staging", lifecycleEnv())
	api := ec2.NewFromConfig(h.AWS(t))

	runJob(t, w, "stage", "jenkins-stagehand-stage-7")
	old, oldECS := checkArtifacts(t, w, "jenkins-stagehand-stage-7")

	// A half-failed Friday: the services and Jenkins went, then the job died
	// before the cluster and network, and the artifacts were lost with the
	// agent's workspace.
	w.MustRun(t, 0, "destroy-containers", "--env", "staging", "--yes")
	w.MustRun(t, 0, "destroy-jenkins", "--env", "staging", "--yes")
	must(t, os.RemoveAll(w.ArtifactsDir("staging")))
	w.MustRun(t, 5, "verify-clean", "--env", "staging")

	runJob(t, w, "monday-rebuild", "jenkins-stagehand-monday-rebuild-8")
	fresh, freshECS := checkArtifacts(t, w, "jenkins-stagehand-monday-rebuild-8")
	if fresh.VPCID == old.VPCID || freshECS.ClusterARN == "" {
		t.Fatalf("Monday built on top of the leftovers (vpc %s, cluster %s)", old.VPCID, oldECS.ClusterName)
	}
	out, err := api.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{VpcIds: []string{old.VPCID}})
	if err == nil && len(out.Vpcs) > 0 {
		t.Fatalf("the leftover VPC %s still exists", old.VPCID)
	}
	runJob(t, w, "friday-destroy", "jenkins-stagehand-friday-destroy-9")
	verifyClean(t, w)
}

// checkInventoryCoversCreates holds verify-clean to listing every kind of
// resource that the create steps reported creating.
func checkInventoryCoversCreates(t *testing.T, w *e2etest.Workspace) {
	t.Helper()
	// Listeners and their rules are deleted with their load balancer and
	// cannot exist without it.
	goesWithParent := map[string]bool{"listener": true, "listener rule": true}
	created := map[string]bool{}
	for _, s := range []string{"create-vpc", "bootstrap-ecs", "provision-jenkins", "run-containers"} {
		data, err := os.ReadFile(filepath.Join(w.ArtifactsDir("staging"), "summary-"+s+".txt"))
		must(t, err)
		for _, line := range strings.Split(string(data), "\n") {
			cols := columnsRE.Split(strings.TrimSpace(line), -1)
			if len(cols) >= 3 && cols[0] == "created" && !goesWithParent[cols[1]] {
				created[cols[1]] = true
			}
		}
	}
	var rep struct {
		Resources []struct {
			Kind string `json:"kind"`
		} `json:"resources"`
	}
	w.ReadArtifact(t, "staging", "verify-clean", &rep)
	listed := map[string]bool{}
	for _, r := range rep.Resources {
		listed[r.Kind] = true
	}
	if len(created) < 10 {
		t.Fatalf("only %d kinds created? %v", len(created), created)
	}
	for kind := range created {
		if !listed[kind] {
			t.Errorf("verify-clean does not list %ss, which the create steps make", kind)
		}
	}
}

var columnsRE = regexp.MustCompile(`\s{2,}`)
