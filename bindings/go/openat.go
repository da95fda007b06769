package multiproc

import (
	"context"
	"log"
	"strings"

	"multiproc.dev/multiproc/internal/capi"
)

// The OpenXxxAt functions open, by address, an object that a program
// this one did not start published with Broker.Publish (in any language):
// "unix:/run/app.sock#jobs" is the object "jobs" of the broker at
// /run/app.sock. They wait for the broker until ctx is done: its deadline
// is the C timeout, a cancellation ends the wait at once, and a ctx done
// before the call returns its error (ErrTimeout or ErrCanceled, matching
// ctx.Err() with errors.Is). A nil ctx panics.
//
// Errors of every OpenXxxAt: ErrInvalid (bad address, no #name, or name
// holds another kind of object), ErrNotFound (no broker at the path, or
// nothing published under name), ErrConnRefused (a socket file nobody
// serves), ErrAccess (the broker refused this process), ErrNoSpace (the
// broker has its maximum of clients), ErrBrokenPipe (the broker ended
// during the request), ErrNotSupported (redis:// in a build without it),
// ErrTimeout, ErrCanceled.
//
// The names differ from OpenQueue(i) and the like, which open in a child
// the object its parent passed at index i.

// Warn receives what a call that succeeded has to say, such as a redis
// server whose maxmemory-policy can evict the keys of the queue, dict or
// lock just opened (docs/guide.md "Beyond one machine"). The default
// writes it with the standard log package; set Warn to nil to drop the
// warnings, or to a function of your logger. Set it before opening
// objects: it is read without synchronization.
var Warn = func(msg string) { log.Print("multiproc: ", msg) }

// openAt runs f, one C open by address, under ctx. A redis:// open leaves
// "" or a warning in mp_last_error() when it succeeds (other addresses may
// leave an older message there): that warning goes to Warn.
func openAt(ctx context.Context, op, address string, f func(ms int64) int) error {
	warning := ""
	_, err := blocking(ctx, op, forever, func(ms int64) int {
		rc := f(ms)
		if rc >= 0 && strings.HasPrefix(address, "redis://") {
			warning = capi.Mp_last_error() // on the call's thread: blocking locks it
		}
		return rc
	})
	if err == nil && warning != "" && Warn != nil {
		Warn(warning)
	}
	return err
}

// OpenQueueAt opens the queue published at address, or, with
// "redis://[user@]host[:port][/db]#name", the queue of that name on a
// redis server (made, plain and unbounded, when none exists; see
// docs/guide.md "Beyond one machine"): the same Queue, each call one round
// trip or more, delivery at least once. Its further errors: ErrConnRefused
// (nothing answers at host:port), ErrTimeout (no answer before ctx's
// deadline), ErrAccess (credentials refused; the password comes from
// MULTIPROC_REDIS_PASSWORD_FILE or MULTIPROC_REDIS_PASSWORD), ErrInvalid
// (the queue's keys hold what another client wrote), ErrBrokenPipe (the
// connection was lost mid-call: that call's outcome is unknown),
// ErrNotSupported (a build without the redis backend).
func OpenQueueAt(ctx context.Context, address string) (*Queue, error) {
	var q capi.Queue
	if err := openAt(ctx, "open queue", address, func(ms int64) int { return capi.Mp_queue_open(&q, address, ms) }); err != nil {
		return nil, err
	}
	return newQueue(q), nil
}

// OpenLockAt opens the lock or RLock published at address, or, with
// "redis://[user@]host[:port][/db]#name", the lock of that name on a redis
// server (a lease with a fencing token, see Fence and docs/guide.md
// "Beyond one machine"): a holder that dies or loses its lease is taken
// over with ErrOwnerDead; each try is one round trip. Its further errors
// are those of OpenQueueAt on a redis server.
func OpenLockAt(ctx context.Context, address string) (*Lock, error) {
	var l capi.Lock
	if err := openAt(ctx, "open lock", address, func(ms int64) int { return capi.Mp_lock_open(&l, address, ms) }); err != nil {
		return nil, err
	}
	return newLock(l), nil
}

