package jenkins

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestCheckRetry(t *testing.T) {
	dial := &url.Error{Op: "Post", URL: "http://j", Err: &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}}
	reset := &url.Error{Op: "Post", URL: "http://j", Err: &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}}
	eof := &url.Error{Op: "Post", URL: "http://j", Err: io.EOF}
	timeout := &url.Error{Op: "Post", URL: "http://j", Err: errors.New("net/http: request canceled (Client.Timeout exceeded while awaiting headers)")}
	status := func(code int) *http.Response { return &http.Response{StatusCode: code} }

	tests := []struct {
		name   string
		method string
		resp   *http.Response
		err    error
		want   bool
	}{
		{"GET connection refused", "GET", nil, dial, true},
		{"GET connection reset", "GET", nil, reset, true},
		{"GET EOF", "GET", nil, eof, true},
		{"GET 429", "GET", status(429), nil, true},
		{"GET 500", "GET", status(500), nil, true},
		{"GET 502", "GET", status(502), nil, true},
		{"GET 503", "GET", status(503), nil, true},
		{"GET 504", "GET", status(504), nil, true},
		{"GET 501", "GET", status(501), nil, false},
		{"GET 200", "GET", status(200), nil, false},
		{"GET 403", "GET", status(403), nil, false},
		{"GET 404", "GET", status(404), nil, false},
		{"POST connection refused", "POST", nil, dial, true},
		{"POST connection reset", "POST", nil, reset, false},
		{"POST EOF after write", "POST", nil, eof, false},
		{"POST timeout awaiting answer", "POST", nil, timeout, false},
		{"POST 429", "POST", status(429), nil, true},
		{"POST 503 (starting)", "POST", status(503), nil, true},
		{"POST 500", "POST", status(500), nil, false},
		{"POST 502", "POST", status(502), nil, false},
		{"POST 504", "POST", status(504), nil, false},
		{"POST 201", "POST", status(201), nil, false},
		{"unknown method EOF", "", nil, eof, false},
		{"unknown method 500", "", status(500), nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.method != "" {
				ctx = withMethod(ctx, tc.method)
			}
			got, err := checkRetry(ctx, tc.resp, tc.err)
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if got != tc.want {
				t.Errorf("retry = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheckRetryContextFirst(t *testing.T) {
	ctx, cancel := context.WithCancel(withMethod(context.Background(), "GET"))
	cancel()
	retry, err := checkRetry(ctx, &http.Response{StatusCode: 503}, nil)
	if retry || !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, %v; want false, context.Canceled", retry, err)
	}
}

func TestBackoffCapsRetryAfter(t *testing.T) {
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"3600"}}}
	if d := backoff(time.Millisecond, 50*time.Millisecond, 0, resp); d != 50*time.Millisecond {
		t.Errorf("backoff = %v, want 50ms", d)
	}
}

func TestSummarize(t *testing.T) {
	long := make([]byte, 500)
	for i := range long {
		long[i] = 'x'
	}
	tests := []struct {
		name string
		h    http.Header
		body string
		want string
	}{
		{"X-Error wins", http.Header{"X-Error": {"A job already exists with the name ‘seed’"}}, "<html>…</html>", "A job already exists with the name ‘seed’"},
		{"HTML title", nil, "<html><head><title>Error 403 No valid crumb was included in the request</title></head></html>", "Error 403 No valid crumb was included in the request"},
		{"entities", nil, "<title>Error &lt;x&gt;</title>", "Error <x>"},
		{"plain text collapsed", nil, "  line one\n  line two  ", "line one line two"},
		{"truncated", nil, string(long), string(long[:maxSummary]) + "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := summarize(tc.h, []byte(tc.body)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
