package jenkins_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stagehand/stagehand/shared/jenkins"
	"github.com/stagehand/stagehand/shared/jenkins/jenkinstest"
)

func posts(s *jenkinstest.Server) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == "POST" {
			n++
		}
	}
	return n
}

func TestEnsurePipelineJob(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, jenkinstest.Options{CSRF: true})
	c := newClient(t, s)
	const name = "destroy-stage"

	changed := job
	changed.Cron = "H 23 * * 5"
	noCron := changed
	noCron.Cron = ""

	steps := []struct {
		name      string
		job       jenkins.PipelineJob
		want      jenkins.Action
		wantDiff  []string
		wantPosts int // POSTs made by EnsurePipelineJob
	}{
		{
			name: "missing job is created",
			job:  job,
			want: jenkins.ActionCreated,
			wantDiff: []string{
				`description: "" -> "Destroy staging on Friday night"`,
				`repoURL: "" -> "https://git.example.com/platform/stagehand.git"`,
				`branch: "" -> "*/main"`,
				`scriptPath: "" -> "pipelines/destroy-stage.Jenkinsfile"`,
				`credentialsID: "" -> "git-readonly"`,
				`cron: "" -> "H 22 * * 5"`,
			},
			wantPosts: 1,
		},
		{name: "same job is unchanged", job: job, want: jenkins.ActionUnchanged},
		{
			name: "blanks do not count", job: func() jenkins.PipelineJob {
				j := job
				j.Cron = " H 22 * * 5\n"
				return j
			}(),
			want: jenkins.ActionUnchanged,
		},
		{
			name:      "new cron is updated",
			job:       changed,
			want:      jenkins.ActionUpdated,
			wantDiff:  []string{`cron: "H 22 * * 5" -> "H 23 * * 5"`},
			wantPosts: 1,
		},
		{
			name:      "cron removed",
			job:       noCron,
			want:      jenkins.ActionUpdated,
			wantDiff:  []string{`cron: "H 23 * * 5" -> ""`},
			wantPosts: 1,
		},
		{name: "again unchanged", job: noCron, want: jenkins.ActionUnchanged},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := posts(s)
			action, diff, err := c.Diff(ctx, name, st.job)
			if err != nil {
				t.Fatalf("Diff: %v", err)
			}
			if action != st.want || !slices.Equal(diff, st.wantDiff) {
				t.Errorf("Diff = %s %q\nwant %s %q", action, diff, st.want, st.wantDiff)
			}
			if n := posts(s); n != before {
				t.Fatalf("Diff made %d POSTs", n-before)
			}

			action, err = c.EnsurePipelineJob(ctx, name, st.job)
			if err != nil {
				t.Fatalf("EnsurePipelineJob: %v", err)
			}
			if action != st.want {
				t.Errorf("EnsurePipelineJob = %s, want %s", action, st.want)
			}
			if n := posts(s) - before; n != st.wantPosts {
				t.Errorf("%d POSTs, want %d", n, st.wantPosts)
			}
			got, err := jenkins.ParsePipelineJob(s.Jobs()[name])
			if err != nil {
				t.Fatal(err)
			}
			if want := st.job; strings.TrimSpace(want.Cron) != got.Cron || want.RepoURL != got.RepoURL {
				t.Errorf("stored job %+v, want %+v", got, want)
			}
		})
	}
}

// A job Jenkins saved after runs (XML 1.1, plugin versions, properties from
// the Jenkinsfile) that describes the same job is left alone.
func TestEnsurePipelineJobKeepsEquivalentConfig(t *testing.T) {
	s := newServer(t, jenkinstest.Options{CSRF: true})
	s.PutJob("create-stage", []byte(jenkinsSaved))
	c := newClient(t, s)
	want, err := jenkins.ParsePipelineJob([]byte(jenkinsSaved))
	if err != nil {
		t.Fatal(err)
	}
	action, err := c.EnsurePipelineJob(context.Background(), "create-stage", want)
	if err != nil || action != jenkins.ActionUnchanged {
		t.Fatalf("got %s, %v; want unchanged", action, err)
	}
	if string(s.Jobs()["create-stage"]) != jenkinsSaved || posts(s) != 0 {
		t.Error("config rewritten")
	}
}

func TestEnsurePipelineJobReplacesInlineScript(t *testing.T) {
	const inline = `<?xml version='1.1' encoding='UTF-8'?>
<flow-definition plugin="workflow-job@1436.vfa_244484591f">
  <description>Destroy staging on Friday night</description>
  <definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" plugin="workflow-cps@3903.v48a_8836749e9">
    <script>pipeline { agent any; stages { stage('x') { steps { echo 'x' } } } }</script>
    <sandbox>true</sandbox>
  </definition>
</flow-definition>`
	s := newServer(t, jenkinstest.Options{CSRF: true})
	s.PutJob("destroy-stage", []byte(inline))
	c := newClient(t, s)

	action, diff, err := c.Diff(context.Background(), "destroy-stage", job)
	if err != nil || action != jenkins.ActionUpdated {
		t.Fatalf("Diff = %s, %v", action, err)
	}
	if want := `definition: "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" -> "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition on hudson.plugins.git.GitSCM"`; diff[0] != want {
		t.Errorf("first change %q, want %q", diff[0], want)
	}
	if action, err := c.EnsurePipelineJob(context.Background(), "destroy-stage", job); err != nil || action != jenkins.ActionUpdated {
		t.Fatalf("EnsurePipelineJob = %s, %v", action, err)
	}
	if got, _ := jenkins.ParsePipelineJob(s.Jobs()["destroy-stage"]); got != job {
		t.Errorf("stored %+v", got)
	}
}

