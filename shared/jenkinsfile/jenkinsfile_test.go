package jenkinsfile_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stagehand/stagehand/shared/jenkinsfile"
)

func record(t *testing.T, name string) (*jenkinsfile.Pipeline, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return jenkinsfile.Record(ctx, filepath.Join("testdata", name))
}

func TestRecordGood(t *testing.T) {
	jenkinsfile.RequireGroovy(t)
	t.Parallel()
	p, err := record(t, "good.Jenkinsfile")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("sections", func(t *testing.T) {
		want := []string{"agent", "options", "triggers", "parameters", "environment", "stages", "post"}
		if !reflect.DeepEqual(p.Sections, want) {
			t.Errorf("sections = %v, want %v", p.Sections, want)
		}
		if p.Agent.Type != "any" {
			t.Errorf("agent = %+v, want any", p.Agent)
		}
	})

	t.Run("options", func(t *testing.T) {
		for _, name := range []string{"timestamps", "disableConcurrentBuilds"} {
			if _, ok := p.Option(name); !ok {
				t.Errorf("option %s missing", name)
			}
		}
		timeout, _ := p.Option("timeout")
		if timeout.Args["time"] != 2.0 || timeout.Args["unit"] != "HOURS" {
			t.Errorf("timeout = %+v, want time 2, unit HOURS", timeout)
		}
		discarder, _ := p.Option("buildDiscarder")
		want := []any{map[string]any{"symbol": "logRotator", "args": map[string]any{"numToKeepStr": "30"}}}
		if !reflect.DeepEqual(discarder.Values, want) {
			t.Errorf("buildDiscarder = %+v, want logRotator(numToKeepStr: '30')", discarder)
		}
		lock, _ := p.Option("lock")
		if lock.Args["resource"] != "stagehand-staging" {
			t.Errorf("lock = %+v, want resource stagehand-staging (interpolated)", lock)
		}
		if _, ok := p.Option("retry"); ok {
			t.Error("option retry found, not in the file")
		}
	})

	t.Run("triggers", func(t *testing.T) {
		if want := []string{"H 22 * * 5"}; !reflect.DeepEqual(p.Triggers, want) {
			t.Errorf("triggers = %q, want %q", p.Triggers, want)
		}
	})

	t.Run("parameters", func(t *testing.T) {
		want := []jenkinsfile.Parameter{
			{Type: "string", Name: "ENV", Default: "staging", Description: "environment to rebuild", Line: 23},
			{Type: "booleanParam", Name: "DRY_RUN", Default: false, Description: "print, change nothing", Line: 24},
			{Type: "choice", Name: "LOG_FORMAT", Default: "text", Description: "log format", Choices: []string{"text", "json"}, Line: 25},
		}
		if !reflect.DeepEqual(p.Parameters, want) {
			t.Errorf("parameters =\n%+v\nwant\n%+v", p.Parameters, want)
		}
	})

	t.Run("environment", func(t *testing.T) {
		want := []jenkinsfile.EnvVar{
			{Name: "ARTIFACTS", Value: "artifacts/staging", Line: 29},
			{Name: "AWS", Value: "${AWS}", Credentials: "aws-staging", Line: 30},
			{Name: "REPORT", Value: "artifacts/staging/report.txt", Line: 31},
		}
		if !reflect.DeepEqual(p.Environment, want) {
			t.Errorf("environment =\n%+v\nwant\n%+v", p.Environment, want)
		}
	})

	t.Run("stages", func(t *testing.T) {
		want := [][]string{{"Checkout"}, {"Copy artifacts"}, {"VPC", "Registry"}, {"Provision"}, {"Report"}}
		if got := p.StageOrder(); !reflect.DeepEqual(got, want) {
			t.Errorf("stage order = %q, want %q", got, want)
		}
		provision, ok := p.FindStage("Provision")
		if !ok || len(provision.Stages) != 1 || provision.Stages[0].Name != "ECS" {
			t.Fatalf("Provision = %+v, want nested stage ECS", provision)
		}
		if len(provision.When) != 1 || provision.When[0].Name != "allOf" || len(provision.When[0].Children) != 3 {
			t.Fatalf("Provision when = %+v, want allOf with 3 conditions", provision.When)
		}
		if expr := provision.When[0].Children[0]; expr.Name != "expression" || expr.Value != true {
			t.Errorf("when expression = %+v, want true with the defaults", expr)
		}
	})

	t.Run("sh", func(t *testing.T) {
		want := []string{
			"make build",
			"ls artifacts/staging",
			"bin/create-vpc --env staging --timeout 20m",
			"echo registry",
			"bin/bootstrap-ecs --env staging --run ${BUILD_NUMBER}",
			"bin/provision-jenkins --env staging --run ${BUILD_NUMBER}",
			"bin/verify-clean --env staging",
			`bin/provision-jenkins --user "$JUSER"`,
			"bin/run-containers",
			"aws sts get-caller-identity",
			"git rev-parse HEAD",
			"rm -rf tmp",
		}
		if got := p.AllSh(); !reflect.DeepEqual(got, want) {
			t.Errorf("sh =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})

	t.Run("wrappers", func(t *testing.T) {
		ecs, _ := p.FindStage("ECS")
		wrapped := map[string][]string{}
		for _, s := range ecs.Steps {
			if s.Name == "sh" {
				wrapped[s.Script] = s.Wrappers
			}
		}
		want := map[string][]string{
			"bin/bootstrap-ecs --env staging --run ${BUILD_NUMBER}":     {"script"},
			"bin/provision-jenkins --env staging --run ${BUILD_NUMBER}": {"script"},
			"bin/verify-clean --env staging":                            {"script"},
			`bin/provision-jenkins --user "$JUSER"`:                     {"withCredentials:jenkins-admin"},
			"bin/run-containers": {"withCredentials:jenkins-admin", "dir:artifacts", "lock:staging",
				"timeout:20 MINUTES", "retry:3", "catchError"},
			"aws sts get-caller-identity": {"withEnv:AWS_PROFILE"},
		}
		if !reflect.DeepEqual(wrapped, want) {
			t.Errorf("wrappers =\n%q\nwant\n%q", wrapped, want)
		}
		registry, _ := p.FindStage("Registry")
		if !registry.Steps[0].Under("lock:registry") {
			t.Errorf("Registry step %+v not under its stage's lock option", registry.Steps[0])
		}
	})

	t.Run("post", func(t *testing.T) {
		always := p.Post["always"]
		if len(always) != 1 || always[0].Name != "archiveArtifacts" ||
			always[0].Args["artifacts"] != "artifacts/**" || always[0].Args["allowEmptyArchive"] != true {
			t.Errorf("post always = %+v, want archiveArtifacts artifacts/** allowEmptyArchive", always)
		}
		for _, cond := range []string{"failure", "success", "cleanup"} {
			if len(p.Post[cond]) == 0 {
				t.Errorf("post %s has no steps", cond)
			}
		}
		report, _ := p.FindStage("Report")
		if f := report.Post["failure"]; len(f) != 1 || f[0].Name != "error" {
			t.Errorf("Report post failure = %+v, want error", f)
		}
	})
}

func TestRecordRejects(t *testing.T) {
	jenkinsfile.RequireGroovy(t)
	t.Parallel()
	cases := []struct {
		file string
		want string // one of the problems, after "testdata/<file>:"
	}{
		{"syntax-error.Jenkinsfile", "11:1: syntax error: expecting '}', found ''"},
		{"unknown-section.Jenkinsfile", "4: unknown section 'libraries' in pipeline"},
		{"unknown-step.Jenkinsfile", "8: unknown step 'shh' in stage 'Build'"},
		{"unknown-step-in-script.Jenkinsfile", "4: unknown step 'archiveArtifact' in stage 'Destroy'"},
		{"unknown-option.Jenkinsfile", "6: unknown option 'disableConcurentBuilds' in pipeline options"},
		{"unknown-post-condition.Jenkinsfile", "12: unknown post condition 'allways' in pipeline post"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			p, err := record(t, tc.file)
			var check *jenkinsfile.CheckError
			if !errors.As(err, &check) {
				t.Fatalf("Record = %+v, %v; want a *CheckError", p, err)
			}
			want := filepath.Join("testdata", tc.file) + ":" + tc.want
			if !reflect.DeepEqual(check.Problems, []string{want}) {
				t.Errorf("problems = %q, want %q", check.Problems, want)
			}
		})
	}
}
