package multiproc

import (
	"context"
	"runtime"
	"time"

	"multiproc.dev/multiproc/internal/capi"
)

// openChild opens the handle passed at index i of a child with from.
func openChild(op string, i int, from func(fd int) int) error {
	return check(op, func() int {
		fd := capi.Mp_child_fd(int64(i))
		if fd < 0 {
			return fd
		}
		return from(fd)
	})
}

// Lock is a lock shared between processes (Lock; RLock with NewRLock).
// Unlike Python's it has an owner: when the owner dies holding it, the
// next Acquire gets it with ErrOwnerDead instead of everyone waiting
// forever.
type Lock struct{ h handle }

func newLock(l capi.Lock) *Lock {
	lock := &Lock{h: handle{p: uintptr(l), free: func(p uintptr) { capi.Mp_lock_free(capi.Lock(p)) }}}
	setFinalizer(lock)
	return lock
}

// NewLock creates a lock.
func NewLock() (*Lock, error) { return makeLock(0) }

// NewRLock creates a recursive lock: its owner may acquire it again.
func NewRLock() (*Lock, error) { return makeLock(1) }

func makeLock(flags int) (*Lock, error) {
	var l capi.Lock
	if err := check("lock new", func() int { return capi.Mp_lock_new(&l, flags) }); err != nil {
		return nil, err
	}
	return newLock(l), nil
}

// OpenLock opens, in a child, the lock passed at index i.
func OpenLock(i int) (*Lock, error) {
	var l capi.Lock
	if err := openChild("open lock", i, func(fd int) int { return capi.Mp_lock_from_fd(&l, fd) }); err != nil {
		return nil, err
	}
	return newLock(l), nil
}

func (l *Lock) fileno() (int, error) {
	return l.h.fd("lock fileno", func(p uintptr) int { return capi.Mp_lock_fileno(capi.Lock(p)) })
}

// Acquire takes the lock, waiting until ctx is done. An error matching
// ErrOwnerDead means the caller holds the lock now but its previous
// holder died holding it: repair the data it guards, then go on.
// The lock belongs to the OS thread that acquired it: Acquire and Release
// lock the goroutine to its thread in between (runtime.LockOSThread).
func (l *Lock) Acquire(ctx context.Context) error { return l.acquire(ctx, forever) }

// AcquireTimeout is Acquire with a timeout instead of a context:
// ErrTimeout if the lock stayed held for d. A d <= 0 has already expired: the call tries once without waiting
// (see Timeouts in the package documentation).
//
// Deprecated: use Acquire with a context from context.WithTimeout, the one
// form of every blocking call (see the package documentation); AcquireTimeout
// stays for the callers of 0.1.
func (l *Lock) AcquireTimeout(d time.Duration) error {
	return l.acquire(context.Background(), timeoutOf(d))
}

// TryAcquire takes the lock if it is free now. A plain Lock the calling
// thread already holds is busy like any other: (false, nil), as Python's
// acquire(False); so is AcquireTimeout's ErrTimeout, returned at once
// (only the holder could release it). Acquire without a deadline by the
// holder is ErrState (it would wait for ever).
func (l *Lock) TryAcquire() (bool, error) { return tried(l.acquire(context.Background(), 0)) }

// tried is the answer of a TryAcquire from its acquire's error: a busy
// lock (the C call's timeout, 0 ms) is (false, nil); ErrOwnerDead took it.
func tried(err error) (bool, error) {
	if isCode(err, ErrTimeout) {
		return false, nil
	}
	return err == nil || isCode(err, ErrOwnerDead), err
}

func (l *Lock) acquire(ctx context.Context, limit int64) error {
	mustContext(ctx) // before the thread is locked
	lockThread()
	_, err := l.h.wait(ctx, "lock acquire", limit, func(p uintptr, ms int64) int {
		return capi.Mp_lock_acquire(capi.Lock(p), ms)
	})
	if err != nil && !isCode(err, ErrOwnerDead) {
		unlockThread()
	}
	return err
}

