package jenkins_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/jenkins"
	"github.com/stagehand/stagehand/shared/jenkins/jenkinstest"
)

const (
	user  = "admin"
	token = "11d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7"
)

var job = jenkins.PipelineJob{
	Description:   "Destroy staging on Friday night",
	RepoURL:       "https://git.example.com/platform/stagehand.git",
	Branch:        "*/main",
	ScriptPath:    "pipelines/destroy-stage.Jenkinsfile",
	CredentialsID: "git-readonly",
	Cron:          "H 22 * * 5",
}

func newServer(t *testing.T, opts jenkinstest.Options) *jenkinstest.Server {
	t.Helper()
	if opts.User == "" {
		opts.User, opts.Token = user, token
	}
	s := jenkinstest.NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// newClient returns a client of s with short retry waits; mod changes its
// configuration.
func newClient(t *testing.T, s *jenkinstest.Server, mod ...func(*jenkins.Config)) *jenkins.Client {
	t.Helper()
	log := logrus.New()
	log.SetOutput(testWriter{t})
	log.SetLevel(logrus.DebugLevel)
	cfg := jenkins.Config{
		URL:          s.URL + "/",
		User:         user,
		Token:        token,
		Logger:       log.WithField("test", t.Name()),
		RetryMax:     3,
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 5 * time.Millisecond,
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := jenkins.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func configXML(t *testing.T, j jenkins.PipelineJob) []byte {
	t.Helper()
	cfg, err := j.ConfigXML()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     jenkins.Config
		wantErr bool
	}{
		{"http", jenkins.Config{URL: "http://127.0.0.1:8080"}, false},
		{"https with path and slash", jenkins.Config{URL: "https://ci.example.com/jenkins/", User: "u", Token: "t"}, false},
		{"empty", jenkins.Config{}, true},
		{"no scheme", jenkins.Config{URL: "jenkins:8080"}, true},
		{"ftp", jenkins.Config{URL: "ftp://jenkins"}, true},
		{"no host", jenkins.Config{URL: "http:///jenkins"}, true},
		{"credentials in URL", jenkins.Config{URL: "http://u:secret@jenkins"}, true},
		{"query", jenkins.Config{URL: "http://jenkins/?x=1"}, true},
		{"user without token", jenkins.Config{URL: "http://jenkins", User: "u"}, true},
		{"token without user", jenkins.Config{URL: "http://jenkins", Token: "t"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := jenkins.New(tc.cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error reveals the password: %v", err)
			}
		})
	}
}

func TestReady(t *testing.T) {
	ctx := context.Background()

	t.Run("503 while starting, then ready", func(t *testing.T) {
		s := newServer(t, jenkinstest.Options{StartingRequests: 2})
		c := newClient(t, s)
		for i := range 2 {
			err := c.Ready(ctx)
			var se *jenkins.StatusError
			if !errors.Is(err, jenkins.ErrStarting) || !errors.As(err, &se) || se.Code != 503 {
				t.Fatalf("poll %d: %v, want ErrStarting (503)", i, err)
			}
		}
		if err := c.Ready(ctx); err != nil {
			t.Fatalf("ready Jenkins: %v", err)
		}
		if n := len(s.Requests()); n != 3 {
			t.Errorf("%d requests, want 3: Ready must not retry", n)
		}
	})

	t.Run("403 without credentials counts as ready", func(t *testing.T) {
		s := newServer(t, jenkinstest.Options{})
		c := newClient(t, s, func(cfg *jenkins.Config) { cfg.User, cfg.Token = "", "" })
		if err := c.Ready(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("401 for a wrong token", func(t *testing.T) {
		s := newServer(t, jenkinstest.Options{})
		c := newClient(t, s, func(cfg *jenkins.Config) { cfg.Token = "wrong" })
		if err := c.Ready(ctx); !errors.Is(err, jenkins.ErrUnauthorized) {
			t.Fatalf("got %v, want ErrUnauthorized", err)
		}
	})

	t.Run("answer without X-Jenkins", func(t *testing.T) {
		lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK) // e.g. a load balancer's fixed answer
		}))
		defer lb.Close()
		c, err := jenkins.New(jenkins.Config{URL: lb.URL})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Ready(ctx); !errors.Is(err, jenkins.ErrStarting) {
			t.Fatalf("got %v, want ErrStarting", err)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		s := jenkinstest.NewServer(jenkinstest.Options{})
		s.Close()
		c := newClient(t, s)
		if err := c.Ready(ctx); !errors.Is(err, jenkins.ErrStarting) {
			t.Fatalf("got %v, want ErrStarting", err)
		}
	})

	t.Run("context done", func(t *testing.T) {
		s := newServer(t, jenkinstest.Options{})
		c := newClient(t, s)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := c.Ready(cctx); !errors.Is(err, context.Canceled) || errors.Is(err, jenkins.ErrStarting) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
}

// Reads made while Jenkins starts are retried until it is ready.
func TestGETRetriedWhileStarting(t *testing.T) {
	s := newServer(t, jenkinstest.Options{StartingRequests: 2})
	c := newClient(t, s)
	ok, err := c.JobExists(context.Background(), "seed")
	if err != nil || ok {
		t.Fatalf("JobExists = %v, %v; want false, nil", ok, err)
	}
	if n := s.Count("GET", "/job/seed/api/json"); n != 3 {
		t.Errorf("%d GETs, want 3", n)
	}
}

func TestUnauthorized(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, jenkinstest.Options{CSRF: true})
	s.PutJob("seed", configXML(t, job))
	for _, tc := range []struct {
		name        string
		user, token string
		code        int
	}{
		{"no credentials", "", "", 403},
		{"wrong token", user, "wrong", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, s, func(cfg *jenkins.Config) { cfg.User, cfg.Token = tc.user, tc.token })
			_, err := c.JobExists(ctx, "seed")
			var se *jenkins.StatusError
			if !errors.Is(err, jenkins.ErrUnauthorized) || !errors.As(err, &se) || se.Code != tc.code {
				t.Errorf("JobExists: %v, want ErrUnauthorized (%d)", err, tc.code)
			}
			if _, err := c.GetJobConfig(ctx, "seed"); !errors.Is(err, jenkins.ErrUnauthorized) {
				t.Errorf("GetJobConfig: %v", err)
			}
			if err := c.CreateJob(ctx, "other", configXML(t, job)); !errors.Is(err, jenkins.ErrUnauthorized) {
				t.Errorf("CreateJob: %v", err)
			}
			if _, err := c.TriggerBuild(ctx, "seed", nil); !errors.Is(err, jenkins.ErrUnauthorized) {
				t.Errorf("TriggerBuild: %v", err)
			}
		})
	}
	if len(s.Jobs()) != 1 || s.Builds("seed") != 0 {
		t.Error("an unauthorized request changed something")
	}
}

func TestJobLifecycle(t *testing.T) {
	for _, csrf := range []bool{true, false} {
		name := map[bool]string{true: "CSRF on", false: "CSRF off (crumbIssuer 404)"}[csrf]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newServer(t, jenkinstest.Options{CSRF: csrf})
			c := newClient(t, s)

			if ok, err := c.JobExists(ctx, "destroy-stage"); err != nil || ok {
				t.Fatalf("JobExists before create = %v, %v", ok, err)
			}
			if _, err := c.GetJobConfig(ctx, "destroy-stage"); !errors.Is(err, jenkins.ErrNotFound) {
				t.Fatalf("GetJobConfig before create: %v, want ErrNotFound", err)
			}
			if err := c.UpdateJobConfig(ctx, "destroy-stage", configXML(t, job)); !errors.Is(err, jenkins.ErrNotFound) {
				t.Fatalf("UpdateJobConfig before create: %v, want ErrNotFound", err)
			}

			if err := c.CreateJob(ctx, "destroy-stage", configXML(t, job)); err != nil {
				t.Fatalf("CreateJob: %v", err)
			}
			err := c.CreateJob(ctx, "destroy-stage", configXML(t, job))
			var se *jenkins.StatusError
			if !errors.Is(err, jenkins.ErrExists) || !errors.As(err, &se) || se.Code != 400 || !strings.Contains(se.Body, "already exists") {
				t.Fatalf("duplicate CreateJob: %v, want ErrExists (400)", err)
			}
			if ok, err := c.JobExists(ctx, "destroy-stage"); err != nil || !ok {
				t.Fatalf("JobExists after create = %v, %v", ok, err)
			}

			raw, err := c.GetJobConfig(ctx, "destroy-stage")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(raw), "<?xml version='1.1'") {
				t.Errorf("Jenkins serves config.xml as XML 1.1; got %.60q", raw)
			}
			if got, err := jenkins.ParsePipelineJob(raw); err != nil || got != job {
				t.Fatalf("read back %+v, %v; want %+v", got, err, job)
			}

			changed := job
			changed.Cron = "H 23 * * 5"
			if err := c.UpdateJobConfig(ctx, "destroy-stage", configXML(t, changed)); err != nil {
				t.Fatalf("UpdateJobConfig: %v", err)
			}
			raw, err = c.GetJobConfig(ctx, "destroy-stage")
			if err != nil {
				t.Fatal(err)
			}
			if got, err := jenkins.ParsePipelineJob(raw); err != nil || got != changed {
				t.Fatalf("read back after update %+v, %v; want %+v", got, err, changed)
			}

			// The crumb (or its absence) is fetched once and kept.
			if n := s.Count("GET", "/crumbIssuer/api/json"); n != 1 {
				t.Errorf("crumb fetched %d times, want 1", n)
			}
		})
	}
}

