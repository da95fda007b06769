package multiproc

import (
	"context"
	"runtime"
	"sync"
)

// handle guards one C handle: calls hold the read lock while they use it,
// Close takes the write lock, so a handle is never freed under a call in
// progress (Close waits for it) and a call after Close gets ErrClosed.
type handle struct {
	mu   sync.RWMutex
	p    uintptr
	free func(uintptr)
}

// use returns the C handle and holds it until done; after Close it
// returns an error instead.
func (h *handle) use(op string) (uintptr, error) {
	h.mu.RLock()
	if h.p == 0 {
		h.mu.RUnlock()
		return 0, errClosedHandle(op)
	}
	return h.p, nil
}

func (h *handle) done() { h.mu.RUnlock() }

// close frees the C handle once; later calls do nothing.
func (h *handle) close() {
	h.mu.Lock()
	p := h.p
	h.p = 0
	h.mu.Unlock()
	if p != 0 {
		h.free(p)
	}
}

// closer is what every object of the package is: Close releases this
// process's handle.
type closer interface{ Close() error }

// setFinalizer makes the garbage collector close obj if the program
// forgot to; Close removes it.
func setFinalizer[T closer](obj T) {
	runtime.SetFinalizer(obj, func(o T) { _ = o.Close() })
}

// do runs f, one non-blocking C call, with the C handle.
func (h *handle) do(op string, f func(p uintptr) int) (int, error) {
	p, err := h.use(op)
	if err != nil {
		return 0, err
	}
	defer h.done()
	return call(op, func() int { return f(p) })
}

// wait runs f, a blocking C call, with the C handle and the timeout that
// ctx and limit (C milliseconds, forever: none) allow (see blocking).
func (h *handle) wait(ctx context.Context, op string, limit int64, f func(p uintptr, ms int64) int) (int, error) {
	p, err := h.use(op)
	if err != nil {
		return 0, err
	}
	defer h.done()
	if ctx == nil { // the hot path of queue puts and gets: no context work
		return call(op, func() int { return f(p, limit) })
	}
	return blocking(ctx, op, limit, func(ms int64) int { return f(p, ms) })
}

// fd returns the handle's descriptor through fileno (for passing).
func (h *handle) fd(op string, fileno func(p uintptr) int) (int, error) {
	return h.do(op, fileno)
}