// Release releases the lock (one level of an RLock). Errors: ErrState
// (the caller does not hold it).
func (l *Lock) Release() error {
	_, err := l.h.do("lock release", func(p uintptr) int { return capi.Mp_lock_release(capi.Lock(p)) })
	if err == nil {
		unlockThread()
	}
	return err
}

// Locked reports whether some process holds the lock.
func (l *Lock) Locked() bool {
	n, err := l.h.do("lock locked", func(p uintptr) int { return capi.Mp_lock_locked(capi.Lock(p)) })
	return err == nil && n == 1
}

// Fence returns the fencing token of this thread's hold of a lock on a
// redis server (OpenLockAt with a redis:// address): greater than every
// earlier hold's, so a resource that remembers the highest token it saw
// can refuse a late write of a holder that lost its lease. Errors:
// ErrState (this thread does not hold the lock), ErrNotSupported (a
// local lock: its holder cannot lose it while alive).
func (l *Lock) Fence() (uint64, error) {
	var f uint64
	_, err := l.h.do("lock fence", func(p uintptr) int { return capi.Mp_lock_fence(&f, capi.Lock(p)) })
	return f, err
}

// Close releases this process's handle (not the lock).
func (l *Lock) Close() error {
	closeObject(l, &l.h)
	return nil
}

// The owner of a process-shared lock is an OS thread, so a goroutine
// holding one stays on its thread until it releases it.
func lockThread()   { runtime.LockOSThread() }
func unlockThread() { runtime.UnlockOSThread() }

func isCode(err error, c Code) bool {
	e, ok := err.(*Error)
	return ok && e.Code == c
}

// Semaphore is a counting semaphore shared between processes (Semaphore,
// BoundedSemaphore). A process that dies after acquiring does not
// release, as in Python.
type Semaphore struct{ h handle }

func newSem(s capi.Sem) *Semaphore {
	sem := &Semaphore{h: handle{p: uintptr(s), free: func(p uintptr) { capi.Mp_sem_free(capi.Sem(p)) }}}
	setFinalizer(sem)
	return sem
}

// NewSemaphore creates a semaphore with an initial value.
func NewSemaphore(value uint) (*Semaphore, error) { return NewBoundedSemaphore(value, 0) }

// NewBoundedSemaphore creates a semaphore whose Release fails with
// ErrState above max (max 0: unbounded).
func NewBoundedSemaphore(value, max uint) (*Semaphore, error) {
	var s capi.Sem
	if err := check("semaphore new", func() int { return capi.Mp_sem_new(&s, value, max) }); err != nil {
		return nil, err
	}
	return newSem(s), nil
}

// OpenSemaphore opens, in a child, the semaphore passed at index i.
func OpenSemaphore(i int) (*Semaphore, error) {
	var s capi.Sem
	if err := openChild("open semaphore", i, func(fd int) int { return capi.Mp_sem_from_fd(&s, fd) }); err != nil {
		return nil, err
	}
	return newSem(s), nil
}

func (s *Semaphore) fileno() (int, error) {
	return s.h.fd("semaphore fileno", func(p uintptr) int { return capi.Mp_sem_fileno(capi.Sem(p)) })
}

// Acquire decrements the value, waiting while it is 0 until ctx is done.
func (s *Semaphore) Acquire(ctx context.Context) error { return s.acquire(ctx, forever) }

// AcquireTimeout is Acquire with a timeout instead of a context:
// ErrTimeout if the value stayed 0 for d. A d <= 0 has already expired: the call tries once without waiting
// (see Timeouts in the package documentation).
//
// Deprecated: use Acquire with a context from context.WithTimeout, the one
// form of every blocking call (see the package documentation); AcquireTimeout
// stays for the callers of 0.1.
func (s *Semaphore) AcquireTimeout(d time.Duration) error {
	return s.acquire(context.Background(), timeoutOf(d))
}

// TryAcquire decrements the value if it is above 0 now: (false, nil)
// when it is 0 (Python's acquire(False)), as Lock.TryAcquire.
func (s *Semaphore) TryAcquire() (bool, error) { return tried(s.acquire(context.Background(), 0)) }

