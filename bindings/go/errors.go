package multiproc

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"runtime"

	"multiproc.dev/multiproc/internal/capi"
)

// Code is a multiproc error code (the C library's MP_E* codes). The
// exported Err* codes are the sentinels to compare errors with:
//
//	if errors.Is(err, multiproc.ErrTimeout) { ... }
type Code int

// The error codes, one per MP_E* code of the C library, same values.
const (
	ErrInvalid      Code = -1  // MP_EINVAL: invalid argument
	ErrNoMemory     Code = -2  // MP_ENOMEM: out of memory
	ErrTimeout      Code = -3  // MP_ETIMEDOUT: the timeout or deadline passed
	ErrEmpty        Code = -4  // MP_EEMPTY: nothing to get without waiting
	ErrFull         Code = -5  // MP_EFULL: no room to put without waiting
	ErrClosed       Code = -6  // MP_ECLOSED: closed, or the end of a stream
	ErrBrokenPipe   Code = -7  // MP_EPIPE: the peer is gone
	ErrNotFound     Code = -8  // MP_ENOENT: no such file, program, name or key
	ErrState        Code = -9  // MP_ESTATE: not valid in the object's state
	ErrOwnerDead    Code = -10 // MP_EOWNERDEAD: the lock's previous holder died (the caller holds it now)
	ErrWorkerDied   Code = -11 // MP_EWORKERDIED: the pool worker running the task died
	ErrTaskFailed   Code = -12 // MP_ETASKFAILED: the task returned an error
	ErrCanceled     Code = -13 // MP_ECANCELED: canceled (context, or pool terminated)
	ErrNoSpace      Code = -14 // MP_ENOSPC: no space left (or buffer too small)
	ErrMsgSize      Code = -15 // MP_EMSGSIZE: message too large
	ErrSystem       Code = -16 // MP_ESYS: a system call failed
	ErrAccess       Code = -17 // MP_EACCES: permission denied
	ErrNotSupported Code = -18 // MP_ENOTSUP: not supported on this platform
	ErrExist        Code = -19 // MP_EEXIST: already exists
	// MP_ECALLEDPROCESS: a command exited with a non-zero status where the
	// caller asked for success (the C mp_cmd_check). Cmd.Run reports an
	// *ExitError instead, as os/exec does.
	ErrCalledProcess Code = -20
	// MP_ECONNREFUSED: nothing serves the address (a socket file nobody
	// listens on, a TCP port closed).
	ErrConnRefused Code = -21
)

// Error returns the code's description ("operation timed out").
func (c Code) Error() string { return capi.Mp_strerror(int(c)) }

// Name returns the code's C name without the MP_ prefix ("ETIMEDOUT").
func (c Code) Name() string { return capi.Mp_err_name(int(c)) }

// Error is the error of a failed multiproc call.
type Error struct {
	Code Code   // what went wrong; errors.Is(err, Code) matches it
	Op   string // the operation ("queue get")
	Msg  string // the C library's detailed message (mp_last_error), may be ""
	// Detail is a pool task's own error message (ErrTaskFailed), if any.
	Detail string

	cause error // context.Canceled or context.DeadlineExceeded, if any
	also  error // another sentinel it matches (fs.ErrNotExist for a spawn's ENOENT)
	eof   bool  // the end of a stream (a receive's ErrClosed): matches io.EOF
}

func (e *Error) Error() string {
	s := "multiproc: " + e.Op + ": " + e.Code.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Msg != "" && e.Msg != e.Detail {
		s += " (" + e.Msg + ")"
	}
	return s
}

// Is reports whether target is e's code; the end of a stream (the
// ErrClosed of Conn.Recv, Conn.RecvInto and a queue's gets) also matches
// io.EOF.
func (e *Error) Is(target error) bool {
	if target == io.EOF {
		return e.eof
	}
	if e.also != nil && target == e.also {
		return true
	}
	c, ok := target.(Code)
	return ok && c == e.Code
}

// endOfStream marks the ErrClosed of a receive as the end of the stream
// (io.EOF); other errors pass unchanged.
func endOfStream(err error) error {
	if e, ok := err.(*Error); ok && e.Code == ErrClosed {
		e.eof = true
	}
	return err
}

// Unwrap returns the context error that ended the call, if any, so that
// errors.Is(err, context.Canceled) holds for a canceled call.
func (e *Error) Unwrap() error { return e.cause }

// newError builds the error of a failed call. Call it on the OS thread of
// the failed call (see call), because mp_last_error is per thread.
func newError(op string, rc int) *Error {
	return &Error{Code: Code(rc), Op: op, Msg: capi.Mp_last_error()}
}

// call runs f, one C call, with the goroutine locked to its OS thread, so
// that the message read after a failure is the one of this call. It
// returns f's non-negative result, or an *Error.
func call(op string, f func() int) (int, error) {
	runtime.LockOSThread()
	rc := f()
	var err error
	if rc < 0 {
		err = newError(op, rc)
	}
	runtime.UnlockOSThread()
	if err != nil {
		return rc, err
	}
	return rc, nil
}

// check is call for functions that return only a status.
func check(op string, f func() int) error {
	_, err := call(op, f)
	return err
}

// ctxError is the error of a call whose context was done before it began
// or while it waited.
func ctxError(op string, err error) *Error {
	code := ErrCanceled
	if errors.Is(err, context.DeadlineExceeded) {
		code = ErrTimeout
	}
	return &Error{Code: code, Op: op, cause: err}
}

// ExitError reports a command or process that ended unsuccessfully, as
// os/exec's: its Error is "exit status 3" or "signal: killed", its
// ExitCode() is -1 for a signal death (the signal: Signal(), or
// Sys().(syscall.WaitStatus)).
type ExitError struct {
	*ProcessState
	Stderr []byte // the command's stderr, if Output or Communicate collected it
}

func (e *ExitError) Error() string { return e.ProcessState.String() }

// execError is an error of os/exec's text (callers match the text); it
// also matches a multiproc code with errors.Is.
type execError struct {
	msg  string
	code Code
}

func (e *execError) Error() string { return e.msg }

func (e *execError) Is(target error) bool {
	c, ok := target.(Code)
	return ok && c == e.code
}

// wrappedError is os/exec's "prefix: error" that unwraps to the error.
type wrappedError struct {
	prefix string
	err    error
}

func (w *wrappedError) Error() string { return w.prefix + ": " + w.err.Error() }
func (w *wrappedError) Unwrap() error { return w.err }

// The sentinels of os/exec that LookPath and Start errors match.
var (
	errExecNotFound = exec.ErrNotFound
	errExecDot      = exec.ErrDot
)

// lookPathError is os/exec's *exec.Error for name: its text and
// errors.Is are sentinel's (exec.ErrNotFound, exec.ErrDot, ...); it also
// matches, and errors.As finds, what cause holds (a multiproc *Error with
// its code and the C library's message).
func lookPathError(name string, cause, sentinel error) error {
	return &exec.Error{Name: name, Err: &lookError{sentinel: sentinel, cause: cause}}
}

type lookError struct{ sentinel, cause error }

func (e *lookError) Error() string              { return e.sentinel.Error() }
func (e *lookError) Unwrap() error              { return e.sentinel }
func (e *lookError) Is(target error) bool       { return errors.Is(e.cause, target) }
func (e *lookError) As(target interface{}) bool { return errors.As(e.cause, target) }

// errClosedHandle is the error of a call on an object after its Close.
func errClosedHandle(op string) error {
	return &Error{Code: ErrClosed, Op: op, Msg: "use of a closed object"}
}
