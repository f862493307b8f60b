// Package jenkinstest runs a fake Jenkins on 127.0.0.1 for tests: the parts
// of the REST API that package jenkins uses, with the behaviour of a real
// Jenkins — 503 without X-Jenkins while starting, basic auth with API tokens,
// CSRF crumbs bound to the session cookie, createItem, config.xml stored and
// served as XML 1.1, job JSON, and build triggers answered with the queue
// item's Location. Faults can be injected per request (dropped connections,
// lost answers, error statuses), and every request is logged, so tests can
// assert that a POST was not sent twice.
//
// It is a regular package so that end-to-end tests can serve it to the step
// binaries they run.
package jenkinstest

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Version is the Jenkins version the server announces in X-Jenkins.
const Version = "2.479.1"

// CrumbField is the request header that carries the CSRF crumb.
const CrumbField = "Jenkins-Crumb"

// Options configures a Server.
type Options struct {
	// User and Token are the only accepted basic-auth credentials. With an
	// empty User and no Authenticate, security is off and anonymous requests
	// are served.
	User, Token string
	// Authenticate, when set, decides instead of User and Token which
	// basic-auth credentials are accepted: a test can accept a password it
	// learns only later (e.g. one a step generated and stored elsewhere). It
	// is called for every authenticated request, concurrently.
	Authenticate func(user, password string) bool
	// StartingRequests is the number of requests answered 503 without the
	// X-Jenkins header, as Jenkins does while it starts, before it is ready.
	StartingRequests int
	// CSRF turns the crumb issuer on. Every POST must then carry the crumb
	// issued to its session (cookie) in the Jenkins-Crumb header. This is
	// stricter than Jenkins, which exempts requests authenticated with an API
	// token; a client that handles crumbs works against both.
	CSRF bool
}

// Request is one request the server received.
type Request struct {
	Method string
	Path   string // decoded path, e.g. /job/seed/config.xml
	Query  string // raw query
}

func (r Request) String() string {
	if r.Query == "" {
		return r.Method + " " + r.Path
	}
	return r.Method + " " + r.Path + "?" + r.Query
}

// Server is a fake Jenkins. Its methods are safe for concurrent use.
type Server struct {
	// URL is the root URL, http://127.0.0.1:PORT, without trailing slash.
	URL string

	srv        *httptest.Server
	opts       Options
	cookieName string

	mu       sync.Mutex
	starting int
	jobs     map[string]*job
	sessions map[string]string // session id -> crumb
	requests []Request
	faults   map[string][]fault // "METHOD /path" -> queued faults
	queueID  int
}

type job struct {
	config []byte
	builds []map[string]string
}

type faultKind int

const (
	faultDrop   faultKind = iota + 1 // close the connection; the request has no effect
	faultLose                        // handle the request, then close the connection
	faultStatus                      // answer with a status; the request has no effect
)

type fault struct {
	kind faultKind
	code int
}

// NewServer starts a fake Jenkins; Close stops it.
func NewServer(opts Options) *Server {
	s := &Server{
		opts:       opts,
		cookieName: "JSESSIONID." + randomHex(4),
		starting:   opts.StartingRequests,
		jobs:       map[string]*job{},
		sessions:   map[string]string{},
		faults:     map[string][]fault{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Jobs returns a copy of the stored config.xml of every job, by name.
func (s *Server) Jobs() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte, len(s.jobs))
	for name, j := range s.jobs {
		out[name] = bytes.Clone(j.config)
	}
	return out
}

// PutJob stores a job as if it had been created in Jenkins; config is kept
// as it is (give it an XML 1.1 prolog to mimic Jenkins).
func (s *Server) PutJob(name string, config []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j, ok := s.jobs[name]; ok {
		j.config = bytes.Clone(config)
		return
	}
	s.jobs[name] = &job{config: bytes.Clone(config)}
}

// Builds returns the number of builds triggered for the job.
func (s *Server) Builds(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j, ok := s.jobs[name]; ok {
		return len(j.builds)
	}
	return 0
}

// BuildParams returns the parameters of each build triggered for the job
// (nil for a build without parameters).
func (s *Server) BuildParams(name string) []map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[name]
	if !ok {
		return nil
	}
	out := make([]map[string]string, len(j.builds))
	for i, p := range j.builds {
		out[i] = maps.Clone(p)
	}
	return out
}