func TestEnsurePipelineJobRefusesOtherKinds(t *testing.T) {
	s := newServer(t, jenkinstest.Options{CSRF: true})
	s.PutJob("destroy-stage", []byte(`<?xml version='1.1' encoding='UTF-8'?><project><builders/></project>`))
	c := newClient(t, s)
	if _, _, err := c.Diff(context.Background(), "destroy-stage", job); !errors.Is(err, jenkins.ErrNotPipeline) {
		t.Errorf("Diff: %v, want ErrNotPipeline", err)
	}
	if _, err := c.EnsurePipelineJob(context.Background(), "destroy-stage", job); !errors.Is(err, jenkins.ErrNotPipeline) {
		t.Errorf("EnsurePipelineJob: %v, want ErrNotPipeline", err)
	}
	if posts(s) != 0 {
		t.Error("job changed")
	}
}

func TestEnsurePipelineJobInvalid(t *testing.T) {
	s := newServer(t, jenkinstest.Options{})
	c := newClient(t, s)
	bad := jenkins.PipelineJob{Branch: "*/main"}
	if _, err := c.EnsurePipelineJob(context.Background(), "x", bad); err == nil {
		t.Error("EnsurePipelineJob: no error without a repository")
	}
	if _, _, err := c.Diff(context.Background(), "x", bad); err == nil {
		t.Error("Diff: no error without a repository")
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests for an invalid job", n)
	}
}

// When the answer to a create or update is lost, EnsurePipelineJob reads the
// job back instead of sending the POST again.
func TestEnsurePipelineJobAfterTransportError(t *testing.T) {
	changed := job
	changed.Branch = "*/release"
	tests := []struct {
		name     string
		existing bool
		path     string
		lose     bool // the POST took effect; else it was dropped
		want     jenkins.Action
	}{
		{"create, answer lost", false, "/createItem", true, jenkins.ActionCreated},
		{"create, dropped", false, "/createItem", false, ""},
		{"update, answer lost", true, "/job/seed/config.xml", true, jenkins.ActionUpdated},
		{"update, dropped", true, "/job/seed/config.xml", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, jenkinstest.Options{CSRF: true})
			if tc.existing {
				s.PutJob("seed", configXML(t, job))
			}
			c := newClient(t, s)
			if tc.lose {
				s.LoseResponseNext("POST", tc.path)
			} else {
				s.DropNext("POST", tc.path)
			}
			action, err := c.EnsurePipelineJob(context.Background(), "seed", changed)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got %s, want an error", action)
				}
			} else if err != nil || action != tc.want {
				t.Fatalf("got %s, %v; want %s", action, err, tc.want)
			}
			if n := s.Count("POST", tc.path); n != 1 {
				t.Errorf("POST %s sent %d times, want once", tc.path, n)
			}
		})
	}
}

// A job created by someone else between the look and the create is updated.
func TestEnsurePipelineJobCreatedMeanwhile(t *testing.T) {
	s := newServer(t, jenkinstest.Options{CSRF: true})
	other := job
	other.Branch = "*/other"
	s.PutJob("seed", configXML(t, other))
	s.RespondNext("GET", "/job/seed/config.xml", 404, 1) // not there yet when we look
	c := newClient(t, s)
	action, err := c.EnsurePipelineJob(context.Background(), "seed", job)
	if err != nil || action != jenkins.ActionUpdated {
		t.Fatalf("got %s, %v; want updated", action, err)
	}
	if got, _ := jenkins.ParsePipelineJob(s.Jobs()["seed"]); got != job {
		t.Errorf("stored %+v", got)
	}
}

// A Jenkins that accepts a config but keeps something else (e.g. a plugin is
// missing) fails the read-back check.
func TestEnsurePipelineJobVerifies(t *testing.T) {
	stale := job
	stale.Cron = ""
	staleXML, err := stale.ConfigXML()
	if err != nil {
		t.Fatal(err)
	}
	lossy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Jenkins", jenkinstest.Version)
		switch {
		case r.Method == "GET" && r.URL.Path == "/job/seed/config.xml":
			w.Write(staleXML)
		case r.Method == "POST" && r.URL.Path == "/job/seed/config.xml":
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer lossy.Close()
	c, err := jenkins.New(jenkins.Config{URL: lossy.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.EnsurePipelineJob(context.Background(), "seed", job)
	if err == nil || !strings.Contains(err.Error(), `cron: "" -> "H 22 * * 5"`) {
		t.Fatalf("got %v, want a verification error naming the cron", err)
	}
}
