package multiproc

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <multiproc.h>

// The hot path of Put, Get and GetInto calls the library directly rather
// than through SWIG's wrapper, whose slice arguments are structs that cgo
// checks field by field and copies to the heap, and whose out-parameters
// escape to the heap: here a message is a char pointer and a length (cgo
// does not check a pointer to memory without pointers), and what a get
// returns comes back by value.
typedef struct mp_go_got {
  int rc;
  void *data; // mp_queue_get: the message, freed with mp_free
  size_t len;
} mp_go_got;

static int mp_go_queue_put(uintptr_t q, const char *msg, size_t len, int64_t ms) {
  return mp_queue_put((mp_queue_t *)q, msg, len, ms);
}

static mp_go_got mp_go_queue_get(uintptr_t q, int64_t ms) {
  mp_go_got g = {0, NULL, 0};
  g.rc = mp_queue_get(&g.data, &g.len, (mp_queue_t *)q, ms);
  return g;
}

static mp_go_got mp_go_queue_get_into(uintptr_t q, char *buf, size_t cap, int64_t ms) {
  mp_go_got g = {0, NULL, 0};
  g.rc = mp_queue_get_into(&g.len, (mp_queue_t *)q, buf, cap, ms);
  return g;
}

// The hot paths of a context never done (Put, GetInto with context.Background()): one cgo
// call that also hands back the thread's error message (malloc()ed, on
// failure only), so the Go side needs no OS-thread lock to read it later.
typedef struct mp_go_fast {
  int rc;
  size_t len;
  char *err; // free()
} mp_go_fast;

static char *mp_go_err(int rc) { return rc < 0 ? strdup(mp_last_error()) : NULL; }

static mp_go_fast mp_go_queue_put_fast(uintptr_t q, const char *msg, size_t len, int64_t ms) {
  mp_go_fast f = {0, 0, NULL};
  f.rc = mp_queue_put((mp_queue_t *)q, msg, len, ms);
  f.err = mp_go_err(f.rc);
  return f;
}

static mp_go_fast mp_go_queue_get_into_fast(uintptr_t q, char *buf, size_t cap, int64_t ms) {
  mp_go_fast f = {0, 0, NULL};
  f.rc = mp_queue_get_into(&f.len, (mp_queue_t *)q, buf, cap, ms);
  f.err = mp_go_err(f.rc);
  return f;
}
*/
import "C"

import (
	"context"
	"time"
	"unsafe"

	"multiproc.dev/multiproc/internal/capi"
)

// Queue is a multi-producer, multi-consumer queue of byte messages in
// shared memory (Python's Queue and JoinableQueue). Messages of any size
// go through; each is delivered once, in order per producer. A process
// killed in the middle of a put or get loses at most that message.
type Queue struct {
	h    handle
	ring *ringView // nil: every call goes through the library (queue_ring.go)
}

// QueueOptions are the settings of NewQueueWith.
type QueueOptions struct {
	MaxSize  int  // most messages queued at once; 0: no limit
	MaxBytes int  // size of the shared ring; 0: 1 MiB; larger messages are streamed
	Joinable bool // count TaskDone for Join (JoinableQueue)
}

// NewQueue creates a queue of at most maxsize messages (0: no limit).
func NewQueue(maxsize int) (*Queue, error) { return NewQueueWith(QueueOptions{MaxSize: maxsize}) }

// NewJoinableQueue creates a queue whose consumers call TaskDone and whose
// Join waits for every message to be done (JoinableQueue).
func NewJoinableQueue(maxsize int) (*Queue, error) {
	return NewQueueWith(QueueOptions{MaxSize: maxsize, Joinable: true})
}

// NewQueueWith creates a queue with options.
func NewQueueWith(o QueueOptions) (*Queue, error) {
	var q capi.Queue
	flags := 0
	if o.Joinable {
		flags = capi.MP_QUEUE_JOINABLE
	}
	if o.MaxSize < 0 {
		return nil, &Error{Code: ErrInvalid, Op: "queue new", Msg: "maxsize must be >= 0 (0: no limit)"}
	}
	if o.MaxBytes < 0 {
		return nil, &Error{Code: ErrInvalid, Op: "queue new", Msg: "MaxBytes must be >= 0 (0: 1 MiB)"}
	}
	if err := check("queue new", func() int { return capi.Mp_queue_new(&q, int64(o.MaxSize), int64(o.MaxBytes), flags) }); err != nil {
		return nil, err
	}
	return newQueue(q), nil
}

