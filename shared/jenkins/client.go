package jenkins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/sirupsen/logrus"
)

// Defaults applied by New to a zero Config field.
const (
	DefaultRetryMax     = 4
	DefaultRetryWaitMin = 500 * time.Millisecond
	DefaultRetryWaitMax = 10 * time.Second
	// DefaultTimeout bounds one attempt of a request when Config.HTTPClient is nil.
	DefaultTimeout = 2 * time.Minute
)

// maxBody bounds how much of an answer is read (config.xml, JSON, errors).
const maxBody = 8 << 20

// Config configures a Client.
type Config struct {
	// URL is the Jenkins root URL, e.g. https://jenkins.example.com/ or
	// http://10.0.0.5:8080/jenkins/.
	URL string
	// User and Token are the basic-auth user and its API token; both empty
	// means anonymous.
	User, Token string
	// Logger receives the client's logs; nil discards them.
	Logger logrus.FieldLogger
	// RetryMax is the number of retries after the first attempt: 0 means
	// DefaultRetryMax, a negative value disables retries.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the wait between attempts
	// (exponential backoff); 0 means the default.
	RetryWaitMin, RetryWaitMax time.Duration
	// HTTPClient is an optional base client (transport, TLS, timeout). It is
	// copied, not modified; the copy gets a cookie jar when it has none.
	HTTPClient *http.Client
}

// Client talks to one Jenkins. It is safe for concurrent use.
type Client struct {
	base  string // root URL without trailing slash
	user  string
	token string
	log   logrus.FieldLogger
	http  *http.Client // single attempts (Ready)
	retry *retryablehttp.Client

	crumbMu sync.Mutex
	crumb   *crumb // nil until fetched
}

// crumb is the CSRF crumb of the client's session; a zero crumb means CSRF
// protection is off.
type crumb struct {
	Field string `json:"crumbRequestField"`
	Value string `json:"crumb"`
}

// New returns a client for the Jenkins at cfg.URL. It checks the
// configuration but does not contact Jenkins.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("jenkins URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("jenkins URL %q: scheme must be http or https", cfg.URL)
	case u.Host == "":
		return nil, fmt.Errorf("jenkins URL %q: no host", cfg.URL)
	case u.User != nil:
		return nil, errors.New("jenkins URL: must not carry credentials (use User and Token)")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("jenkins URL %q: must not have a query or fragment", cfg.URL)
	}
	if (cfg.User == "") != (cfg.Token == "") {
		return nil, errors.New("jenkins: user and token go together")
	}

	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else {
		hc = *retryablehttp.NewClient().HTTPClient // go-cleanhttp's pooled client
		hc.Timeout = DefaultTimeout
	}
	if hc.Jar == nil {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return nil, fmt.Errorf("cookie jar: %w", err)
		}
		hc.Jar = jar
	}

	log := cfg.Logger
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = l
	}

	rc := &retryablehttp.Client{
		HTTPClient:   &hc,
		RetryMax:     cfg.RetryMax,
		RetryWaitMin: cfg.RetryWaitMin,
		RetryWaitMax: cfg.RetryWaitMax,
		CheckRetry:   checkRetry,
		Backoff:      backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	if cfg.Logger != nil {
		rc.Logger = NewLeveledLogger(cfg.Logger)
	}
	switch {
	case rc.RetryMax == 0:
		rc.RetryMax = DefaultRetryMax
	case rc.RetryMax < 0:
		rc.RetryMax = 0
	}
	if rc.RetryWaitMin <= 0 {
		rc.RetryWaitMin = DefaultRetryWaitMin
	}
	if rc.RetryWaitMax <= 0 {
		rc.RetryWaitMax = DefaultRetryWaitMax
	}
	rc.RetryWaitMax = max(rc.RetryWaitMax, rc.RetryWaitMin)

	return &Client{
		base:  strings.TrimRight(u.String(), "/"),
		user:  cfg.User,
		token: cfg.Token,
		log:   log,
		http:  &hc,
		retry: rc,
	}, nil
}

// request is one call to Jenkins; path is already escaped.
type request struct {
	method      string
	path        string
	query       url.Values
	contentType string
	body        []byte
}

