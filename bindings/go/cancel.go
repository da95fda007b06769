package multiproc

import (
	"context"
	"math"
	"runtime"
	"sync"
	"time"

	"multiproc.dev/multiproc/internal/capi"
)

// forever is MP_FOREVER, the timeout of a call that waits without limit.
const forever int64 = -1

// timeoutMS turns the context's deadline and an explicit timeout d (d < 0:
// none) into the C timeout in milliseconds (rounded up, so a wait never
// ends early), and reports whether the context's deadline is the limit.
func timeoutMS(ctx context.Context, d time.Duration) (ms int64, fromCtx bool) {
	ms = limitMS(d)
	if dl, ok := ctx.Deadline(); ok {
		left := durationMS(time.Until(dl))
		if ms < 0 || left < ms {
			return left, true
		}
	}
	return ms, false
}

// limitMS is the C timeout for an explicit timeout d (d < 0: forever).
func limitMS(d time.Duration) int64 {
	if d < 0 {
		return forever
	}
	return durationMS(d)
}

func durationMS(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxInt64/2 {
		return forever
	}
	return int64(ms)
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

// blocking runs f, a blocking C call, with the timeout ms that the
// context's deadline and d (< 0: none) allow. While it waits, a goroutine
// fires a cancel token bound to f's OS thread when ctx is done, which
// wakes f at once with MP_ECANCELED. Only f's own thread is blocked.
// The error of a call ended by ctx matches ctx.Err() (errors.Is).
func blocking(ctx context.Context, op string, d time.Duration, f func(ms int64) int) (int, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return 0, ctxError(op, err)
	}
	ms, fromCtx := timeoutMS(ctx, d)
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
