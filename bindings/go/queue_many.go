package multiproc

/*
#include <stdint.h>
#include <multiproc.h>

// Batches call the library directly, as Put and Get do (see queue.go).
// mp_queue_put_many takes an array of pointers to the messages, which Go
// may neither pass (a Go array of Go pointers) nor build (Go pointers
// stored in C memory): PutMany copies the messages back to back into one
// pointer-free buffer, and the array is built here, on the C stack.
enum { MP_GO_PACK_MAX = 1024 }; // = packMaxCount

typedef struct mp_go_many {
  int rc;
  size_t count;
} mp_go_many;

static mp_go_many mp_go_queue_put_packed(uintptr_t q, const char *pack, const size_t *lens,
                                         size_t n, int64_t ms) {
  const void *bufs[MP_GO_PACK_MAX];
  mp_go_many m = {MP_EINVAL, 0};
  size_t off = 0;
  if (n > MP_GO_PACK_MAX) return m; // never: the Go side packs at most that many
  for (size_t i = 0; i < n; i++) {
    bufs[i] = pack ? pack + off : NULL; // NULL: every message is empty
    off += lens[i];
  }
  m.rc = mp_queue_put_many(&m.count, (mp_queue_t *)q, bufs, lens, n, ms);
  return m;
}

static mp_go_many mp_go_queue_get_many(uintptr_t q, char *buf, size_t cap, size_t *lens,
                                       size_t max, int64_t ms) {
  mp_go_many m = {0, 0};
  m.rc = mp_queue_get_many(&m.count, (mp_queue_t *)q, buf, cap, lens, max, ms);
  return m;
}
*/
import "C"

import (
	"context"
	"sync"
	"time"
	"unsafe"
)

// PutMany puts msgs in order, as many Put calls would, but taking the
// queue's lock and waking consumers once for as many messages as fit: for
// many small messages several times the rate of Put. It waits while the
// queue is full until ctx is done (the context's deadline is one deadline
// for the whole call) and returns how many messages went in: all of them
// when err is nil, otherwise the first n went in and the rest did not.
// Errors: ErrClosed (Shutdown was called), ErrTimeout, ErrCanceled.
//
// With a context that is never done, the leading messages that need no
// wait (small, room for them) are written on the queue's ring as one
// batch, with no copy and no cgo call. The rest go through the library:
// messages below 4 KiB are copied into a buffer of up to 64 KiB per C
// call, because cgo does not let C see an array of pointers to Go memory;
// larger ones are put from their own memory, one C call each.
// PutManyPacked, which takes the messages already back to back, does not
// copy.
func (q *Queue) PutMany(ctx context.Context, msgs [][]byte) (n int, err error) {
	return q.putMany(ctx, msgs, forever)
}

// PutManyTimeout is PutMany with a timeout instead of a context: d is the
// time the whole call may wait (ErrTimeout when it ran out). A d <= 0 has already expired: the call tries once without waiting
// (see Timeouts in the package documentation).
//
// Deprecated: use PutMany with a context from context.WithTimeout, the one
// form of every blocking call (see the package documentation); PutManyTimeout
// stays for the callers of 0.1.
func (q *Queue) PutManyTimeout(msgs [][]byte, d time.Duration) (n int, err error) {
	n, err = q.putMany(context.Background(), msgs, timeoutOf(d))
	return n, timedOut(err)
}

// PutManyNowait puts the messages that fit now, in order, without
// waiting: ErrFull at the first one that does not, with n the count put.
func (q *Queue) PutManyNowait(msgs [][]byte) (n int, err error) {
	return q.putMany(context.Background(), msgs, 0)
}

func (q *Queue) putMany(ctx context.Context, msgs [][]byte, limit int64) (int, error) {
	mustContext(ctx)
	// Put on the ring, with no copy and no cgo call (queue_ring.go).
	first := q.onRing(ctx, "queue put many", func(p uintptr) int { return q.putOnRing(p, msgs) })
	if first > 0 && first == len(msgs) {
		return first, nil
	}
	put := 0
	_, err := q.h.wait(ctx, "queue put many", limit, func(p uintptr, ms int64) int {
		var rc int
		put, rc = putBatches(p, msgs[first:], ms)
		return rc
	})
	return first + put, err
}