func (s *Semaphore) acquire(ctx context.Context, limit int64) error {
	_, err := s.h.wait(ctx, "semaphore acquire", limit, func(p uintptr, ms int64) int {
		return capi.Mp_sem_acquire(capi.Sem(p), ms)
	})
	return err
}

// Release increments the value and wakes one waiter.
func (s *Semaphore) Release() error {
	_, err := s.h.do("semaphore release", func(p uintptr) int { return capi.Mp_sem_release(capi.Sem(p)) })
	return err
}

// Value is the current value (a snapshot).
func (s *Semaphore) Value() int {
	n, _ := s.h.do("semaphore value", func(p uintptr) int { return capi.Mp_sem_value(capi.Sem(p)) })
	return n
}

// Close releases this process's handle.
func (s *Semaphore) Close() error {
	closeObject(s, &s.h)
	return nil
}

// Event is a flag shared between processes (Event).
type Event struct{ h handle }

func newEvent(e capi.Event) *Event {
	ev := &Event{h: handle{p: uintptr(e), free: func(p uintptr) { capi.Mp_event_free(capi.Event(p)) }}}
	setFinalizer(ev)
	return ev
}

// NewEvent creates an event, initially clear.
func NewEvent() (*Event, error) {
	var e capi.Event
	if err := check("event new", func() int { return capi.Mp_event_new(&e) }); err != nil {
		return nil, err
	}
	return newEvent(e), nil
}

// OpenEvent opens, in a child, the event passed at index i.
func OpenEvent(i int) (*Event, error) {
	var e capi.Event
	if err := openChild("open event", i, func(fd int) int { return capi.Mp_event_from_fd(&e, fd) }); err != nil {
		return nil, err
	}
	return newEvent(e), nil
}

func (e *Event) fileno() (int, error) {
	return e.h.fd("event fileno", func(p uintptr) int { return capi.Mp_event_fileno(capi.Event(p)) })
}

// Set sets the flag and wakes every waiter in every process.
func (e *Event) Set() error {
	_, err := e.h.do("event set", func(p uintptr) int { return capi.Mp_event_set(capi.Event(p)) })
	return err
}

// Clear clears the flag.
func (e *Event) Clear() error {
	_, err := e.h.do("event clear", func(p uintptr) int { return capi.Mp_event_clear(capi.Event(p)) })
	return err
}

// IsSet reports whether the flag is set.
func (e *Event) IsSet() bool {
	n, err := e.h.do("event is set", func(p uintptr) int { return capi.Mp_event_is_set(capi.Event(p)) })
	return err == nil && n == 1
}

// Wait waits until the flag is set or ctx is done.
func (e *Event) Wait(ctx context.Context) error { return e.wait(ctx, forever) }

// WaitTimeout waits up to d for the flag: ErrTimeout if it stays clear.
// A d <= 0 has already expired: the call tries once without waiting
// (see Timeouts in the package documentation).
//
// Deprecated: use Wait with a context from context.WithTimeout, the one
// form of every blocking call (see the package documentation); WaitTimeout
// stays for the callers of 0.1.
func (e *Event) WaitTimeout(d time.Duration) error { return e.wait(context.Background(), timeoutOf(d)) }

func (e *Event) wait(ctx context.Context, limit int64) error {
	_, err := e.h.wait(ctx, "event wait", limit, func(p uintptr, ms int64) int {
		return capi.Mp_event_wait(capi.Event(p), ms)
	})
	return err
}

// Close releases this process's handle.
func (e *Event) Close() error {
	closeObject(e, &e.h)
	return nil
}

// Condition is a condition variable shared between processes, bound to a
// Lock (Condition(lock)).
type Condition struct {
	h    handle
	lock *Lock
}

func newCond(c capi.Cond, lock *Lock) *Condition {
	cond := &Condition{lock: lock, h: handle{p: uintptr(c), free: func(p uintptr) { capi.Mp_cond_free(capi.Cond(p)) }}}
	setFinalizer(cond)
	return cond
}