// Requests returns the log of the requests received, in order, including
// those answered 503 while starting and those hit by an injected fault.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Count returns how many requests with this method and path were received.
func (s *Server) Count(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// DropNext makes the next request with this method and path fail at the
// transport level: the server reads it and closes the connection without
// acting on it or answering.
func (s *Server) DropNext(method, path string) {
	s.addFault(method, path, fault{kind: faultDrop})
}

// LoseResponseNext makes the next request with this method and path take
// effect, after which the server closes the connection instead of answering:
// the client cannot tell whether it was handled.
func (s *Server) LoseResponseNext(method, path string) {
	s.addFault(method, path, fault{kind: faultLose})
}

// RespondNext answers the next n requests with this method and path with
// the status code (and the X-Jenkins header), without acting on them.
func (s *Server) RespondNext(method, path string, code, n int) {
	for range n {
		s.addFault(method, path, fault{kind: faultStatus, code: code})
	}
}

// Restart makes the server behave like a Jenkins that restarts: sessions
// are forgotten and the next startingRequests requests are answered 503
// without X-Jenkins, as while it starts. Jobs are kept.
func (s *Server) Restart(startingRequests int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
	s.starting = startingRequests
}

// ExpireSessions forgets every session, as a Jenkins restart does: crumbs
// issued so far are no longer valid.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

func (s *Server) addFault(method, path string, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := method + " " + path
	s.faults[k] = append(s.faults[k], f)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)

	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery})
	starting := s.starting > 0
	if starting {
		s.starting--
	}
	var f fault
	k := r.Method + " " + r.URL.Path
	if q := s.faults[k]; !starting && len(q) > 0 {
		f, s.faults[k] = q[0], q[1:]
	}
	s.mu.Unlock()

	switch {
	case starting:
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, page(http.StatusServiceUnavailable, "Jenkins is getting ready to work"))
		return
	case f.kind == faultDrop:
		hangUp(w)
		return
	case f.kind == faultStatus:
		s.advertise(w.Header())
		errorPage(w, f.code, http.StatusText(f.code))
		return
	}

	rec := httptest.NewRecorder()
	s.advertise(rec.Header())
	s.handle(rec, r, body)
	if f.kind == faultLose {
		hangUp(w)
		return
	}
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(fmt.Sprintf("jenkinstest: hijack: %v", err))
	}
	conn.Close()
}

// advertise sets the headers a ready Jenkins puts on its answers.
func (s *Server) advertise(h http.Header) {
	h.Set("X-Jenkins", Version)
	h.Set("X-Jenkins-Session", "0f1e2d3c")
	h.Set("X-Hudson", "1.395")
}

// handle serves a request to a ready Jenkins.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, body []byte) {
	if !s.authenticate(w, r) {
		return
	}
	if r.Method == http.MethodPost && !s.checkCrumb(r) {
		errorPage(w, http.StatusForbidden, "No valid crumb was included in the request")
		return
	}

	segs, err := splitPath(r.URL.EscapedPath())
	if err != nil {
		errorPage(w, http.StatusBadRequest, err.Error())
		return
	}
	switch {
	case match(segs, "api", "json"):
		s.getRoot(w, r)
	case match(segs, "crumbIssuer", "api", "json"):
		s.issueCrumb(w, r)
	case match(segs, "createItem"):
		s.createItem(w, r, body)
	case len(segs) == 3 && segs[0] == "job" && segs[2] == "config.xml":
		s.config(w, r, segs[1], body)
	case len(segs) == 4 && segs[0] == "job" && segs[2] == "api" && segs[3] == "json":
		s.getJob(w, r, segs[1])
	case len(segs) == 3 && segs[0] == "job" && (segs[2] == "build" || segs[2] == "buildWithParameters"):
		s.build(w, r, segs[1], segs[2] == "buildWithParameters", body)
	default:
		errorPage(w, http.StatusNotFound, "Not Found")
	}
}

