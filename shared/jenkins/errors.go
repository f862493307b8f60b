package jenkins

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
)

// Sentinel errors; test with errors.Is. Every non-2xx answer is a *StatusError
// that unwraps to one of them when its status has a meaning here.
var (
	// ErrNotFound: the job (or endpoint) does not exist (404).
	ErrNotFound = errors.New("jenkins: not found")
	// ErrExists: createItem refused the name because a job already has it (400).
	ErrExists = errors.New("jenkins: job already exists")
	// ErrUnauthorized: missing, wrong or insufficient credentials (401/403).
	ErrUnauthorized = errors.New("jenkins: unauthorized")
	// ErrStarting: Jenkins is not ready yet (503, or an answer without the
	// X-Jenkins header, i.e. not from Jenkins itself).
	ErrStarting = errors.New("jenkins: not ready")
	// ErrNotPipeline: the job's config.xml is not a pipeline (flow-definition).
	ErrNotPipeline = errors.New("jenkins: not a pipeline job")
)

// StatusError is a non-2xx answer from Jenkins.
type StatusError struct {
	Method string
	Path   string // path and query of the request, relative to the Jenkins URL
	Code   int
	Body   string // short summary of the answer: Jenkins' X-Error header, the page title or the start of the body
	kind   error
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Unwrap returns the sentinel error matching the status, or nil.
func (e *StatusError) Unwrap() error { return e.kind }

// statusKind maps a status code to its sentinel. ErrExists depends on the
// operation and is decided by CreateJob.
func statusKind(code int) error {
	switch code {
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrUnauthorized
	case http.StatusServiceUnavailable:
		return ErrStarting
	}
	return nil
}

const maxSummary = 200

var (
	titleRE = regexp.MustCompile(`(?is)<title>(.*?)</title>`)
	spaceRE = regexp.MustCompile(`\s+`)
)

// summarize returns a one-line summary of an error answer. Jenkins puts the
// message of a failed form submission in X-Error; error pages are HTML whose
// title carries the message.
func summarize(h http.Header, body []byte) string {
	s := h.Get("X-Error")
	if s == "" {
		s = string(body)
		if m := titleRE.FindStringSubmatch(s); m != nil {
			s = html.UnescapeString(m[1])
		}
	}
	s = strings.TrimSpace(spaceRE.ReplaceAllString(s, " "))
	if r := []rune(s); len(r) > maxSummary {
		s = string(r[:maxSummary]) + "…"
	}
	return s
}