// OpenSemaphoreAt opens the semaphore published at address.
func OpenSemaphoreAt(ctx context.Context, address string) (*Semaphore, error) {
	var s capi.Sem
	if err := openAt(ctx, "open semaphore", address, func(ms int64) int { return capi.Mp_sem_open(&s, address, ms) }); err != nil {
		return nil, err
	}
	return newSem(s), nil
}

// OpenEventAt opens the event published at address.
func OpenEventAt(ctx context.Context, address string) (*Event, error) {
	var e capi.Event
	if err := openAt(ctx, "open event", address, func(ms int64) int { return capi.Mp_event_open(&e, address, ms) }); err != nil {
		return nil, err
	}
	return newEvent(e), nil
}

// OpenConditionAt opens the condition published at address, over lock:
// this program's handle on the condition's lock (published and opened as
// well), which must outlive the condition.
func OpenConditionAt(ctx context.Context, address string, lock *Lock) (*Condition, error) {
	var c capi.Cond
	lp, err := lock.h.use("open condition")
	if err != nil {
		return nil, err
	}
	defer lock.h.done()
	if err := openAt(ctx, "open condition", address, func(ms int64) int {
		return capi.Mp_cond_open(&c, address, capi.Lock(lp), ms)
	}); err != nil {
		return nil, err
	}
	return newCond(c, lock), nil
}

// OpenBarrierAt opens the barrier published at address.
func OpenBarrierAt(ctx context.Context, address string) (*Barrier, error) {
	var b capi.Barrier
	if err := openAt(ctx, "open barrier", address, func(ms int64) int { return capi.Mp_barrier_open(&b, address, ms) }); err != nil {
		return nil, err
	}
	return newBarrier(b), nil
}

// OpenValueAt opens the Value or Array published at address.
func OpenValueAt(ctx context.Context, address string) (*Value, error) {
	var v capi.Value
	if err := openAt(ctx, "open value", address, func(ms int64) int { return capi.Mp_value_open(&v, address, ms) }); err != nil {
		return nil, err
	}
	return newValue(v), nil
}

// OpenSharedMemoryAt opens the shared memory block published at address.
func OpenSharedMemoryAt(ctx context.Context, address string) (*SharedMemory, error) {
	var s capi.Shm
	if err := openAt(ctx, "open shared memory", address, func(ms int64) int { return capi.Mp_shm_open(&s, address, ms) }); err != nil {
		return nil, err
	}
	return newShm(s), nil
}

// OpenDictAt opens the dict published at address, or, with
// "redis://[user@]host[:port][/db]#name", the dict of that name on a redis
// server (one hash; each call one round trip, Incr and CompareAndSwap
// atomic, keys and values at most 256 MiB: ErrMsgSize above). Its further
// errors are those of OpenQueueAt on a redis server.
func OpenDictAt(ctx context.Context, address string) (*Dict, error) {
	var d capi.Dict
	if err := openAt(ctx, "open dict", address, func(ms int64) int { return capi.Mp_dict_open(&d, address, ms) }); err != nil {
		return nil, err
	}
	return newDict(d), nil
}

// OpenPoolAt opens the pool published at address with
// Broker.PublishPool: Apply, ApplyAsync, Map and Imap run the owner's
// tasks (registered there, by name) on the owner's workers, with the same
// results and worker-death errors. When the owner or its broker ends,
// the waits in progress fail (ErrBrokenPipe, ErrClosed), never hang.
// Close releases this program's handle only.
func OpenPoolAt(ctx context.Context, address string) (*Pool, error) {
	var p capi.Pool
	if err := openAt(ctx, "open pool", address, func(ms int64) int { return capi.Mp_pool_open(&p, address, ms) }); err != nil {
		return nil, err
	}
	return newPool(p), nil
}