// NewCondition creates a condition bound to lock (which must outlive it).
func NewCondition(lock *Lock) (*Condition, error) {
	var c capi.Cond
	_, err := lock.h.do("condition new", func(l uintptr) int { return capi.Mp_cond_new(&c, capi.Lock(l)) })
	if err != nil {
		return nil, err
	}
	return newCond(c, lock), nil
}

// OpenCondition opens, in a child, the condition passed at index i,
// bound to this process's handle on the same lock.
func OpenCondition(i int, lock *Lock) (*Condition, error) {
	var c capi.Cond
	lp, err := lock.h.use("open condition")
	if err != nil {
		return nil, err
	}
	defer lock.h.done()
	if err := openChild("open condition", i, func(fd int) int { return capi.Mp_cond_from_fd(&c, fd, capi.Lock(lp)) }); err != nil {
		return nil, err
	}
	return newCond(c, lock), nil
}

func (c *Condition) fileno() (int, error) {
	return c.h.fd("condition fileno", func(p uintptr) int { return capi.Mp_cond_fileno(capi.Cond(p)) })
}

// Lock is the condition's lock.
func (c *Condition) Lock() *Lock { return c.lock }

// Wait releases the lock, waits for a notification (or ctx), and takes the
// lock again before it returns, whatever the outcome. The caller must
// hold the lock; wait in a loop on the condition's predicate.
func (c *Condition) Wait(ctx context.Context) error { return c.wait(ctx, forever) }

// WaitTimeout is Wait with a timeout instead of a context: ErrTimeout
// if no notification came within d (the lock is taken again either
// way). A d <= 0 has already expired: the call tries once without waiting
// (see Timeouts in the package documentation).
//
// Deprecated: use Wait with a context from context.WithTimeout, the one
// form of every blocking call (see the package documentation); WaitTimeout
// stays for the callers of 0.1.
func (c *Condition) WaitTimeout(d time.Duration) error {
	return c.wait(context.Background(), timeoutOf(d))
}

// WaitFor waits until pred returns true (Python's wait_for): pred is
// called with the lock held, before any wait and after each, and once
// more when ctx is done (as Python checks after its timeout). The caller
// must hold the lock, and holds it on return. Returns nil when pred held,
// else the error that ended the wait (ctx's deadline or cancellation,
// ErrOwnerDead: the lock's holder died; repair, then wait again).
//
// It loops over Wait in Go rather than calling the C library's
// mp_cond_wait_for: the same steps, with no Go callback through C.
func (c *Condition) WaitFor(ctx context.Context, pred func() bool) error {
	mustContext(ctx)
	for !pred() {
		err := c.Wait(ctx)
		if err == nil {
			continue
		}
		expired := isCode(err, ErrTimeout) || ctx.Err() != nil
		if expired && pred() {
			return nil
		}
		return err
	}
	return nil
}

func (c *Condition) wait(ctx context.Context, limit int64) error {
	_, err := c.h.wait(ctx, "condition wait", limit, func(p uintptr, ms int64) int {
		return capi.Mp_cond_wait(capi.Cond(p), ms)
	})
	return err
}

// Notify wakes up to n waiters; the caller must hold the lock.
func (c *Condition) Notify(n int) error {
	_, err := c.h.do("condition notify", func(p uintptr) int { return capi.Mp_cond_notify(capi.Cond(p), n) })
	return err
}

// NotifyAll wakes every waiter; the caller must hold the lock.
func (c *Condition) NotifyAll() error {
	_, err := c.h.do("condition notify all", func(p uintptr) int { return capi.Mp_cond_notify_all(capi.Cond(p)) })
	return err
}

// Close releases this process's handle.
func (c *Condition) Close() error {
	closeObject(c, &c.h)
	return nil
}

// Barrier makes parties processes wait for each other (Barrier).
type Barrier struct{ h handle }