func newQueue(q capi.Queue) *Queue {
	queue := &Queue{h: handle{p: uintptr(q), free: func(p uintptr) { capi.Mp_queue_free(capi.Queue(p)) }}}
	queue.ring = newRingView(uintptr(q))
	setFinalizer(queue)
	return queue
}

// OpenQueue opens, in a child, the queue passed at index i.
func OpenQueue(i int) (*Queue, error) {
	var q capi.Queue
	err := check("open queue", func() int {
		fd := capi.Mp_child_fd(int64(i))
		if fd < 0 {
			return fd
		}
		return capi.Mp_queue_from_fd(&q, fd)
	})
	if err != nil {
		return nil, err
	}
	return newQueue(q), nil
}

// InheritQueue opens, in a command's program, the queue passed under name
// with Cmd.PassQueue (from any language).
func InheritQueue(name string) (*Queue, error) {
	var q capi.Queue
	if err := check("inherit queue", func() int { return capi.Mp_queue_inherit(&q, name) }); err != nil {
		return nil, err
	}
	return newQueue(q), nil
}

func (q *Queue) fileno() (int, error) {
	return q.h.fd("queue fileno", func(p uintptr) int { return capi.Mp_queue_fileno(capi.Queue(p)) })
}

// Put puts one message, waiting while the queue is full until ctx is
// done. Errors: ErrClosed (Shutdown was called), ErrTimeout, ErrCanceled.
func (q *Queue) Put(ctx context.Context, msg []byte) error { return q.put(ctx, msg, forever) }

// PutTimeout is Put with a timeout instead of a context: ErrTimeout if
// there was no room within d. A d <= 0 has already expired: the call tries once without waiting
// (see Timeouts in the package documentation).
//
// Deprecated: use Put with a context from context.WithTimeout, the one
// form of every blocking call (see the package documentation); PutTimeout
// stays for the callers of 0.1.
func (q *Queue) PutTimeout(msg []byte, d time.Duration) error {
	return timedOut(q.put(context.Background(), msg, timeoutOf(d)))
}

// PutNowait puts without waiting: ErrFull if there is no room.
func (q *Queue) PutNowait(msg []byte) error { return q.put(context.Background(), msg, 0) }

func (q *Queue) put(ctx context.Context, msg []byte, limit int64) error {
	mustContext(ctx)
	if neverDone(ctx) {
		return q.putFast(msg, limit)
	}
	_, err := q.h.wait(ctx, "queue put", limit, func(p uintptr, ms int64) int {
		return int(C.mp_go_queue_put(C.uintptr_t(p), bytesPtr(msg), C.size_t(len(msg)), C.int64_t(ms)))
	})
	return err
}

// putFast is put with a context never done: no closure (nothing escapes to the
// heap) and no OS-thread lock, a third of the cost of a Put through wait.
func (q *Queue) putFast(msg []byte, ms int64) error {
	p, err := q.h.use("queue put")
	if err != nil {
		return err
	}
	if one := [1][]byte{msg}; q.putOnRing(p, one[:]) == 1 {
		q.h.done()
		return nil
	}
	f := C.mp_go_queue_put_fast(C.uintptr_t(p), bytesPtr(msg), C.size_t(len(msg)), C.int64_t(ms))
	q.h.done()
	return fastError("queue put", f)
}

// fastError is the error of a fast-path call (nil on success); it frees
// the message the shim copied.
func fastError(op string, f C.mp_go_fast) error {
	if f.rc >= 0 {
		return nil
	}
	msg := C.GoString(f.err)
	C.free(unsafe.Pointer(f.err))
	return &Error{Code: Code(f.rc), Op: op, Msg: msg}
}

// bytesPtr is the address of b's first byte, nil if b is empty.
func bytesPtr(b []byte) *C.char {
	if len(b) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(&b[0]))
}

// Get takes the oldest message, waiting while the queue is empty until
// ctx is done. Errors: ErrClosed once the queue was shut down and
// drained (the end of the stream; the error also matches io.EOF),
// ErrTimeout, ErrCanceled.
func (q *Queue) Get(ctx context.Context) ([]byte, error) { return q.get(ctx, forever) }

// GetTimeout is Get with a timeout instead of a context: ErrTimeout if
// no message came within d. A d <= 0 has already expired: the call tries once without waiting
// (see Timeouts in the package documentation).
//
// Deprecated: use Get with a context from context.WithTimeout, the one
// form of every blocking call (see the package documentation); GetTimeout
// stays for the callers of 0.1.
func (q *Queue) GetTimeout(d time.Duration) ([]byte, error) {
	msg, err := q.get(context.Background(), timeoutOf(d))
	return msg, timedOut(err)
}