func TestCreateJobBadRequestIsNotExists(t *testing.T) {
	s := newServer(t, jenkinstest.Options{CSRF: true})
	c := newClient(t, s)
	err := c.CreateJob(context.Background(), "seed", []byte("<flow-definition>"))
	var se *jenkins.StatusError
	if !errors.As(err, &se) || se.Code != 400 || errors.Is(err, jenkins.ErrExists) {
		t.Fatalf("got %v, want a 400 StatusError that is not ErrExists", err)
	}
}

func TestJobNames(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, jenkinstest.Options{CSRF: true})
	c := newClient(t, s)
	const name = "create stage (eu)"
	if err := c.CreateJob(ctx, name, configXML(t, job)); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.JobExists(ctx, name); err != nil || !ok {
		t.Fatalf("JobExists(%q) = %v, %v", name, ok, err)
	}
	if _, ok := s.Jobs()[name]; !ok {
		t.Errorf("jobs %v", s.Jobs())
	}
	for _, bad := range []string{"", " ", "folder/job", "..", "."} {
		if _, err := c.JobExists(ctx, bad); err == nil {
			t.Errorf("JobExists(%q): no error", bad)
		}
		if err := c.CreateJob(ctx, bad, configXML(t, job)); err == nil {
			t.Errorf("CreateJob(%q): no error", bad)
		}
	}
}

