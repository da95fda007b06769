package multiproc

/*
#include <stdint.h>
#include <multiproc.h>

static void *mp_go_queue_ring_word(uintptr_t q, int which) {
  void *w = NULL;
  return mp_queue_ring_word(&w, (mp_queue_t *)q, which) == 0 ? w : NULL;
}

static int mp_go_queue_ring_value(uintptr_t q, int which, uint64_t *out) {
  return mp_queue_ring_value(out, (mp_queue_t *)q, which);
}

static void mp_go_queue_ring_wake(uintptr_t q, int side) {
  mp_queue_ring_wake((mp_queue_t *)q, side);
}
*/
import "C"

import (
	"sync/atomic"
	"unsafe"
)

// ringView is a queue's ring, for Put and GetInto of small messages with
// no cgo call: a cgo call costs some 65 ns here, more than a whole put in
// C, so a queue of small messages driven from Go one call per message ran
// at a third of C's rate. It follows the library's own protocol
// (mp_queue_ring in multiproc/queue.h, src/ipc/queue.cpp) for the common
// case only: the side's lock is free, the message is whole and fits.
// Anything else (the lock held, no room, a streamed message, the queue
// closed, an index or record out of range) releases the lock untouched
// and makes the call through the library, which waits, streams, repairs
// after a dead process and reports errors. A Go process killed holding a
// lock is repaired like a C one: the lock word holds the library's token
// for this process.
//
// The words are read with sync/atomic and written as the library writes
// them: the counts and the indexes seen last (puts, gets, headSeen,
// tailSeen) with plain stores under the lock, whose release orders them;
// the tail and the head, which the peer reads without the lock, with
// release stores (storeRelease); the lock word with a sequentially
// consistent store (a full fence) before the waiter checks.
type ringView struct {
	ring                   unsafe.Pointer
	capacity, mask         uint64 // mask: capacity-1 when a power of two, else 0
	maxWhole, maxItems     uint64
	joinable               bool
	token                  uint64
	parked                 *uint8
	closed                 *uint32
	putOwner               *uint64
	putLockWaiters         *uint32
	putLockSeq             *uint32
	puts, headSeen         *uint64
	writingStream, tail    *uint64
	getOwner               *uint64
	getLockWaiters         *uint32
	getLockSeq             *uint32
	head, gets, tailSeen   *uint64
	getWaiters, putWaiters *uint32
	dataSeq, spaceSeq      *uint32
	unfinished, gotNotDone *uint64
}

const (
	recordHeader = 24 // kind, len (uint32 each), stream, total (uint64 each)
	recordWhole  = 1
	recordPad    = 6
)

// newRingView is the ring of the queue at p, or nil when the library
// offers none (a queue on a redis server, another ring protocol): then
// every call goes through the library.
func newRingView(p uintptr) *ringView {
	var protocol uint64
	if C.mp_go_queue_ring_value(C.uintptr_t(p), C.MP_RING_PROTOCOL, (*C.uint64_t)(&protocol)) != 0 ||
		protocol != C.MP_QUEUE_RING_PROTOCOL {
		return nil
	}
	r := &ringView{}
	var joinable uint64
	values := map[C.int]*uint64{
		C.MP_RING_CAPACITY: &r.capacity, C.MP_RING_MAX_WHOLE: &r.maxWhole,
		C.MP_RING_MAX_ITEMS: &r.maxItems, C.MP_RING_TOKEN: &r.token, C.MP_RING_JOINABLE: &joinable,
	}
	for which, to := range values {
		if C.mp_go_queue_ring_value(C.uintptr_t(p), which, (*C.uint64_t)(to)) != 0 {
			return nil
		}
	}
	r.joinable = joinable != 0
	word := func(which C.int) unsafe.Pointer { return C.mp_go_queue_ring_word(C.uintptr_t(p), which) }
	r.ring = word(C.MP_RING_DATA)
	r.parked = (*uint8)(word(C.MP_RING_PARKED))
	w32 := map[C.int]**uint32{
		C.MP_RING_CLOSED: &r.closed, C.MP_RING_PUT_LOCK_WAITERS: &r.putLockWaiters,
		C.MP_RING_PUT_LOCK_SEQ: &r.putLockSeq, C.MP_RING_GET_LOCK_WAITERS: &r.getLockWaiters,
		C.MP_RING_GET_LOCK_SEQ: &r.getLockSeq, C.MP_RING_GET_WAITERS: &r.getWaiters,
		C.MP_RING_PUT_WAITERS: &r.putWaiters, C.MP_RING_DATA_SEQ: &r.dataSeq,
		C.MP_RING_SPACE_SEQ: &r.spaceSeq,
	}
	w64 := map[C.int]**uint64{
		C.MP_RING_PUT_OWNER: &r.putOwner, C.MP_RING_PUTS: &r.puts, C.MP_RING_HEAD_SEEN: &r.headSeen,
		C.MP_RING_WRITING_STREAM: &r.writingStream, C.MP_RING_TAIL: &r.tail,
		C.MP_RING_GET_OWNER: &r.getOwner, C.MP_RING_HEAD: &r.head, C.MP_RING_GETS: &r.gets,
		C.MP_RING_TAIL_SEEN: &r.tailSeen, C.MP_RING_UNFINISHED: &r.unfinished,
		C.MP_RING_GOT_NOT_DONE: &r.gotNotDone,
	}
	ok := r.ring != nil && r.parked != nil && r.capacity >= recordHeader*4
	for which, to := range w32 {
		*to = (*uint32)(word(which))
		ok = ok && *to != nil
	}
	for which, to := range w64 {
		*to = (*uint64)(word(which))
		ok = ok && *to != nil
	}
	if !ok {
		return nil
	}
	if r.capacity&(r.capacity-1) == 0 {
		r.mask = r.capacity - 1
	}
	return r
}

