package jenkins

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// methodKey carries the request method to checkRetry, which sees only the
// context and, after a transport error, no response.
type methodKey struct{}

func withMethod(ctx context.Context, method string) context.Context {
	return context.WithValue(ctx, methodKey{}, method)
}

// idempotent reports whether the request in ctx may be sent twice. A request
// whose method is unknown counts as not idempotent.
func idempotent(ctx context.Context) bool {
	switch m, _ := ctx.Value(methodKey{}).(string); m {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// checkRetry is the client's retryablehttp.CheckRetry.
//
// A stopped context ends the retries. Reads (GET) are retried on connection
// errors, 429 and 5xx (but 501). A POST — createItem, config.xml, build — may
// have taken effect once it reached Jenkins, so it is sent again only when it
// certainly did not: the connection could not be opened, or Jenkins answered
// 503 (still starting: it handles nothing) or 429 (refused before handling).
// A POST that failed after it may have been written (reset, EOF, timeout
// waiting for the answer) is not retried; the caller gets the error.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	safe := idempotent(ctx)
	if err != nil {
		if !safe {
			return notSent(err), nil
		}
		// Its checks for errors that a retry cannot fix (TLS certificate,
		// scheme, redirects) apply as they are.
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests, code == http.StatusServiceUnavailable:
		return true, nil
	case safe && code >= 500 && code != http.StatusNotImplemented:
		return true, nil
	}
	return false, nil
}

// notSent reports whether a transport error happened before any byte of the
// request could reach the server: the dial (DNS, connection refused, dial
// timeout) to Jenkins or to the proxy failed.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect")
}

// backoff is retryablehttp.DefaultBackoff (exponential, honours Retry-After)
// with Retry-After capped at waitMax, so that no answer makes the client sleep
// longer than configured.
func backoff(waitMin, waitMax time.Duration, attempt int, resp *http.Response) time.Duration {
	return min(retryablehttp.DefaultBackoff(waitMin, waitMax, attempt, resp), waitMax)
}
