package wait

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

func quiet() logrus.FieldLogger {
	l, _ := test.NewNullLogger()
	return l
}

func TestUntilDone(t *testing.T) {
	n := 0
	err := Until(context.Background(), quiet(), Target{"thing", "t-1"}, Options{Interval: time.Millisecond},
		func(context.Context) (bool, string, error) {
			n++
			return n == 3, "pending", nil
		})
	if err != nil || n != 3 {
		t.Fatalf("err=%v n=%d, want nil and 3 checks", err, n)
	}
}

func TestUntilCheckError(t *testing.T) {
	boom := errors.New("boom")
	err := Until(context.Background(), quiet(), Target{"thing", "t-1"}, Options{Interval: time.Millisecond},
		func(context.Context) (bool, string, error) { return false, "", boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
}

func TestUntilDeadlineIsTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := Until(ctx, quiet(), Target{"nat gateway", "nat-1"}, Options{Interval: time.Millisecond},
		func(context.Context) (bool, string, error) { return false, "pending", nil })
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a TimeoutError wrapping DeadlineExceeded", err)
	}
	if te.LastState != "pending" || te.Target.ID != "nat-1" {
		t.Fatalf("timeout error lost its context: %+v", te)
	}
}

func TestUntilMax(t *testing.T) {
	err := Until(context.Background(), quiet(), Target{"x", ""}, Options{Interval: time.Millisecond, Max: 10 * time.Millisecond},
		func(context.Context) (bool, string, error) { return false, "s", nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want deadline", err)
	}
}

func TestUntilProgressLogged(t *testing.T) {
	l, hook := test.NewNullLogger()
	n := 0
	_ = Until(context.Background(), l, Target{"vpc", "vpc-1"}, Options{Interval: time.Millisecond},
		func(context.Context) (bool, string, error) {
			n++
			return n == 2, "pending", nil
		})
	if len(hook.Entries) == 0 || hook.Entries[0].Data["id"] != "vpc-1" || hook.Entries[0].Data["state"] != "pending" {
		t.Fatalf("no progress entry with id and state: %+v", hook.Entries)
	}
}

var errBusy = errors.New("busy")

func TestRetry(t *testing.T) {
	retryable := func(err error) bool { return errors.Is(err, errBusy) }
	tests := []struct {
		name    string
		results []error
		budget  time.Duration
		wantErr error
		calls   int
	}{
		{"first try", []error{nil}, time.Second, nil, 1},
		{"after busy", []error{errBusy, errBusy, nil}, time.Second, nil, 3},
		{"not retryable", []error{errors.New("denied")}, time.Second, nil, 1},
		{"budget spent", []error{errBusy, errBusy, errBusy, errBusy, errBusy, errBusy, errBusy, errBusy, errBusy, errBusy}, 3 * time.Millisecond, errBusy, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := Retry(context.Background(), quiet(), Target{"subnet", "s-1"}, tt.budget, time.Millisecond, retryable,
				func(context.Context) error {
					r := tt.results[min(calls, len(tt.results)-1)]
					calls++
					return r
				})
			if tt.name == "not retryable" {
				if err == nil || errors.Is(err, errBusy) {
					t.Fatalf("got %v, want the non-retryable error", err)
				}
			} else if !errors.Is(err, tt.wantErr) && !(err == nil && tt.wantErr == nil) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if tt.calls > 0 && calls != tt.calls {
				t.Fatalf("calls = %d, want %d", calls, tt.calls)
			}
		})
	}
}