// GetNowait gets without waiting: ErrEmpty if nothing is queued.
func (q *Queue) GetNowait() ([]byte, error) { return q.get(context.Background(), 0) }

func (q *Queue) get(ctx context.Context, limit int64) ([]byte, error) {
	mustContext(ctx)
	var small [smallMessage]byte // a small whole message queued: no cgo call
	var n [1]int
	if q.onRing(ctx, "queue get", func(p uintptr) int { return q.getFromRing(p, small[:], n[:]) }) == 1 {
		return append(make([]byte, 0, n[0]), small[:n[0]]...), nil
	}
	var got C.mp_go_got
	_, err := q.h.wait(ctx, "queue get", limit, func(p uintptr, ms int64) int {
		got = C.mp_go_queue_get(C.uintptr_t(p), C.int64_t(ms))
		return int(got.rc)
	})
	if err != nil {
		return nil, endOfStream(err)
	}
	msg := copyOut(got.data, got.len)
	C.mp_free(got.data)
	return msg, nil
}

// copyOut copies n bytes of C memory at p into a new slice (nil if p is).
func copyOut(p unsafe.Pointer, n C.size_t) []byte {
	if p == nil {
		return nil
	}
	b := make([]byte, int(n))
	copy(b, unsafe.Slice((*byte)(p), int(n)))
	return b
}

// GetInto takes the oldest message into buf and returns its length. If
// buf is too small the message stays queued and the error is ErrNoSpace
// with n the size needed.
func (q *Queue) GetInto(ctx context.Context, buf []byte) (n int, err error) {
	mustContext(ctx)
	if neverDone(ctx) { // the hot path: as putFast
		p, err := q.h.use("queue get")
		if err != nil {
			return 0, err
		}
		var got [1]int
		if q.getFromRing(p, buf, got[:]) == 1 {
			q.h.done()
			return got[0], nil
		}
		f := C.mp_go_queue_get_into_fast(C.uintptr_t(p), bytesPtr(buf), C.size_t(len(buf)), C.int64_t(forever))
		q.h.done()
		return int(f.len), endOfStream(fastError("queue get", f))
	}
	var got C.mp_go_got
	_, err = q.h.wait(ctx, "queue get", forever, func(p uintptr, ms int64) int {
		got = C.mp_go_queue_get_into(C.uintptr_t(p), bytesPtr(buf), C.size_t(len(buf)), C.int64_t(ms))
		return int(got.rc)
	})
	return int(got.len), endOfStream(err)
}

// Len is the number of messages queued (qsize; a snapshot).
func (q *Queue) Len() int {
	n, _ := q.h.do("queue qsize", func(p uintptr) int { return capi.Mp_queue_qsize(capi.Queue(p)) })
	return n
}

// Empty reports whether no message is queued (a snapshot).
func (q *Queue) Empty() bool {
	n, err := q.h.do("queue empty", func(p uintptr) int { return capi.Mp_queue_empty(capi.Queue(p)) })
	return err == nil && n == 1
}

// Full reports whether a put would wait now (a snapshot): maxsize messages
// are queued, or too few bytes are free for a message of up to a quarter
// of the ring (MaxBytes/4 - 24 bytes). When it is false, a put of such a
// message goes in without waiting unless another producer gets there
// first; a larger message is streamed and may wait for consumers anyway.
func (q *Queue) Full() bool {
	n, err := q.h.do("queue full", func(p uintptr) int { return capi.Mp_queue_full(capi.Queue(p)) })
	return err == nil && n == 1
}

// Shutdown closes the queue for every process that holds it (no poison
// pills): puts fail with ErrClosed; gets drain what is queued and then
// fail with ErrClosed. Shutting down again does nothing.
func (q *Queue) Shutdown() error {
	_, err := q.h.do("queue close", func(p uintptr) int { return capi.Mp_queue_close(capi.Queue(p)) })
	return err
}

// TaskDone marks one message got by this process as processed
// (JoinableQueue). Errors: ErrState (not joinable, or too many calls).
func (q *Queue) TaskDone() error {
	_, err := q.h.do("queue task done", func(p uintptr) int { return capi.Mp_queue_task_done(capi.Queue(p)) })
	return err
}

// Join waits until every message put was got and marked done.
func (q *Queue) Join(ctx context.Context) error {
	_, err := q.h.wait(ctx, "queue join", forever, func(p uintptr, ms int64) int {
		return capi.Mp_queue_join(capi.Queue(p), ms)
	})
	return err
}

// Close releases this process's handle; other processes go on using the
// queue (Shutdown ends it for everyone).
func (q *Queue) Close() error {
	closeObject(q, &q.h)
	return nil
}