// PutManyPacked is PutMany of messages that lie back to back in buf, the
// layout GetMany returns: message i is the lens[i] bytes that follow
// message i-1 (message 0 starts at buf[0]). Nothing is copied, so a relay
// can pass on what GetMany got as it is. Errors as PutMany, and
// ErrInvalid (nothing put) if a length is negative or the lengths add up
// to more than len(buf).
func (q *Queue) PutManyPacked(ctx context.Context, buf []byte, lens []int) (n int, err error) {
	total := 0
	for _, l := range lens {
		if l < 0 || l > len(buf)-total {
			return 0, &Error{Code: ErrInvalid, Op: "queue put many", Msg: "lens do not fit in buf"}
		}
		total += l
	}
	put := 0
	_, err = q.h.wait(ctx, "queue put many", forever, func(p uintptr, ms int64) int {
		var rc int
		put, rc = putPacked(p, buf, lens, newDeadline(ms))
		return rc
	})
	return put, err
}

// GetMany gets the oldest message and the messages queued right behind it
// into buf, back to back, and their lengths into lens: it returns n >= 1
// and message i is the lens[i] bytes that follow message i-1 in buf
// (message 0 starts at buf[0]):
//
//	n, err := q.GetMany(ctx, buf, lens)
//	off := 0
//	for _, l := range lens[:n] {
//		use(buf[off : off+l])
//		off += l
//	}
//
// It waits (until ctx is done) for the first message only, then takes the
// messages already queued that fit in the rest of buf, up to len(lens) in
// all. A message streamed through the queue (above a quarter of its ring)
// is never taken behind others: it starts the next call. The counterpart of PutMany: one lock and one
// wake-up for many messages. Messages got are taken: a consumer that dies
// before it used them loses them all. With a joinable queue each message
// counts for TaskDone.
//
// Errors: ErrNoSpace if the first message is larger than buf: it stays
// queued, n is 0 and lens[0] is its size; ErrClosed once the queue was
// shut down and drained (the end of the stream; it also matches io.EOF);
// ErrTimeout, ErrCanceled;
// ErrInvalid if lens is empty.
func (q *Queue) GetMany(ctx context.Context, buf []byte, lens []int) (n int, err error) {
	return q.getMany(ctx, buf, lens, forever)
}

// GetManyTimeout is GetMany with a timeout instead of a context:
// ErrTimeout if no message came within d. A d <= 0 has already expired: the call tries once without waiting
// (see Timeouts in the package documentation).
//
// Deprecated: use GetMany with a context from context.WithTimeout, the one
// form of every blocking call (see the package documentation); GetManyTimeout
// stays for the callers of 0.1.
func (q *Queue) GetManyTimeout(buf []byte, lens []int, d time.Duration) (n int, err error) {
	n, err = q.getMany(context.Background(), buf, lens, timeoutOf(d))
	return n, timedOut(err)
}

// GetManyNowait is GetMany without waiting: ErrEmpty if nothing is queued.
func (q *Queue) GetManyNowait(buf []byte, lens []int) (n int, err error) {
	return q.getMany(context.Background(), buf, lens, 0)
}

func (q *Queue) getMany(ctx context.Context, buf []byte, lens []int, limit int64) (int, error) {
	mustContext(ctx)
	// Small whole messages queued: no cgo call (queue_ring.go).
	if n := q.onRing(ctx, "queue get many", func(p uintptr) int { return q.getFromRing(p, buf, lens) }); n > 0 {
		return n, nil
	}
	var got C.mp_go_many
	_, err := q.h.wait(ctx, "queue get many", limit, func(p uintptr, ms int64) int {
		got = C.mp_go_queue_get_many(C.uintptr_t(p), bytesPtr(buf), C.size_t(len(buf)),
			sizesPtr(lens), C.size_t(len(lens)), C.int64_t(ms))
		return int(got.rc)
	})
	return int(got.count), endOfStream(err)
}

