// Package wait is the one poll helper of stagehand: it checks a condition at
// an interval, logs progress (what, which id, state, elapsed) at a steady
// beat, and honours the step's deadline. No step sleeps in a bare loop.
package wait

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
)

// Target names what is waited for.
type Target struct {
	Kind string // e.g. "nat gateway"
	ID   string
}

func (t Target) String() string {
	if t.ID == "" {
		return t.Kind
	}
	return t.Kind + " " + t.ID
}

// Options tune a wait. Zero values take the defaults.
type Options struct {
	// Interval between checks (default 5s).
	Interval time.Duration
	// Beat is how often progress is logged while the state does not change (default 15s).
	Beat time.Duration
	// Max bounds this wait on top of the context's deadline (0: none).
	Max time.Duration
}

func (o Options) withDefaults() Options {
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
	if o.Beat <= 0 {
		o.Beat = 15 * time.Second
	}
	return o
}

// Check reports whether the wait is over and the state seen. An error ends
// the wait at once.
type Check func(ctx context.Context) (done bool, state string, err error)

// TimeoutError is returned when the deadline passes first; it wraps
// context.DeadlineExceeded, which steps map to exit code 4.
type TimeoutError struct {
	Target    Target
	LastState string
	Elapsed   time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("timed out after %s waiting for %s (last state %q)", e.Elapsed.Round(time.Second), e.Target, e.LastState)
}

func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// Until polls check until it reports done, fails, or the deadline passes.
func Until(ctx context.Context, log logrus.FieldLogger, t Target, o Options, check Check) error {
	o = o.withDefaults()
	if o.Max > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Max)
		defer cancel()
	}
	start := time.Now()
	var last string
	var lastLog time.Time
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return &TimeoutError{Target: t, LastState: last, Elapsed: time.Since(start)}
			}
			return ctx.Err()
		case <-timer.C:
		}
		done, state, err := check(ctx)
		if err != nil {
			if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return &TimeoutError{Target: t, LastState: last, Elapsed: time.Since(start)}
			}
			return fmt.Errorf("wait for %s: %w", t, err)
		}
		elapsed := time.Since(start)
		if done {
			if elapsed >= o.Interval {
				log.WithFields(progressFields(t, state, elapsed)).Info("done waiting")
			}
			return nil
		}
		if state != last || time.Since(lastLog) >= o.Beat {
			log.WithFields(progressFields(t, state, elapsed)).Info("waiting")
			lastLog = time.Now()
		}
		last = state
		timer.Reset(o.Interval)
	}
}

func progressFields(t Target, state string, elapsed time.Duration) logrus.Fields {
	return logrus.Fields{"resource": t.Kind, "id": t.ID, "state": state, "elapsed": elapsed.Round(time.Second).String()}
}

// Retry calls fn until it succeeds, returns an error retryable does not
// accept, or budget runs out; then it returns fn's last error. It is for
// eventual-consistency errors (DependencyViolation, DeleteConflict, IAM
// propagation), which clear by themselves within a bounded time.
func Retry(ctx context.Context, log logrus.FieldLogger, t Target, budget, interval time.Duration, retryable func(error) bool, fn func(ctx context.Context) error) error {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	start := time.Now()
	var lastErr error
	var lastLog time.Time
	for attempt := 1; ; attempt++ {
		lastErr = fn(ctx)
		if lastErr == nil || !retryable(lastErr) {
			return lastErr
		}
		elapsed := time.Since(start)
		if elapsed+interval > budget {
			return fmt.Errorf("gave up after %s and %d attempts: %w", elapsed.Round(time.Second), attempt, lastErr)
		}
		if time.Since(lastLog) >= 15*time.Second || attempt == 1 {
			log.WithFields(logrus.Fields{"resource": t.Kind, "id": t.ID, "attempt": attempt, "elapsed": elapsed.Round(time.Second).String()}).
				WithError(lastErr).Info("not yet possible, retrying")
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return &TimeoutError{Target: t, LastState: lastErr.Error(), Elapsed: time.Since(start)}
			}
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
