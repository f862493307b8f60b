package jenkinstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
)

const pipelineXML = `<?xml version="1.0" encoding="UTF-8"?>
<flow-definition><description>d</description></flow-definition>`

type call struct {
	method, path, body string
	crumb              string
}

type answer struct {
	code int
	body string
	h    http.Header
}

func do(t *testing.T, hc *http.Client, s *Server, c call, auth bool) answer {
	t.Helper()
	a, err := try(hc, s, c, auth)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// try sends one request; safe to call from any goroutine.
func try(hc *http.Client, s *Server, c call, auth bool) (answer, error) {
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, s.URL+c.path, body)
	if err != nil {
		return answer{}, err
	}
	if auth {
		req.SetBasicAuth("admin", "tok")
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/xml")
	}
	if c.crumb != "" {
		req.Header.Set(CrumbField, c.crumb)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", c.method, c.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{code: resp.StatusCode, body: string(b), h: resp.Header}, err
}

func getCrumb(t *testing.T, hc *http.Client, s *Server) string {
	t.Helper()
	crumb, err := tryCrumb(hc, s)
	if err != nil {
		t.Fatal(err)
	}
	return crumb
}

func tryCrumb(hc *http.Client, s *Server) (string, error) {
	a, err := try(hc, s, call{method: "GET", path: "/crumbIssuer/api/json"}, true)
	if err != nil {
		return "", err
	}
	var v struct{ Crumb, CrumbRequestField string }
	if err := json.Unmarshal([]byte(a.body), &v); err != nil {
		return "", fmt.Errorf("crumbIssuer: %d: %w", a.code, err)
	}
	if a.code != 200 || v.CrumbRequestField != CrumbField || v.Crumb == "" {
		return "", fmt.Errorf("crumbIssuer: %d %s", a.code, a.body)
	}
	return v.Crumb, nil
}

func withJar(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

func TestStartingThenReady(t *testing.T) {
	s := NewServer(Options{User: "admin", Token: "tok", StartingRequests: 2})
	defer s.Close()
	for i := range 2 {
		a := do(t, http.DefaultClient, s, call{method: "GET", path: "/api/json"}, true)
		if a.code != 503 || a.h.Get("X-Jenkins") != "" {
			t.Fatalf("request %d: %d X-Jenkins=%q, want 503 without header", i, a.code, a.h.Get("X-Jenkins"))
		}
	}
	a := do(t, http.DefaultClient, s, call{method: "GET", path: "/api/json"}, true)
	if a.code != 200 || a.h.Get("X-Jenkins") != Version {
		t.Fatalf("ready: %d X-Jenkins=%q", a.code, a.h.Get("X-Jenkins"))
	}
	if n := len(s.Requests()); n != 3 {
		t.Errorf("logged %d requests, want 3", n)
	}

	// A restart: starting again for one request, then ready, jobs kept.
	s.PutJob("kept", []byte(pipelineXML))
	s.Restart(1)
	if a := do(t, http.DefaultClient, s, call{method: "GET", path: "/api/json"}, true); a.code != 503 || a.h.Get("X-Jenkins") != "" {
		t.Fatalf("after restart: %d X-Jenkins=%q, want 503 without header", a.code, a.h.Get("X-Jenkins"))
	}
	if a := do(t, http.DefaultClient, s, call{method: "GET", path: "/api/json"}, true); a.code != 200 || len(s.Jobs()) != 1 {
		t.Fatalf("after restart: %d, %d jobs", a.code, len(s.Jobs()))
	}
}

func TestAuth(t *testing.T) {
	for _, opts := range []struct {
		name string
		opts Options
	}{
		{"token", Options{User: "admin", Token: "tok"}},
		{"callback", Options{Authenticate: func(user, password string) bool { return user == "admin" && password == "tok" }}},
	} {
		t.Run(opts.name, func(t *testing.T) { testAuth(t, opts.opts) })
	}
}

func testAuth(t *testing.T, opts Options) {
	s := NewServer(opts)
	defer s.Close()
	for _, tc := range []struct {
		name string
		set  func(*http.Request)
		want int
	}{
		{"none", func(*http.Request) {}, 403},
		{"wrong token", func(r *http.Request) { r.SetBasicAuth("admin", "nope") }, 401},
		{"wrong user", func(r *http.Request) { r.SetBasicAuth("bob", "tok") }, 401},
		{"valid", func(r *http.Request) { r.SetBasicAuth("admin", "tok") }, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.URL+"/api/json", nil)
			tc.set(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want || resp.Header.Get("X-Jenkins") == "" {
				t.Errorf("got %d (X-Jenkins %q), want %d with X-Jenkins", resp.StatusCode, resp.Header.Get("X-Jenkins"), tc.want)
			}
		})
	}
}

// The crumb is bound to the session cookie: without the cookie, or with
// another session's crumb, a POST is refused like Jenkins does.
func TestCrumbBoundToSession(t *testing.T) {
	s := NewServer(Options{User: "admin", Token: "tok", CSRF: true})
	defer s.Close()

	noJar := &http.Client{}
	crumb := getCrumb(t, noJar, s)
	a := do(t, noJar, s, call{method: "POST", path: "/createItem?name=a", body: pipelineXML, crumb: crumb}, true)
	if a.code != 403 || !strings.Contains(a.body, "No valid crumb was included in the request") {
		t.Fatalf("POST without session cookie: %d %s", a.code, a.body)
	}

	jarA, jarB := withJar(t), withJar(t)
	crumbA, crumbB := getCrumb(t, jarA, s), getCrumb(t, jarB, s)
	if crumbA == crumbB {
		t.Fatal("two sessions got the same crumb")
	}
	if a := do(t, jarA, s, call{method: "POST", path: "/createItem?name=a", body: pipelineXML, crumb: crumbB}, true); a.code != 403 {
		t.Fatalf("POST with another session's crumb: %d", a.code)
	}
	if a := do(t, jarA, s, call{method: "POST", path: "/createItem?name=a", body: pipelineXML}, true); a.code != 403 {
		t.Fatalf("POST without crumb: %d", a.code)
	}
	if a := do(t, jarA, s, call{method: "POST", path: "/createItem?name=a", body: pipelineXML, crumb: crumbA}, true); a.code != 200 {
		t.Fatalf("POST with its session's crumb: %d %s", a.code, a.body)
	}
	if getCrumb(t, jarA, s) != crumbA {
		t.Error("same session got a new crumb")
	}

	s.ExpireSessions()
	if a := do(t, jarA, s, call{method: "POST", path: "/job/a/config.xml", body: pipelineXML, crumb: crumbA}, true); a.code != 403 {
		t.Fatalf("POST after the session expired: %d", a.code)
	}
	if getCrumb(t, jarA, s) == crumbA {
		t.Error("expired session's crumb issued again")
	}
}

func TestCSRFOff(t *testing.T) {
	s := NewServer(Options{User: "admin", Token: "tok"})
	defer s.Close()
	if a := do(t, http.DefaultClient, s, call{method: "GET", path: "/crumbIssuer/api/json"}, true); a.code != 404 {
		t.Fatalf("crumbIssuer with CSRF off: %d", a.code)
	}
	if a := do(t, http.DefaultClient, s, call{method: "POST", path: "/createItem?name=a", body: pipelineXML}, true); a.code != 200 {
		t.Fatalf("POST without crumb: %d", a.code)
	}
}

func TestJobs(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	hc := http.DefaultClient

	if a := do(t, hc, s, call{method: "GET", path: "/job/seed/api/json"}, false); a.code != 404 {
		t.Fatalf("missing job: %d", a.code)
	}
	if a := do(t, hc, s, call{method: "POST", path: "/createItem?name=seed", body: pipelineXML}, false); a.code != 200 {
		t.Fatalf("create: %d", a.code)
	}
	a := do(t, hc, s, call{method: "POST", path: "/createItem?name=seed", body: pipelineXML}, false)
	if a.code != 400 || !strings.Contains(a.h.Get("X-Error"), "already exists") {
		t.Fatalf("duplicate create: %d X-Error=%q", a.code, a.h.Get("X-Error"))
	}
	if a := do(t, hc, s, call{method: "POST", path: "/createItem?name=bad", body: "<a>"}, false); a.code != 400 {
		t.Fatalf("malformed XML: %d", a.code)
	}

	a = do(t, hc, s, call{method: "GET", path: "/job/seed/config.xml"}, false)
	if a.code != 200 || !strings.HasPrefix(a.body, "<?xml version='1.1' encoding='UTF-8'?>") {
		t.Fatalf("config.xml: %d %q", a.code, a.body)
	}

	a = do(t, hc, s, call{method: "GET", path: "/job/seed/api/json"}, false)
	var job struct {
		Class     string `json:"_class"`
		Name, URL string
		Buildable bool
	}
	if err := json.Unmarshal([]byte(a.body), &job); err != nil {
		t.Fatal(err)
	}
	if job.Name != "seed" || job.URL != s.URL+"/job/seed/" || !job.Buildable || job.Class != "org.jenkinsci.plugins.workflow.job.WorkflowJob" {
		t.Errorf("job JSON %+v", job)
	}

	const updated = `<flow-definition><description>new</description></flow-definition>`
	if a := do(t, hc, s, call{method: "POST", path: "/job/seed/config.xml", body: updated}, false); a.code != 200 {
		t.Fatalf("update: %d", a.code)
	}
	if got := string(s.Jobs()["seed"]); !strings.Contains(got, "<description>new</description>") {
		t.Errorf("stored config %q", got)
	}
	if a := do(t, hc, s, call{method: "POST", path: "/job/seed/config.xml", body: "<project/>"}, false); a.code != 500 {
		t.Errorf("changing the kind of job: %d", a.code)
	}
	if a := do(t, hc, s, call{method: "POST", path: "/job/nope/config.xml", body: updated}, false); a.code != 404 {
		t.Errorf("update of missing job: %d", a.code)
	}

	for i := 1; i <= 2; i++ {
		a := do(t, hc, s, call{method: "POST", path: "/job/seed/build"}, false)
		if want := fmt.Sprintf("%s/queue/item/%d/", s.URL, i); a.code != 201 || a.h.Get("Location") != want {
			t.Fatalf("build %d: %d Location=%q, want 201 %q", i, a.code, a.h.Get("Location"), want)
		}
	}
	if a := do(t, hc, s, call{method: "POST", path: "/job/seed/buildWithParameters?ENV=staging"}, false); a.code != 201 {
		t.Fatalf("buildWithParameters: %d", a.code)
	}
	if n := s.Builds("seed"); n != 3 {
		t.Errorf("Builds = %d, want 3", n)
	}
	if p := s.BuildParams("seed"); p[2]["ENV"] != "staging" {
		t.Errorf("BuildParams = %v", p)
	}
	if a := do(t, hc, s, call{method: "GET", path: "/job/seed/build"}, false); a.code != 405 {
		t.Errorf("GET build: %d", a.code)
	}
	if a := do(t, hc, s, call{method: "POST", path: "/job/nope/build"}, false); a.code != 404 {
		t.Errorf("build of missing job: %d", a.code)
	}
}

func TestFaults(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	hc := &http.Client{}

	s.DropNext("POST", "/createItem")
	req, _ := http.NewRequest("POST", s.URL+"/createItem?name=a", strings.NewReader(pipelineXML))
	req.Header.Set("Content-Type", "application/xml")
	if resp, err := hc.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("dropped request answered")
	}
	if len(s.Jobs()) != 0 {
		t.Error("dropped request took effect")
	}

	s.LoseResponseNext("POST", "/createItem")
	req, _ = http.NewRequest("POST", s.URL+"/createItem?name=a", strings.NewReader(pipelineXML))
	req.Header.Set("Content-Type", "application/xml")
	if resp, err := hc.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("lost answer arrived")
	}
	if _, ok := s.Jobs()["a"]; !ok {
		t.Error("request with a lost answer took no effect")
	}

	s.RespondNext("GET", "/api/json", 502, 2)
	for _, want := range []int{502, 502, 200} {
		if a := do(t, hc, s, call{method: "GET", path: "/api/json"}, false); a.code != want {
			t.Errorf("got %d, want %d", a.code, want)
		}
	}
	if n := s.Count("POST", "/createItem"); n != 2 {
		t.Errorf("Count(POST /createItem) = %d, want 2", n)
	}
}

func TestConcurrent(t *testing.T) {
	s := NewServer(Options{User: "admin", Token: "tok", CSRF: true})
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar}
		wg.Add(1)
		go func() {
			defer wg.Done()
			crumb, err := tryCrumb(hc, s)
			if err != nil {
				errs <- err
				return
			}
			name := fmt.Sprintf("job%d", i)
			for _, c := range []call{
				{method: "POST", path: "/createItem?name=" + name, body: pipelineXML, crumb: crumb},
				{method: "POST", path: "/job/" + name + "/build", crumb: crumb},
			} {
				if a, err := try(hc, s, c, true); err != nil || a.code >= 300 {
					errs <- fmt.Errorf("%s %s: %d %v", c.method, c.path, a.code, err)
				}
			}
			s.Jobs()
			s.Requests()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(s.Jobs()); n != 8 {
		t.Errorf("%d jobs, want 8", n)
	}
}
