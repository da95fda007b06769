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
	if p := h.take(); p != 0 {
		h.free(p)
	}
}

// take marks the handle closed once no call uses it and returns the C
// handle (0 if it was closed already), for a Close with work to do
// between (Pool.Close withdraws the pool from brokers) before h.free.
func (h *handle) take() uintptr {
	h.mu.Lock()
	p := h.p
	h.p = 0
	h.mu.Unlock()
	return p
}

// closer is what every object of the package is: Close releases this
// process's handle.
type closer interface{ Close() error }

// setFinalizer makes the garbage collector close obj if the program
// forgot to; closeObject, which every Close calls, clears it.
func setFinalizer[T closer](obj T) {
	runtime.SetFinalizer(obj, func(o T) { _ = o.Close() })
}

// closeObject frees h, the handle of obj, and clears obj's finalizer, as
// go-sqlite3's Close does: a closed object needs no safety net, and the
// collector then frees it in one cycle instead of two.
func closeObject(obj closer, h *handle) {
	runtime.SetFinalizer(obj, nil)
	h.close()
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
	mustContext(ctx)
	p, err := h.use(op)
	if err != nil {
		return 0, err
	}
	defer h.done()
	if neverDone(ctx) { // the hot path: no context work
		return call(op, func() int { return f(p, limit) })
	}
	return blocking(ctx, op, limit, func(ms int64) int { return f(p, ms) })
}

// fd returns the handle's descriptor through fileno (for passing).
func (h *handle) fd(op string, fileno func(p uintptr) int) (int, error) {
	return h.do(op, fileno)
}