// authenticate answers like Jenkins with security on and no anonymous read
// access: 403 without credentials, 401 with wrong ones.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.User == "" && s.opts.Authenticate == nil {
		return true
	}
	user, token, ok := r.BasicAuth()
	switch {
	case !ok:
		w.Header().Set("X-You-Are-Authenticated-As", "anonymous")
		w.Header().Set("X-Required-Permission", "hudson.model.Hudson.Read")
		errorPage(w, http.StatusForbidden, "Authentication required")
		return false
	case !s.accepts(user, token):
		w.Header().Set("WWW-Authenticate", `Basic realm="Jenkins"`)
		errorPage(w, http.StatusUnauthorized, "Invalid password/token for user: "+user)
		return false
	}
	return true
}

// accepts reports whether the credentials are valid.
func (s *Server) accepts(user, token string) bool {
	if s.opts.Authenticate != nil {
		return s.opts.Authenticate(user, token)
	}
	return user == s.opts.User && subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.Token)) == 1
}

// checkCrumb reports whether a POST carries the crumb of its session.
func (s *Server) checkCrumb(r *http.Request) bool {
	if !s.opts.CSRF {
		return true
	}
	c, err := r.Cookie(s.cookieName)
	if err != nil {
		return false
	}
	s.mu.Lock()
	want, ok := s.sessions[c.Value]
	s.mu.Unlock()
	got := r.Header.Get(CrumbField)
	return ok && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// issueCrumb returns the crumb of the request's session, opening a session
// (Set-Cookie) when the request has none or an unknown one.
func (s *Server) issueCrumb(w http.ResponseWriter, r *http.Request) {
	if !s.opts.CSRF {
		errorPage(w, http.StatusNotFound, "Not Found")
		return
	}
	if r.Method != http.MethodGet {
		errorPage(w, http.StatusMethodNotAllowed, "HTTP method "+r.Method+" is not supported by this URL")
		return
	}
	s.mu.Lock()
	var id, crumb string
	if c, err := r.Cookie(s.cookieName); err == nil {
		id, crumb = c.Value, s.sessions[c.Value]
	}
	if crumb == "" {
		id, crumb = "node0"+randomHex(12), randomHex(32)
		s.sessions[id] = crumb
		http.SetCookie(w, &http.Cookie{Name: s.cookieName, Value: id, Path: "/", HttpOnly: true})
	}
	s.mu.Unlock()
	writeJSON(w, map[string]string{
		"_class":            "hudson.security.csrf.DefaultCrumbIssuer",
		"crumb":             crumb,
		"crumbRequestField": CrumbField,
	})
}

func (s *Server) getRoot(w http.ResponseWriter, r *http.Request) {
	if !allowMethod(w, r, http.MethodGet) {
		return
	}
	s.mu.Lock()
	names := slices.Sorted(maps.Keys(s.jobs))
	s.mu.Unlock()
	jobs := make([]map[string]string, 0, len(names))
	for _, n := range names {
		jobs = append(jobs, map[string]string{"name": n, "url": s.jobURL(n)})
	}
	writeJSON(w, map[string]any{"_class": "hudson.model.Hudson", "mode": "NORMAL", "jobs": jobs})
}

func (s *Server) createItem(w http.ResponseWriter, r *http.Request, body []byte) {
	if !allowMethod(w, r, http.MethodPost) {
		return
	}
	name := r.URL.Query().Get("name")
	switch {
	case name == "":
		errorPage(w, http.StatusBadRequest, "Query parameter 'name' is required")
		return
	case strings.ContainsAny(name, `/\?*%!@#$^&|<>[]:;`):
		errorPage(w, http.StatusBadRequest, fmt.Sprintf("‘%s’ contains an unsafe character", name))
		return
	case !strings.Contains(r.Header.Get("Content-Type"), "xml"):
		errorPage(w, http.StatusBadRequest, "No mode given")
		return
	}
	if _, err := rootElement(body); err != nil {
		errorPage(w, http.StatusBadRequest, "Failed to parse XML: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[name]; ok {
		msg := fmt.Sprintf("A job already exists with the name ‘%s’", name)
		w.Header().Set("X-Error", msg)
		errorPage(w, http.StatusBadRequest, msg)
		return
	}
	s.jobs[name] = &job{config: asStored(body)}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) config(w http.ResponseWriter, r *http.Request, name string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[name]
	if !ok {
		errorPage(w, http.StatusNotFound, "Not Found")
		return
	}
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "application/xml")
		w.Write(j.config)
	case http.MethodPost:
		have, _ := rootElement(j.config)
		got, err := rootElement(body)
		switch {
		case err != nil:
			errorPage(w, http.StatusBadRequest, "Failed to parse XML: "+err.Error())
		case got != have:
			// Jenkins cannot change the kind of an item in place.
			errorPage(w, http.StatusInternalServerError, fmt.Sprintf("Expecting <%s> but got <%s> instead", have, got))
		default:
			j.config = asStored(body)
			w.WriteHeader(http.StatusOK)
		}
	default:
		errorPage(w, http.StatusMethodNotAllowed, "HTTP method "+r.Method+" is not supported by this URL")
	}
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, name string) {
	if !allowMethod(w, r, http.MethodGet) {
		return
	}
	s.mu.Lock()
	j, ok := s.jobs[name]
	var root string
	var next int
	if ok {
		root, _ = rootElement(j.config)
		next = len(j.builds) + 1
	}
	s.mu.Unlock()
	if !ok {
		errorPage(w, http.StatusNotFound, "Not Found")
		return
	}
	class := "hudson.model.FreeStyleProject"
	if root == "flow-definition" {
		class = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
	}
	writeJSON(w, map[string]any{
		"_class":          class,
		"name":            name,
		"fullName":        name,
		"url":             s.jobURL(name),
		"buildable":       true,
		"nextBuildNumber": next,
	})
}