func (r request) target() string {
	if len(r.query) == 0 {
		return r.path
	}
	return r.path + "?" + r.query.Encode()
}

// response is a fully read answer.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// do sends r with retries. A POST carries the session's CSRF crumb; when
// Jenkins rejects it for a missing or stale crumb (session expired, Jenkins
// restarted) do fetches a new crumb and sends the POST once more: the CSRF
// filter rejects a request before anything is done, so this re-send is safe.
// Any non-2xx answer is returned with a *StatusError.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	if r.method != http.MethodPost {
		return c.send(ctx, r, crumb{})
	}
	cr, err := c.sessionCrumb(ctx, false)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(ctx, r, cr)
	if !isCrumbRejection(resp) {
		return resp, err
	}
	c.log.WithField("path", r.path).Debug("jenkins rejected the CSRF crumb; fetching a new one")
	if cr, err = c.sessionCrumb(ctx, true); err != nil {
		return nil, err
	}
	return c.send(ctx, r, cr)
}

// isCrumbRejection reports whether an answer is Jenkins' CSRF filter
// refusing a POST. Jenkins marks it only by the message of its 403 page.
func isCrumbRejection(resp *response) bool {
	return resp != nil && resp.code == http.StatusForbidden &&
		bytes.Contains(resp.body, []byte("No valid crumb"))
}

// sessionCrumb returns the crumb of the client's session, fetching it when
// there is none yet or refresh is set.
func (c *Client) sessionCrumb(ctx context.Context, refresh bool) (crumb, error) {
	c.crumbMu.Lock()
	defer c.crumbMu.Unlock()
	if c.crumb != nil && !refresh {
		return *c.crumb, nil
	}
	// The answer sets the session cookie the crumb is bound to; the jar keeps it.
	resp, err := c.send(ctx, request{method: http.MethodGet, path: "/crumbIssuer/api/json"}, crumb{})
	switch {
	case errors.Is(err, ErrNotFound):
		c.crumb = &crumb{} // CSRF protection is off
		return crumb{}, nil
	case err != nil:
		return crumb{}, fmt.Errorf("get CSRF crumb: %w", err)
	}
	var cr crumb
	if err := json.Unmarshal(resp.body, &cr); err != nil {
		return crumb{}, fmt.Errorf("get CSRF crumb: decode: %w", err)
	}
	if cr.Field == "" || cr.Value == "" {
		return crumb{}, errors.New("get CSRF crumb: empty crumb in answer")
	}
	c.crumb = &cr
	return cr, nil
}

// send makes one request (with retries, per checkRetry) and reads the answer.
func (c *Client) send(ctx context.Context, r request, cr crumb) (*response, error) {
	var body interface{}
	if r.body != nil {
		body = r.body
	}
	req, err := retryablehttp.NewRequestWithContext(withMethod(ctx, r.method), r.method, c.base+r.target(), body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	c.authorize(req.Request)
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if cr.Field != "" {
		req.Header.Set(cr.Field, cr.Value)
	}

	resp, err := c.retry.Do(req)
	if err != nil {
		if resp != nil { // PassthroughErrorHandler leaves it open
			resp.Body.Close()
		}
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if err != nil && !(ok && r.method == http.MethodPost) {
		// A POST answered 2xx took effect; its body is not needed.
		return nil, fmt.Errorf("%s %s: read answer: %w", r.method, r.target(), err)
	}
	out := &response{code: resp.StatusCode, header: resp.Header, body: data}
	if ok {
		return out, nil
	}
	return out, &StatusError{
		Method: r.method,
		Path:   r.target(),
		Code:   resp.StatusCode,
		Body:   summarize(resp.Header, data),
		kind:   statusKind(resp.StatusCode),
	}
}

func (c *Client) authorize(req *http.Request) {
	if c.user != "" {
		req.SetBasicAuth(c.user, c.token)
	}
}

// Ready asks Jenkins once whether it is up: nil when Jenkins itself answers
// (the X-Jenkins header is set) with 2xx or 403 (up, but the user may not
// read). It returns an error wrapping ErrUnauthorized when Jenkins refuses
// the credentials (401), since waiting will not fix that, and one wrapping
// ErrStarting otherwise (unreachable, 503, an answer from something else).
// It does not wait or retry: callers poll.
func (c *Client) Ready(ctx context.Context) error {
	const path = "/api/json?tree=mode"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("%w: %w", ErrStarting, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))

	se := &StatusError{Method: http.MethodGet, Path: path, Code: resp.StatusCode, kind: ErrStarting}
	switch code := resp.StatusCode; {
	case resp.Header.Get("X-Jenkins") == "":
		se.Body = "no X-Jenkins header: not an answer from a ready Jenkins"
		return se
	case code >= 200 && code < 300, code == http.StatusForbidden:
		return nil
	case code == http.StatusUnauthorized:
		se.kind = ErrUnauthorized
	}
	se.Body = summarize(resp.Header, data)
	return se
}

// jobPath returns the escaped path of a job's endpoint.
func jobPath(name, endpoint string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	return "/job/" + url.PathEscape(name) + "/" + endpoint, nil
}

func checkName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("job name is empty")
	case strings.Contains(name, "/"), name == ".", name == "..":
		return fmt.Errorf("job name %q: folders are not supported", name)
	}
	return nil
}