// A crumb whose session Jenkins forgot (restart, session timeout) is
// replaced once and the POST goes through.
func TestCrumbRefreshedOnce(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, jenkinstest.Options{CSRF: true})
	c := newClient(t, s)
	if err := c.CreateJob(ctx, "seed", configXML(t, job)); err != nil {
		t.Fatal(err)
	}
	s.ExpireSessions()
	if err := c.UpdateJobConfig(ctx, "seed", configXML(t, job)); err != nil {
		t.Fatalf("update after the session expired: %v", err)
	}
	if n := s.Count("GET", "/crumbIssuer/api/json"); n != 2 {
		t.Errorf("crumb fetched %d times, want 2", n)
	}
	if n := s.Count("POST", "/job/seed/config.xml"); n != 2 {
		t.Errorf("%d config.xml POSTs, want 2 (one refused for its crumb, one accepted)", n)
	}
}

// cookieless is a cookie jar that keeps nothing.
type cookieless struct{}

func (cookieless) SetCookies(*url.URL, []*http.Cookie) {}
func (cookieless) Cookies(*url.URL) []*http.Cookie     { return nil }

// The crumb is bound to the session cookie: a client that does not keep
// cookies cannot POST, and gives up after one crumb refresh.
func TestCrumbNeedsSessionCookie(t *testing.T) {
	s := newServer(t, jenkinstest.Options{CSRF: true})
	c := newClient(t, s, func(cfg *jenkins.Config) { cfg.HTTPClient = &http.Client{Jar: cookieless{}} })
	err := c.CreateJob(context.Background(), "seed", configXML(t, job))
	var se *jenkins.StatusError
	if !errors.Is(err, jenkins.ErrUnauthorized) || !errors.As(err, &se) || !strings.Contains(se.Body, "No valid crumb") {
		t.Fatalf("got %v, want a 403 for the crumb", err)
	}
	if n := s.Count("POST", "/createItem"); n != 2 {
		t.Errorf("%d POSTs, want 2", n)
	}
	if len(s.Jobs()) != 0 {
		t.Error("job created")
	}

	// The same with a base client that has no jar: New gives it one.
	c = newClient(t, s, func(cfg *jenkins.Config) { cfg.HTTPClient = &http.Client{} })
	if err := c.CreateJob(context.Background(), "seed", configXML(t, job)); err != nil {
		t.Fatal(err)
	}
}

