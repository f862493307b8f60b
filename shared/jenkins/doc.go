// Package jenkins is a small client of the Jenkins REST API: readiness, jobs
// by config.xml, build triggers, and pipeline jobs kept in a desired state
// (EnsurePipelineJob, with Diff for --dry-run).
//
// It deals with what a real Jenkins does: 503 while it starts (only an answer
// carrying the X-Jenkins header comes from a ready Jenkins), basic auth with a
// user and API token, CSRF crumbs bound to the session cookie (a cookie jar is
// kept; a 404 from the crumb issuer means CSRF protection is off), and
// config.xml written as XML 1.1, which encoding/xml refuses as is.
//
// Requests go through go-retryablehttp. Reads are retried on connection
// errors, 429 and 5xx. A POST (createItem, config.xml, build) is sent again
// only when it certainly was not handled: the connection could not be opened,
// or Jenkins answered 503 or 429, or its CSRF filter refused a stale crumb. A
// build triggered or a job created twice is worse than an error; after an
// uncertain POST, EnsurePipelineJob reads the job back instead.
//
// Job names are plain top-level names; folders are not supported.
package jenkins