func (s *Server) build(w http.ResponseWriter, r *http.Request, name string, withParams bool, body []byte) {
	if !allowMethod(w, r, http.MethodPost) {
		return
	}
	var params map[string]string
	if withParams {
		params = map[string]string{}
		values := r.URL.Query()
		if form, err := url.ParseQuery(string(body)); err == nil && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			for k, v := range form {
				values[k] = v
			}
		}
		for k := range values {
			params[k] = values.Get(k)
		}
	}
	s.mu.Lock()
	j, ok := s.jobs[name]
	if ok {
		j.builds = append(j.builds, params)
		s.queueID++
	}
	id := s.queueID
	s.mu.Unlock()
	if !ok {
		errorPage(w, http.StatusNotFound, "Not Found")
		return
	}
	w.Header().Set("Location", s.URL+"/queue/item/"+strconv.Itoa(id)+"/")
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) jobURL(name string) string {
	return s.URL + "/job/" + url.PathEscape(name) + "/"
}

func allowMethod(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	errorPage(w, http.StatusMethodNotAllowed, "HTTP method "+r.Method+" is not supported by this URL")
	return false
}

// splitPath splits an escaped path into unescaped segments, so that an
// escaped "/" stays inside its segment.
func splitPath(escaped string) ([]string, error) {
	parts := strings.Split(strings.Trim(escaped, "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, fmt.Errorf("bad path: %w", err)
		}
		parts[i] = u
	}
	return parts, nil
}

func match(segs []string, want ...string) bool { return slices.Equal(segs, want) }

var prologRE = regexp.MustCompile(`^\s*<\?xml\s[^>]*\?>\s*`)

// asStored returns config.xml the way Jenkins saves it: with an XML 1.1 prolog.
func asStored(config []byte) []byte {
	config = bytes.TrimPrefix(config, []byte("\ufeff"))
	config = prologRE.ReplaceAll(config, nil)
	return append([]byte("<?xml version='1.1' encoding='UTF-8'?>\n"), config...)
}

// rootElement checks that a document is well-formed XML and returns the name
// of its root element. The prolog is skipped, as encoding/xml refuses 1.1.
func rootElement(doc []byte) (string, error) {
	d := xml.NewDecoder(bytes.NewReader(prologRE.ReplaceAll(bytes.TrimPrefix(doc, []byte("\ufeff")), nil)))
	root := ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if root == "" {
				return "", errors.New("no root element")
			}
			return root, nil
		}
		if err != nil {
			return "", err
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	json.NewEncoder(w).Encode(v)
}

// errorPage answers with a Jetty-style HTML error page, as Jenkins does.
func errorPage(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, page(code, msg))
}

func page(code int, msg string) string {
	m := html.EscapeString(msg)
	return fmt.Sprintf("<html>\n<head>\n<title>Error %d %s</title>\n</head>\n<body><h2>HTTP ERROR %d %s</h2>\n</body>\n</html>\n", code, m, code, m)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