func TestTriggerBuild(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, jenkinstest.Options{CSRF: true})
	s.PutJob("create-stage", configXML(t, job))
	c := newClient(t, s)

	loc, err := c.TriggerBuild(ctx, "create-stage", nil)
	if err != nil || loc != s.URL+"/queue/item/1/" {
		t.Fatalf("TriggerBuild = %q, %v; want %q", loc, err, s.URL+"/queue/item/1/")
	}
	loc, err = c.TriggerBuild(ctx, "create-stage", map[string]string{"ENV": "staging", "DRY_RUN": "true"})
	if err != nil || loc != s.URL+"/queue/item/2/" {
		t.Fatalf("TriggerBuild with params = %q, %v", loc, err)
	}
	if n := s.Count("POST", "/job/create-stage/buildWithParameters"); n != 1 {
		t.Errorf("%d buildWithParameters, want 1", n)
	}
	params := s.BuildParams("create-stage")
	if len(params) != 2 || params[0] != nil || params[1]["ENV"] != "staging" || params[1]["DRY_RUN"] != "true" {
		t.Errorf("builds %v", params)
	}
	if _, err := c.TriggerBuild(ctx, "missing", nil); !errors.Is(err, jenkins.ErrNotFound) {
		t.Errorf("missing job: %v, want ErrNotFound", err)
	}
}

