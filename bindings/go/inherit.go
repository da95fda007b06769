package multiproc

import (
	"sort"

	"multiproc.dev/multiproc/internal/capi"
)

// Pass hands any shared object to the command under name (letters,
// digits, '_'): a *Lock, *Semaphore, *Event, *Condition, *Barrier,
// *Value, *SharedMemory or *Dict (a *Queue or *Conn goes the same way
// as with PassQueue / PassConn). The program, in any language, opens it
// with the Inherit function of its type (InheritLock(name), ...; in C
// mp_fd_inherit + mp_lock_from_fd, ...; in Ruby Multiproc::Lock.inherit).
// The object must stay open until Start. Call before Start.
func (c *Cmd) Pass(name string, h Handle) { c.pass = append(c.pass, passed{name, h}) }

// byName is how one kind of parent (a command, a target process, pool
// options) hands handles to its children by name: its three C calls.
type byName struct {
	queue func(name string, q capi.Queue) int
	conn  func(name string, c capi.Conn) int
	fd    func(name string, fd int) int
}

// step is the configure step that hands h under name: a queue or
// connection as such, any other object as its descriptor.
func (b byName) step(name string, h Handle) func() int {
	switch h := h.(type) {
	case *Queue:
		return func() int { return withHandle(&h.h, func(q uintptr) int { return b.queue(name, capi.Queue(q)) }) }
	case *Conn:
		return func() int { return withHandle(&h.h, func(c uintptr) int { return b.conn(name, capi.Conn(c)) }) }
	}
	return func() int {
		fd, err := h.fileno()
		if err != nil { // the only failure: the object was closed
			return int(ErrClosed)
		}
		return b.fd(name, fd)
	}
}

// namedSteps are the steps of a set of handles by name, in name order.
func (b byName) namedSteps(handles map[string]Handle) []func() int {
	names := make([]string, 0, len(handles))
	for name := range handles {
		names = append(names, name)
	}
	sort.Strings(names)
	steps := make([]func() int, 0, len(names))
	for _, name := range names {
		steps = append(steps, b.step(name, handles[name]))
	}
	return steps
}

// inheritFd opens, in a child given it by name (Cmd.Pass,
// Process.PassNamed, PoolOptions.Pass), the object passed under name:
// from gets the descriptor and owns it.
func inheritFd(op, name string, from func(fd int) int) error {
	return check(op, func() int {
		var fd int
		if r := capi.Mp_fd_inherit(&fd, name); r != 0 {
			return r
		}
		return from(fd)
	})
}

// InheritLock opens the lock (or RLock) passed under name with Cmd.Pass,
// Process.PassNamed or PoolOptions.Pass.
// Errors: ErrNotFound (nothing passed under name), ErrState (name holds a
// queue or connection), ErrInvalid (not a lock).
func InheritLock(name string) (*Lock, error) {
	var l capi.Lock
	if err := inheritFd("inherit lock", name, func(fd int) int { return capi.Mp_lock_from_fd(&l, fd) }); err != nil {
		return nil, err
	}
	return newLock(l), nil
}

// InheritSemaphore opens the semaphore passed under name; errors as InheritLock.
func InheritSemaphore(name string) (*Semaphore, error) {
	var s capi.Sem
	if err := inheritFd("inherit semaphore", name, func(fd int) int { return capi.Mp_sem_from_fd(&s, fd) }); err != nil {
		return nil, err
	}
	return newSem(s), nil
}

// InheritEvent opens the event passed under name; errors as InheritLock.
func InheritEvent(name string) (*Event, error) {
	var e capi.Event
	if err := inheritFd("inherit event", name, func(fd int) int { return capi.Mp_event_from_fd(&e, fd) }); err != nil {
		return nil, err
	}
	return newEvent(e), nil
}

// InheritCondition opens the condition passed under name, over lock (the
// condition's lock, passed and inherited as well); errors as InheritLock.
func InheritCondition(name string, lock *Lock) (*Condition, error) {
	var c capi.Cond
	err := inheritFd("inherit condition", name, func(fd int) int {
		return withHandle(&lock.h, func(lp uintptr) int { return capi.Mp_cond_from_fd(&c, fd, capi.Lock(lp)) })
	})
	if err != nil {
		return nil, err
	}
	return newCond(c, lock), nil
}

// InheritBarrier opens the barrier passed under name; errors as InheritLock.
func InheritBarrier(name string) (*Barrier, error) {
	var b capi.Barrier
	if err := inheritFd("inherit barrier", name, func(fd int) int { return capi.Mp_barrier_from_fd(&b, fd) }); err != nil {
		return nil, err
	}
	return newBarrier(b), nil
}

// InheritDict opens the dict passed under name; errors as InheritLock.
func InheritDict(name string) (*Dict, error) {
	var d capi.Dict
	if err := inheritFd("inherit dict", name, func(fd int) int { return capi.Mp_dict_from_fd(&d, fd) }); err != nil {
		return nil, err
	}
	return newDict(d), nil
}

// InheritValue opens the Value or Array passed under name; errors as InheritLock.
func InheritValue(name string) (*Value, error) {
	var v capi.Value
	if err := inheritFd("inherit value", name, func(fd int) int { return capi.Mp_value_from_fd(&v, fd) }); err != nil {
		return nil, err
	}
	return newValue(v), nil
}

// InheritSharedMemory opens the shared memory block passed under name;
// errors as InheritLock.
func InheritSharedMemory(name string) (*SharedMemory, error) {
	var s capi.Shm
	if err := inheritFd("inherit shared memory", name, func(fd int) int { return capi.Mp_shm_from_fd(&s, fd) }); err != nil {
		return nil, err
	}
	return newShm(s), nil
}
