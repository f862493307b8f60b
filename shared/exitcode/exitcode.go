// Package exitcode defines the process exit codes every stagehand step uses
// and the error type that carries one from a step's logic up to main.
package exitcode

import (
	"context"
	"errors"
	"fmt"
)

// Exit codes, the same for every step binary.
const (
	OK        = 0 // done
	Failed    = 1 // failed
	Usage     = 2 // bad input or usage; nothing changed
	Refused   = 3 // refused for safety; nothing changed
	Timeout   = 4 // timed out waiting (the --timeout deadline passed)
	Leftovers = 5 // verify-clean found resources left
)

// Names maps each code to its documented meaning.
var Names = map[int]string{
	OK:        "done",
	Failed:    "failed",
	Usage:     "bad input or usage (nothing changed)",
	Refused:   "refused for safety (nothing changed)",
	Timeout:   "timed out waiting",
	Leftovers: "leftovers found",
}

// Error is an error that decides the exit code of the process.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// New wraps err with an exit code. A nil err stays nil.
func New(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Usagef returns an exit-2 error: bad input, nothing changed.
func Usagef(format string, args ...any) error {
	return &Error{Code: Usage, Err: fmt.Errorf(format, args...)}
}

// Refusedf returns an exit-3 error: refused for safety, nothing changed.
func Refusedf(format string, args ...any) error {
	return &Error{Code: Refused, Err: fmt.Errorf(format, args...)}
}

// Of returns the exit code for err: the code of the outermost *Error in its
// chain, Timeout for a passed deadline, Failed for anything else.
func Of(err error) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Timeout
	}
	return Failed
}