func TestGETRetried(t *testing.T) {
	tests := []struct {
		name      string
		code, n   int
		wantCalls int
		wantErr   error // nil: success
		wantCode  int
	}{
		{"429 twice", 429, 2, 3, nil, 0},
		{"500 twice", 500, 2, 3, nil, 0},
		{"502 once", 502, 1, 2, nil, 0},
		{"503 three times", 503, 3, 4, nil, 0},
		{"504 once", 504, 1, 2, nil, 0},
		{"500 until retries run out", 500, 10, 4, nil, 500},
		{"503 until retries run out", 503, 10, 4, jenkins.ErrStarting, 503},
		{"501 not retried", 501, 1, 1, nil, 501},
		{"400 not retried", 400, 1, 1, nil, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, jenkinstest.Options{})
			s.PutJob("seed", configXML(t, job))
			c := newClient(t, s) // RetryMax 3
			s.RespondNext("GET", "/job/seed/config.xml", tc.code, tc.n)
			_, err := c.GetJobConfig(context.Background(), "seed")
			if n := s.Count("GET", "/job/seed/config.xml"); n != tc.wantCalls {
				t.Errorf("%d GETs, want %d", n, tc.wantCalls)
			}
			if tc.wantCode == 0 {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			var se *jenkins.StatusError
			if !errors.As(err, &se) || se.Code != tc.wantCode {
				t.Fatalf("error %v, want status %d", err, tc.wantCode)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// A GET whose connection broke is simply sent again.
func TestGETRetriedAfterTransportError(t *testing.T) {
	s := newServer(t, jenkinstest.Options{})
	s.PutJob("seed", configXML(t, job))
	c := newClient(t, s)
	s.DropNext("GET", "/job/seed/config.xml")
	if _, err := c.GetJobConfig(context.Background(), "seed"); err != nil {
		t.Fatal(err)
	}
	if n := s.Count("GET", "/job/seed/config.xml"); n != 2 {
		t.Errorf("%d GETs, want 2", n)
	}
}

// A POST is never sent again once it may have reached Jenkins: not after a
// transport error, not after a 5xx other than 503.
func TestPOSTNotRetried(t *testing.T) {
	type fault func(s *jenkinstest.Server, method, path string)
	drop := func(s *jenkinstest.Server, m, p string) { s.DropNext(m, p) }
	lose := func(s *jenkinstest.Server, m, p string) { s.LoseResponseNext(m, p) }
	status := func(code int) fault {
		return func(s *jenkinstest.Server, m, p string) { s.RespondNext(m, p, code, 1) }
	}
	changed := job
	changed.Cron = "H 23 * * 5"

	type op struct {
		name   string
		path   string
		call   func(context.Context, *jenkins.Client) error
		effect func(*jenkinstest.Server) bool
	}
	ops := []op{
		{
			name: "createItem", path: "/createItem",
			call: func(ctx context.Context, c *jenkins.Client) error {
				return c.CreateJob(ctx, "new", configXML(t, job))
			},
			effect: func(s *jenkinstest.Server) bool { _, ok := s.Jobs()["new"]; return ok },
		},
		{
			name: "config.xml", path: "/job/seed/config.xml",
			call: func(ctx context.Context, c *jenkins.Client) error {
				return c.UpdateJobConfig(ctx, "seed", configXML(t, changed))
			},
			effect: func(s *jenkinstest.Server) bool {
				got, _ := jenkins.ParsePipelineJob(s.Jobs()["seed"])
				return got == changed
			},
		},
		{
			name: "build", path: "/job/seed/build",
			call: func(ctx context.Context, c *jenkins.Client) error {
				_, err := c.TriggerBuild(ctx, "seed", nil)
				return err
			},
			effect: func(s *jenkinstest.Server) bool { return s.Builds("seed") > 0 },
		},
	}
	faults := []struct {
		name       string
		inject     fault
		wantEffect bool
	}{
		{"connection closed before handling", drop, false},
		{"answer lost after handling", lose, true},
		{"500", status(500), false},
		{"502", status(502), false},
		{"504", status(504), false},
	}
	for _, o := range ops {
		for _, f := range faults {
			t.Run(o.name+"/"+f.name, func(t *testing.T) {
				s := newServer(t, jenkinstest.Options{CSRF: true})
				s.PutJob("seed", configXML(t, job))
				c := newClient(t, s)
				f.inject(s, "POST", o.path)
				if err := o.call(context.Background(), c); err == nil {
					t.Fatal("no error")
				}
				if n := s.Count("POST", o.path); n != 1 {
					t.Errorf("POST %s sent %d times, want once:\n%v", o.path, n, s.Requests())
				}
				if got := o.effect(s); got != f.wantEffect {
					t.Errorf("took effect = %v, want %v", got, f.wantEffect)
				}
			})
		}
	}
}

// 503 (Jenkins starting) and 429 mean the POST was not handled: it is sent
// again.
func TestPOSTRetriedWhenNotHandled(t *testing.T) {
	for _, code := range []int{429, 503} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			s := newServer(t, jenkinstest.Options{CSRF: true})
			s.PutJob("seed", configXML(t, job))
			c := newClient(t, s)
			s.RespondNext("POST", "/job/seed/build", code, 2)
			if _, err := c.TriggerBuild(context.Background(), "seed", nil); err != nil {
				t.Fatal(err)
			}
			if n, b := s.Count("POST", "/job/seed/build"), s.Builds("seed"); n != 3 || b != 1 {
				t.Errorf("%d POSTs and %d builds, want 3 and 1", n, b)
			}
		})
	}
}

// A POST that could not connect certainly did not arrive: it is retried,
// and fails once the retries run out.
func TestPOSTRetriedWhenConnectionRefused(t *testing.T) {
	s := jenkinstest.NewServer(jenkinstest.Options{User: user, Token: token})
	s.PutJob("seed", configXML(t, job))
	attempts := map[string]int{}
	c := newClient(t, s, func(cfg *jenkins.Config) {
		cfg.HTTPClient = &http.Client{Transport: countingTransport{attempts, http.DefaultTransport}}
	})
	if _, err := c.TriggerBuild(context.Background(), "seed", nil); err != nil {
		t.Fatal(err) // learns that CSRF is off
	}
	s.Close()
	if _, err := c.TriggerBuild(context.Background(), "seed", nil); err == nil {
		t.Fatal("no error")
	}
	if n := attempts["POST /job/seed/build"]; n != 1+4 {
		t.Errorf("%d POST attempts, want 5 (1, then 1 + RetryMax 3 refused)", n)
	}
}

// countingTransport counts the attempts per "METHOD /path"; not concurrency-safe.
type countingTransport struct {
	n    map[string]int
	base http.RoundTripper
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n[r.Method+" "+r.URL.Path]++
	return t.base.RoundTrip(r)
}

func TestContextCanceled(t *testing.T) {
	s := newServer(t, jenkinstest.Options{})
	c := newClient(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.JobExists(ctx, "seed"); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}
