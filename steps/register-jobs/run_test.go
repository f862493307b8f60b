package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagehand/stagehand/shared/exitcode"
	"github.com/stagehand/stagehand/shared/jenkins"
	"github.com/stagehand/stagehand/shared/jenkins/jenkinstest"
	"github.com/stagehand/stagehand/shared/step"
)

const (
	testUser  = "ops"
	testToken = "11e2c3d4e5f60718293a4b5c6d7e8f90ab"
)

// runTool runs register-jobs in dir with args and returns its exit code and output.
func runTool(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	code := step.Main(newApp(&out, &errOut), append([]string{"register-jobs", "--log-format", "text"}, args...))
	return code, out.String(), errOut.String()
}

func writePipelines(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "pipelines"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, "pipelines", name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const fridaySrc = "pipeline {\n  agent any\n  triggers { cron('H 22 * * 5') }\n  stages { stage('destroy') { steps { sh 'make destroy-stage' } } }\n}\n"
const stageSrc = "pipeline {\n  agent any\n  stages { stage('stage') { steps { sh 'make stage' } } }\n}\n"

func TestRegisterJobs(t *testing.T) {
	srv := jenkinstest.NewServer(jenkinstest.Options{User: testUser, Token: testToken, CSRF: true})
	defer srv.Close()
	dir := writePipelines(t, map[string]string{"friday-destroy.Jenkinsfile": fridaySrc, "stage.Jenkinsfile": stageSrc, "README.md": "not a pipeline"})
	args := []string{"--jenkins-url", srv.URL, "--jenkins-user", testUser, "--jenkins-token", testToken,
		"--repository", "https://git.example.com/stagehand.git", "--credentials-id", "git-ro"}

	code, out, errOut := runTool(t, dir, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	jobs := srv.Jobs()
	if len(jobs) != 2 {
		t.Fatalf("jobs %v, want 2", len(jobs))
	}
	friday, err := jenkins.ParsePipelineJob(jobs["stagehand-friday-destroy"])
	if err != nil {
		t.Fatal(err)
	}
	if friday.Cron != "H 22 * * 5" || friday.ScriptPath != "pipelines/friday-destroy.Jenkinsfile" || friday.Branch != "*/main" ||
		friday.RepoURL != "https://git.example.com/stagehand.git" || friday.CredentialsID != "git-ro" {
		t.Fatalf("friday-destroy job: %+v", friday)
	}
	stage, err := jenkins.ParsePipelineJob(jobs["stagehand-stage"])
	if err != nil || stage.Cron != "" {
		t.Fatalf("stage job: %+v %v", stage, err)
	}
	if strings.Contains(out+errOut, testToken) {
		t.Fatal("the token was printed")
	}
	if !strings.Contains(out, "created  jenkins job  stagehand-friday-destroy") {
		t.Errorf("summary does not say created:\n%s", out)
	}
}

func TestRegisterJobsBadInput(t *testing.T) {
	srv := jenkinstest.NewServer(jenkinstest.Options{User: testUser, Token: testToken})
	defer srv.Close()
	good := writePipelines(t, map[string]string{"stage.Jenkinsfile": stageSrc})
	auth := []string{"--jenkins-user", testUser, "--jenkins-token", testToken}
	for _, tc := range []struct {
		name  string
		dir   string
		args  []string
		want  int
		inErr string
	}{
		{"no url", good, append([]string{"--repository", "r"}, auth...), exitcode.Usage, "--jenkins-url is required"},
		{"no repository", good, append([]string{"--jenkins-url", srv.URL}, auth...), exitcode.Usage, "--repository is required"},
		{"user without token", good, []string{"--jenkins-url", srv.URL, "--repository", "r", "--jenkins-user", testUser}, exitcode.Usage, "go together"},
		{"no pipelines dir", t.TempDir(), append([]string{"--jenkins-url", srv.URL, "--repository", "r"}, auth...), exitcode.Usage, "pipelines"},
		{"absolute pipelines dir", good, append([]string{"--jenkins-url", srv.URL, "--repository", "r", "--pipelines-dir", filepath.Join(good, "pipelines")}, auth...), exitcode.Usage, "relative"},
		{"empty pipelines dir", writePipelines(t, nil), append([]string{"--jenkins-url", srv.URL, "--repository", "r"}, auth...), exitcode.Usage, "holds no"},
		{"bad cron", writePipelines(t, map[string]string{"x.Jenkinsfile": "pipeline { triggers { cron('H 22') } }"}), append([]string{"--jenkins-url", srv.URL, "--repository", "r"}, auth...), exitcode.Usage, "x.Jenkinsfile"},
		{"unknown flag", good, []string{"--nope"}, exitcode.Usage, "nope"},
		{"wrong token", good, []string{"--jenkins-url", srv.URL, "--repository", "r", "--jenkins-user", testUser, "--jenkins-token", "wrong"}, exitcode.Failed, "401"},
		{"no credentials", good, []string{"--jenkins-url", srv.URL, "--repository", "r"}, exitcode.Failed, "403"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runTool(t, tc.dir, tc.args...)
			if code != tc.want || !strings.Contains(errOut, tc.inErr) {
				t.Fatalf("exit %d, want %d with %q in stderr\n%s\n%s", code, tc.want, tc.inErr, out, errOut)
			}
			if len(srv.Jobs()) != 0 {
				t.Fatal("jobs were created")
			}
		})
	}
}
