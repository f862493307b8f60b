package jenkinsenv

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stagehand/stagehand/shared/environment"
	"github.com/stagehand/stagehand/shared/jenkins"
	"github.com/stagehand/stagehand/shared/jenkins/jenkinstest"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/wait"
)

func configurer(t *testing.T, url, password string, dryRun bool) *Configurer {
	t.Helper()
	c, err := jenkins.New(jenkins.Config{URL: url, User: "admin", Token: password, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &Configurer{Client: c, URL: url, Log: quietLog(), Summary: &step.Summary{}, DryRun: dryRun,
		Wait: wait.Options{Interval: 5 * time.Millisecond, Max: 10 * time.Second}}
}

var testJobs = []environment.JenkinsJob{
	{Name: "converge", Repository: "https://git.example.com/infra.git", Branch: "main", ScriptPath: "Jenkinsfile", Cron: "H/15 * * * *"},
	{Name: "smoke", Repository: "https://git.example.com/tests.git", Branch: "release", ScriptPath: "ci/smoke.Jenkinsfile", CredentialsID: "git"},
}

func actions(s *step.Summary) map[string]string {
	out := map[string]string{}
	for _, it := range s.Items() {
		out[it.ID] = it.Action
	}
	return out
}

func TestConfigurerEnsure(t *testing.T) {
	srv := jenkinstest.NewServer(jenkinstest.Options{User: "admin", Token: "pw", CSRF: true, StartingRequests: 3})
	defer srv.Close()
	ctx := context.Background()

	c := configurer(t, srv.URL, "pw", false)
	names, err := c.Ensure(ctx, testJobs)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 {
		t.Fatalf("names %v", names)
	}
	if a := actions(c.Summary); a["converge"] != step.Created || a["smoke"] != step.Created {
		t.Fatalf("first run: %v", a)
	}
	got, err := jenkins.ParsePipelineJob(srv.Jobs()["smoke"])
	if err != nil {
		t.Fatal(err)
	}
	if got.Branch != "*/release" || got.ScriptPath != "ci/smoke.Jenkinsfile" || got.CredentialsID != "git" || got.Cron != "" {
		t.Fatalf("smoke job %+v", got)
	}

	// Again: nothing changes; then a changed cron is updated.
	c = configurer(t, srv.URL, "pw", false)
	if _, err := c.Ensure(ctx, testJobs); err != nil {
		t.Fatal(err)
	}
	if a := actions(c.Summary); a["converge"] != step.Kept || a["smoke"] != step.Kept {
		t.Fatalf("second run: %v", a)
	}
	changed := append([]environment.JenkinsJob(nil), testJobs...)
	changed[0].Cron = "H 3 * * *"
	c = configurer(t, srv.URL, "pw", true)
	if _, err := c.Ensure(ctx, changed); err != nil {
		t.Fatal(err)
	}
	if a := actions(c.Summary); a["converge"] != step.WouldUpdate || a["smoke"] != step.Kept {
		t.Fatalf("dry run: %v", a)
	}
	if j, _ := jenkins.ParsePipelineJob(srv.Jobs()["converge"]); j.Cron != "H/15 * * * *" {
		t.Fatalf("dry run changed the cron to %q", j.Cron)
	}
	c = configurer(t, srv.URL, "pw", false)
	if _, err := c.Ensure(ctx, changed); err != nil {
		t.Fatal(err)
	}
	if a := actions(c.Summary); a["converge"] != step.Updated || a["smoke"] != step.Kept {
		t.Fatalf("changed run: %v", a)
	}
	if j, _ := jenkins.ParsePipelineJob(srv.Jobs()["converge"]); j.Cron != "H 3 * * *" {
		t.Fatalf("cron %q after the update", j.Cron)
	}
}

func TestConfigurerWrongPassword(t *testing.T) {
	srv := jenkinstest.NewServer(jenkinstest.Options{User: "admin", Token: "pw"})
	defer srv.Close()
	c := configurer(t, srv.URL, "not-it", false)
	_, err := c.Ensure(context.Background(), testJobs)
	if !errors.Is(err, jenkins.ErrUnauthorized) {
		t.Fatalf("error %v, want ErrUnauthorized", err)
	}
	if len(srv.Jobs()) != 0 {
		t.Fatal("jobs were created")
	}
}

func TestConfigurerDryRunWithoutJenkins(t *testing.T) {
	srv := jenkinstest.NewServer(jenkinstest.Options{})
	url := srv.URL
	srv.Close() // nothing answers there
	c := configurer(t, url, "pw", true)
	if _, err := c.Ensure(context.Background(), testJobs); err != nil {
		t.Fatal(err)
	}
	if a := actions(c.Summary); a["converge"] != step.WouldCreate || a["smoke"] != step.WouldCreate {
		t.Fatalf("dry run: %v", a)
	}
}

func TestConfigurerTimesOut(t *testing.T) {
	srv := jenkinstest.NewServer(jenkinstest.Options{StartingRequests: 1 << 30})
	defer srv.Close()
	c := configurer(t, srv.URL, "pw", false)
	c.Wait.Max = 50 * time.Millisecond
	_, err := c.Ensure(context.Background(), testJobs)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want a timeout", err)
	}
}
