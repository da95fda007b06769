package multiproc

import "multiproc.dev/multiproc/internal/capi"

// Pass hands any shared object to the command under name (letters,
// digits, '_'): a *Lock, *Semaphore, *Event, *Condition, *Barrier,
// *Value, *SharedMemory or *Dict (a *Queue or *Conn goes the same way
// as with PassQueue / PassConn). The program, in any language, opens it
// with the Inherit function of its type (InheritLock(name), ...; in C
// mp_fd_inherit + mp_lock_from_fd, ...; in Ruby Multiproc::Lock.inherit).
// The object must stay open until Start. Call before Start.
func (c *Cmd) Pass(name string, h Handle) { c.pass = append(c.pass, passed{name, h}) }

// passToCommand is the configure step of a passed object that is neither a queue
// nor a connection: its descriptor goes to the command by name.
func passToCommand(cmd capi.Cmd, name string, h Handle) func() int {
	return func() int {
		fd, err := h.fileno()
		if err != nil { // the only failure: the object was closed
			return int(ErrClosed)
		}
		return capi.Mp_cmd_pass_fd(cmd, name, fd)
	}
}

// inheritFd opens, in a program started by a Cmd with Pass, the object
// passed under name: from gets the descriptor and owns it.
func inheritFd(op, name string, from func(fd int) int) error {
	return check(op, func() int {
		var fd int
		if r := capi.Mp_fd_inherit(&fd, name); r != 0 {
			return r
		}
		return from(fd)
	})
}

// InheritLock opens the lock (or RLock) passed under name with Cmd.Pass.
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