// JobExists reports whether the job exists.
func (c *Client) JobExists(ctx context.Context, name string) (bool, error) {
	p, err := jobPath(name, "api/json")
	if err != nil {
		return false, err
	}
	_, err = c.do(ctx, request{method: http.MethodGet, path: p, query: url.Values{"tree": {"name"}}})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("get job %s: %w", name, err)
}

// GetJobConfig returns the job's config.xml as Jenkins stores it (usually
// XML 1.1; ParsePipelineJob reads it). A missing job is ErrNotFound.
func (c *Client) GetJobConfig(ctx context.Context, name string) ([]byte, error) {
	p, err := jobPath(name, "config.xml")
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: p})
	if err != nil {
		return nil, fmt.Errorf("get config of job %s: %w", name, err)
	}
	return resp.body, nil
}

// CreateJob creates a job from its config.xml; ErrExists when a job with
// this name exists.
func (c *Client) CreateJob(ctx context.Context, name string, configXML []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	_, err := c.do(ctx, request{
		method:      http.MethodPost,
		path:        "/createItem",
		query:       url.Values{"name": {name}},
		contentType: "application/xml",
		body:        configXML,
	})
	var se *StatusError
	if errors.As(err, &se) && se.Code == http.StatusBadRequest {
		// Jenkins answers 400 to a taken name but also to a bad name or bad
		// XML; the job's existence tells them apart.
		if exists, xerr := c.JobExists(ctx, name); xerr == nil && exists {
			se.kind = ErrExists
		}
	}
	if err != nil {
		return fmt.Errorf("create job %s: %w", name, err)
	}
	return nil
}

// UpdateJobConfig replaces the job's config.xml. A missing job is ErrNotFound.
func (c *Client) UpdateJobConfig(ctx context.Context, name string, configXML []byte) error {
	p, err := jobPath(name, "config.xml")
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodPost, path: p, contentType: "application/xml", body: configXML})
	if err != nil {
		return fmt.Errorf("update config of job %s: %w", name, err)
	}
	return nil
}

// TriggerBuild queues a build of the job, with buildWithParameters when
// params are given, and returns the URL of the queue item (the Location
// Jenkins answers with). The trigger is never sent twice: after an error
// whose cause is not a status from Jenkins the build may or may not be
// queued.
func (c *Client) TriggerBuild(ctx context.Context, name string, params map[string]string) (string, error) {
	r := request{method: http.MethodPost}
	var err error
	if len(params) == 0 {
		r.path, err = jobPath(name, "build")
	} else {
		r.path, err = jobPath(name, "buildWithParameters")
		form := url.Values{}
		for k, v := range params {
			form.Set(k, v)
		}
		r.contentType = "application/x-www-form-urlencoded"
		r.body = []byte(form.Encode())
	}
	if err != nil {
		return "", err
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return "", fmt.Errorf("trigger build of job %s: %w", name, err)
	}
	loc := resp.header.Get("Location")
	if loc == "" {
		// Queued all the same: an error here would invite a second trigger.
		c.log.WithField("job", name).Warn("jenkins queued the build but sent no queue item location")
	}
	return loc, nil
}