// The lengths of a batch go to C as a []int seen as size_t[]: the same
// size (this line does not compile where they differ), and no pointers.
var _ [unsafe.Sizeof(C.size_t(0))]byte = [unsafe.Sizeof(int(0))]byte{}

// sizesPtr is the address of s's first element as a size_t array, nil if
// s is empty.
func sizesPtr(s []int) *C.size_t {
	if len(s) == 0 {
		return nil
	}
	return (*C.size_t)(unsafe.Pointer(&s[0]))
}

// How PutMany splits a batch into C calls.
const (
	packMaxCount = 1024     // messages per C call (MP_GO_PACK_MAX)
	packMaxBytes = 64 << 10 // bytes copied per C call
	directMin    = 4 << 10  // a message this large is put uncopied, alone
)

// pack is the buffer that PutMany copies small messages into.
type pack struct {
	data []byte // the messages, back to back
	lens []int  // their lengths
}

// packs are reused: a busy producer does not allocate per batch.
var packs = sync.Pool{New: func() any {
	return &pack{data: make([]byte, 0, packMaxBytes), lens: make([]int, 0, packMaxCount)}
}}

// putBatches puts msgs in order, a pack of small messages or one large
// message per C call, all within one timeout of ms milliseconds. It
// returns how many went in and the error code of the call that failed (0
// when all went in).
func putBatches(q uintptr, msgs [][]byte, ms int64) (put int, rc int) {
	dl := newDeadline(ms)
	pk := packs.Get().(*pack)
	defer packs.Put(pk)
	for put < len(msgs) {
		var n int
		if m := msgs[put]; len(m) >= directMin {
			n, rc = putPacked(q, m, append(pk.lens[:0], len(m)), dl)
		} else {
			pk.fill(msgs[put:])
			n, rc = putPacked(q, pk.data, pk.lens, dl)
		}
		put += n
		if rc < 0 {
			return put, rc
		}
	}
	return put, 0
}

// fill copies the leading small messages of msgs (at least the first)
// into the pack, as many as one C call takes.
func (pk *pack) fill(msgs [][]byte) {
	pk.data, pk.lens = pk.data[:0], pk.lens[:0]
	for _, m := range msgs {
		if len(m) >= directMin || len(pk.lens) == packMaxCount || len(pk.data)+len(m) > packMaxBytes {
			return
		}
		pk.data = append(pk.data, m...)
		pk.lens = append(pk.lens, len(m))
	}
}

// putPacked puts the messages whose lengths are lens, back to back in
// data, up to packMaxCount per C call, within the deadline. It returns
// how many went in and the error code of the call that failed (0 when all
// went in).
func putPacked(q uintptr, data []byte, lens []int, dl deadline) (put int, rc int) {
	off := 0
	for put < len(lens) {
		chunk := lens[put:minInt(put+packMaxCount, len(lens))]
		r := C.mp_go_queue_put_packed(C.uintptr_t(q), bytesPtr(data[off:]), sizesPtr(chunk),
			C.size_t(len(chunk)), C.int64_t(dl.left()))
		for _, l := range chunk[:r.count] {
			off += l
		}
		put += int(r.count)
		if r.rc < 0 {
			return put, int(r.rc)
		}
	}
	return put, 0
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// deadline spreads one C timeout of ms milliseconds (forever: -1; 0: do
// what can be done now) over the several C calls of one PutMany.
type deadline struct {
	ms  int64
	end time.Time
}

func newDeadline(ms int64) deadline {
	d := deadline{ms: ms}
	if ms > 0 {
		d.end = time.Now().Add(time.Duration(ms) * time.Millisecond)
	}
	return d
}

// left is the timeout of the next C call. A timed call whose time is up
// still gets 1 ms, so that it fails as a timeout (ErrTimeout), never as a
// try (ErrFull).
func (d deadline) left() int64 {
	if d.ms <= 0 {
		return d.ms
	}
	if left := timeoutOf(time.Until(d.end)); left > 0 {
		return left
	}
	return 1
}