// smallMessage is the most Get takes on the ring: it copies into a buffer
// on its stack (no allocation under the lock) and then into the message.
const smallMessage = 256

// putOnRing puts msg on the ring when that needs no wait, with the C
// handle p in use (see tryPut); false: nothing was put, call the library.
func (q *Queue) putOnRing(p uintptr, msg []byte) bool {
	if q.ring == nil {
		return false
	}
	done, wake := q.ring.tryPut(msg)
	if wake {
		ringWake(p, ringPut)
	}
	return done
}

// getFromRing takes the oldest message into buf on the ring when it is a
// small whole one (see tryGet); false: nothing was taken, call the library.
func (q *Queue) getFromRing(p uintptr, buf []byte) (int, bool) {
	if q.ring == nil {
		return 0, false
	}
	n, done, wake := q.ring.tryGet(buf)
	if wake {
		ringWake(p, ringGet)
	}
	return n, done
}

// ringWake calls the library when a waiter may need it after this process
// released a side's lock (MP_QUEUE_RING_PUT or _GET).
func ringWake(p uintptr, side C.int) { C.mp_go_queue_ring_wake(C.uintptr_t(p), side) }

const (
	ringPut = C.MP_QUEUE_RING_PUT
	ringGet = C.MP_QUEUE_RING_GET
)

func align8(n uint64) uint64 { return (n + 7) &^ 7 }

// offset is where position pos (head, tail: they only grow) is in the ring.
func (r *ringView) offset(pos uint64) uint64 {
	if r.mask != 0 {
		return pos & r.mask
	}
	return pos % r.capacity
}

// at is the ring's byte at offset off (< capacity).
func (r *ringView) at(off uint64) unsafe.Pointer { return unsafe.Add(r.ring, off) }

// tryPut puts msg when that needs no wait: reports whether it did, and
// whether a waiter may need the library's wake-up (mp_queue_ring_wake).
func (r *ringView) tryPut(msg []byte) (done, wake bool) {
	n := uint64(len(msg))
	if n > r.maxWhole || !atomic.CompareAndSwapUint64(r.putOwner, 0, r.token) {
		return false, false
	}
	tail := atomic.LoadUint64(r.tail)
	done = atomic.LoadUint64(r.writingStream) == 0 && atomic.LoadUint32(r.closed) == 0 &&
		!r.itemsFull() && r.fits(tail, n)
	if done {
		tail = r.writeRecord(tail, msg)
		*r.puts++ // under the lock, as the library's; the tail publishes it
		if r.joinable {
			atomic.AddUint64(r.unfinished, 1)
		}
		storeRelease(r.tail, tail) // last: a put killed before it put nothing
	}
	atomic.StoreUint64(r.putOwner, 0)
	wake = armed(r.putLockWaiters, r.putLockSeq) || (done && armed(r.getWaiters, r.dataSeq))
	return done, wake
}

// armed reports whether a process sleeps on seq and wants a wake-up: it
// is counted in waiters and armed seq (its low bit). A sleeper stays
// counted until it runs again, and the library's wake clears the bit:
// checking it spares a cgo call per operation in between.
func armed(waiters, seq *uint32) bool {
	return atomic.LoadUint32(waiters) != 0 && atomic.LoadUint32(seq)&1 != 0
}

