package multiproc

import (
	"context"
	"runtime"
	"sync"
	"time"

	"multiproc.dev/multiproc/internal/capi"
)

// forever is MP_FOREVER, the timeout of a call that waits without limit.
const forever int64 = -1

// timeoutOf is the C timeout of a Go duration d, the one conversion of
// every method that takes a time.Duration. As with time.After and
// context.WithTimeout, a d <= 0 is a deadline that has already passed:
// the call tries once without waiting (0 ms), it never waits forever.
// A positive d is rounded up to whole milliseconds, so that a wait never
// ends early and a sub-millisecond d still waits (1 ms). Every duration
// fits: the largest is about 292 years of milliseconds.
func timeoutOf(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond != 0 {
		ms++
	}
	return ms
}

// timeoutMS is the C timeout of a call limited by ms (forever: none) and
// by the context's deadline, and whether the deadline is the limit.
func timeoutMS(ctx context.Context, ms int64) (int64, bool) {
	if dl, ok := ctx.Deadline(); ok {
		left := timeoutOf(time.Until(dl))
		if ms == forever || left < ms {
			return left, true
		}
	}
	return ms, false
}

// timedOut is the error of a XxxTimeout call: its time ran out, whatever
// d was. A d <= 0 makes the C call a try, whose "nothing now" answer
// (ErrEmpty, ErrFull) is ErrTimeout for a timed call, as for any d > 0.
func timedOut(err error) error {
	if e, ok := err.(*Error); ok && (e.Code == ErrEmpty || e.Code == ErrFull) {
		e.Code = ErrTimeout
	}
	return err
}

// tokens is a free list of cancel tokens, so that a call with a context
// does not create one (an eventfd) each time.
var tokens struct {
	sync.Mutex
	free []capi.Cancel
}

const maxFreeTokens = 64

func getToken() (capi.Cancel, error) {
	tokens.Lock()
	if n := len(tokens.free); n > 0 {
		t := tokens.free[n-1]
		tokens.free = tokens.free[:n-1]
		tokens.Unlock()
		return t, nil
	}
	tokens.Unlock()
	var t capi.Cancel
	err := check("cancel token", func() int { return capi.Mp_cancel_new(&t) })
	return t, err
}

func putToken(t capi.Cancel) {
	capi.Mp_cancel_reset(t)
	tokens.Lock()
	if len(tokens.free) < maxFreeTokens {
		tokens.free = append(tokens.free, t)
		t = 0
	}
	tokens.Unlock()
	if t != 0 {
		capi.Mp_cancel_free(t)
	}
}

// mustContext panics on a nil ctx, as os/exec's CommandContext does: the
// one rule for every call of the package that takes a context. A call
// that does some work before it waits (Apply, Communicate, …) calls it
// first; the waits themselves (blocking, handle.wait) check too.
func mustContext(ctx context.Context) {
	if ctx == nil {
		panic("nil Context")
	}
}

// neverDone reports whether ctx can never end a call (no Done channel,
// hence no deadline: context.Background, context.TODO). Such a call is
// the fast path: one cgo call, no allocation, no OS-thread lock.
func neverDone(ctx context.Context) bool { return ctx.Done() == nil }

// blocking runs f, a blocking C call, with the timeout that the context's
// deadline and limit (C milliseconds, forever: none) allow. While it waits, a goroutine
// fires a cancel token bound to f's OS thread when ctx is done, which
// wakes f at once with MP_ECANCELED. Only f's own thread is blocked.
// The error of a call ended by ctx matches ctx.Err() (errors.Is).
func blocking(ctx context.Context, op string, limit int64, f func(ms int64) int) (int, error) {
	mustContext(ctx)
	if err := ctx.Err(); err != nil {
		return 0, ctxError(op, err)
	}
	ms, fromCtx := timeoutMS(ctx, limit)
	done := ctx.Done()
	if done == nil {
		return call(op, func() int { return f(ms) })
	}
	tok, err := getToken()
	if err != nil {
		return 0, err
	}
	stop := make(chan struct{})
	watcher := make(chan struct{})
	go func() {
		defer close(watcher)
		select {
		case <-done:
			capi.Mp_cancel_fire(tok)
		case <-stop:
		}
	}()

	runtime.LockOSThread()
	prev := capi.Mp_cancel_bind(tok)
	rc := f(ms)
	var e *Error
	if rc < 0 {
		e = newError(op, rc)
	}
	capi.Mp_cancel_bind(prev)
	runtime.UnlockOSThread()

	close(stop)
	<-watcher // the token is not fired after this: it can be reused
	putToken(tok)
	if e == nil {
		return rc, nil
	}
	switch {
	case e.Code == ErrCanceled && ctx.Err() != nil:
		// The deadline passing fires the token too: that is a timeout.
		e.cause = ctx.Err()
		if e.cause == context.DeadlineExceeded {
			e.Code = ErrTimeout
		}
	case e.Code == ErrTimeout && fromCtx:
		e.cause = context.DeadlineExceeded
	}
	return rc, e
}