func newBarrier(b capi.Barrier) *Barrier {
	bar := &Barrier{h: handle{p: uintptr(b), free: func(p uintptr) { capi.Mp_barrier_free(capi.Barrier(p)) }}}
	setFinalizer(bar)
	return bar
}

// NewBarrier creates a barrier for parties (>= 1) waiters.
func NewBarrier(parties uint) (*Barrier, error) {
	var b capi.Barrier
	if err := check("barrier new", func() int { return capi.Mp_barrier_new(&b, parties) }); err != nil {
		return nil, err
	}
	return newBarrier(b), nil
}

// NewBarrierTimeout creates a barrier with a default timeout (Python's
// Barrier(parties, timeout=)), stored in the barrier: a Wait whose ctx has
// no deadline waits at most d, in every process that opens it; then the
// barrier breaks as for any timeout (ErrTimeout). The action (Barrier's
// action=) is SetAction's.
func NewBarrierTimeout(parties uint, d time.Duration) (*Barrier, error) {
	var b capi.Barrier
	ms := timeoutOf(d)
	if err := check("barrier new", func() int { return capi.Mp_barrier_new2(&b, parties, ms) }); err != nil {
		return nil, err
	}
	return newBarrier(b), nil
}

// OpenBarrier opens, in a child, the barrier passed at index i.
func OpenBarrier(i int) (*Barrier, error) {
	var b capi.Barrier
	if err := openChild("open barrier", i, func(fd int) int { return capi.Mp_barrier_from_fd(&b, fd) }); err != nil {
		return nil, err
	}
	return newBarrier(b), nil
}

func (b *Barrier) fileno() (int, error) {
	return b.h.fd("barrier fileno", func(p uintptr) int { return capi.Mp_barrier_fileno(capi.Barrier(p)) })
}

// Wait waits until parties callers have arrived and returns this caller's
// arrival index (0 to parties-1). Errors: ErrTimeout (the barrier is now
// broken for everyone), ErrState (broken). A ctx that is done first breaks
// the barrier for everyone too, as a timeout does (Python's rule): the
// caller gave up, and the others must not pass without it.
func (b *Barrier) Wait(ctx context.Context) (int, error) {
	return b.h.wait(ctx, "barrier wait", forever, func(p uintptr, ms int64) int {
		rc := capi.Mp_barrier_wait(capi.Barrier(p), ms)
		if Code(rc) == ErrCanceled {
			// The C call keeps a canceled caller's arrival for its thread's
			// next wait; a Go caller gives up instead. On this OS thread
			// (still locked), so that its standing arrival is dropped too.
			capi.Mp_barrier_abort(capi.Barrier(p))
		}
		return rc
	})
}

// Abort breaks the barrier: waiters get ErrState.
func (b *Barrier) Abort() error {
	_, err := b.h.do("barrier abort", func(p uintptr) int { return capi.Mp_barrier_abort(capi.Barrier(p)) })
	return err
}

// Reset returns the barrier to its initial state.
func (b *Barrier) Reset() error {
	_, err := b.h.do("barrier reset", func(p uintptr) int { return capi.Mp_barrier_reset(capi.Barrier(p)) })
	return err
}

// Parties is the number of parties.
func (b *Barrier) Parties() int {
	n, _ := b.h.do("barrier parties", func(p uintptr) int { return capi.Mp_barrier_parties(capi.Barrier(p)) })
	return n
}

// NWaiting is the number of callers waiting now.
func (b *Barrier) NWaiting() int {
	n, _ := b.h.do("barrier n waiting", func(p uintptr) int { return capi.Mp_barrier_n_waiting(capi.Barrier(p)) })
	return n
}

// Broken reports whether the barrier is broken.
func (b *Barrier) Broken() bool {
	n, err := b.h.do("barrier broken", func(p uintptr) int { return capi.Mp_barrier_broken(capi.Barrier(p)) })
	return err == nil && n == 1
}

// Close releases this process's handle.
func (b *Barrier) Close() error {
	closeObject(b, &b.h)
	b.forgetAction()
	return nil
}