// itemsFull: maxsize messages are queued (puts and gets only grow).
func (r *ringView) itemsFull() bool {
	if r.maxItems == 0 {
		return false
	}
	puts, gets := atomic.LoadUint64(r.puts), atomic.LoadUint64(r.gets)
	return puts > gets && puts-gets >= r.maxItems
}

// fits reports whether a record of n payload bytes fits at tail, padding
// to the ring's start included (put lock held). The consumers' head is
// read only when the head seen last leaves too little room.
func (r *ringView) fits(tail, n uint64) bool {
	size := align8(recordHeader + n)
	want := size
	if toEnd := r.capacity - r.offset(tail); size > toEnd {
		want = toEnd + size
	}
	if r.capacity-(tail-atomic.LoadUint64(r.headSeen)) >= want {
		return true
	}
	head := atomic.LoadUint64(r.head)
	*r.headSeen = head // under the lock
	return r.capacity-(tail-head) >= want
}

// writeRecord writes a whole record of msg at tail (room checked) and
// returns the tail after it. Offsets come from this process's capacity,
// never from shared memory: a corrupted index cannot send a write past
// the ring.
func (r *ringView) writeRecord(tail uint64, msg []byte) uint64 {
	n := uint64(len(msg))
	size := align8(recordHeader + n)
	if toEnd := r.capacity - r.offset(tail); size > toEnd {
		if toEnd >= recordHeader {
			r.writeHeader(r.offset(tail), recordPad, toEnd-recordHeader)
		}
		tail += toEnd
	}
	off := r.offset(tail)
	r.writeHeader(off, recordWhole, n)
	copy(unsafe.Slice((*byte)(r.at(off+recordHeader)), n), msg)
	return tail + size
}

func (r *ringView) writeHeader(off uint64, kind uint32, n uint64) {
	*(*uint32)(r.at(off)) = kind
	*(*uint32)(r.at(off + 4)) = uint32(n)
	*(*uint64)(r.at(off + 8)) = 0
	*(*uint64)(r.at(off + 16)) = 0
}

// tryGet takes the oldest message into buf when it is a whole record
// that fits and this handle holds no partly received streamed message:
// its length, whether it took one, and whether a waiter may need the
// library's wake-up.
func (r *ringView) tryGet(buf []byte) (n int, done, wake bool) {
	if !atomic.CompareAndSwapUint64(r.getOwner, 0, r.token) {
		return 0, false, false
	}
	if *r.parked == 0 { // written by this handle's calls under the get lock
		n, done = r.take(buf)
	}
	atomic.StoreUint64(r.getOwner, 0)
	wake = armed(r.getLockWaiters, r.getLockSeq) || (done && armed(r.putWaiters, r.spaceSeq))
	return n, done, wake
}

// take is tryGet with the get lock held: the record at the head, past
// padding, if it is a whole message that fits buf. Anything else is left
// for the library, untouched.
func (r *ringView) take(buf []byte) (int, bool) {
	head := atomic.LoadUint64(r.head)
	for {
		tailSeen := atomic.LoadUint64(r.tailSeen)
		if head >= tailSeen {
			tailSeen = atomic.LoadUint64(r.tail)
			*r.tailSeen = tailSeen // under the lock
			if head >= tailSeen {
				return 0, false // empty: the library waits
			}
		}
		if tailSeen-head > r.capacity || head%8 != 0 {
			return 0, false // corrupted indexes: the library reports them
		}
		off := r.offset(head)
		toEnd := r.capacity - off
		if toEnd < recordHeader {
			head += toEnd
			continue
		}
		kind := *(*uint32)(r.at(off))
		n := uint64(*(*uint32)(r.at(off + 4)))
		size := align8(recordHeader + n)
		if kind < recordWhole || kind > recordPad || size > toEnd || size > tailSeen-head {
			return 0, false
		}
		if kind == recordPad {
			head += size
			continue
		}
		if kind != recordWhole || n > uint64(len(buf)) {
			return 0, false // streamed, or too large for buf (ErrNoSpace)
		}
		copy(buf, unsafe.Slice((*byte)(r.at(off+recordHeader)), n))
		*r.gets++ // under the lock, before the head, as the library's
		if r.joinable {
			atomic.AddUint64(r.gotNotDone, 1)
		}
		storeRelease(r.head, head+size)
		return int(n), true
	}
}
