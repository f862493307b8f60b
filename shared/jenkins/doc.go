// Package jenkins is a small client of the Jenkins REST API: readiness, jobs
// by config.xml, build triggers, and pipeline jobs kept in a desired state.
//
// It deals with what a real Jenkins does: 503 while it starts (only an answer
// carrying the X-Jenkins header comes from a ready Jenkins), basic auth with a
// user and API token, CSRF crumbs bound to the session cookie (a cookie jar is
// kept; a 404 from the crumb issuer means CSRF protection is off), and
// config.xml written as XML 1.1, which encoding/xml refuses as is.
//
// Requests go through go-retryablehttp. Reads are retried on connection
// errors, 429 and 5xx; a POST is sent again only when it certainly did not
// reach Jenkins (see checkRetry), because a build trigger or a createItem that
// took effect must not happen twice.
//
// Job names are plain top-level names; folders are not supported.
package jenkins
