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
	"context"
	"sync/atomic"
	"unsafe"
)

// ringView is a queue's ring, for Put, Get, GetInto, PutMany and GetMany
// of small messages with no cgo call: a cgo call costs some 65 ns here,
// more than a whole put in C, so a queue of small messages driven from Go
// one call per message ran at a third of C's rate. It follows the
// library's own protocol (mp_queue_ring_word in multiproc/queue.h,
// src/ipc/queue.cpp) for the common case only: the side's lock is free,
// the messages are whole and fit.
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

// onRing runs f, an operation on the ring, with the C handle in use, when
// ctx is never done and the queue has a ring: its count (0 otherwise, and
// when the handle is closed: the library's call then says so).
func (q *Queue) onRing(ctx context.Context, op string, f func(p uintptr) int) int {
	if q.ring == nil || !neverDone(ctx) {
		return 0
	}
	p, err := q.h.use(op)
	if err != nil {
		return 0
	}
	defer q.h.done()
	return f(p)
}

// putOnRing puts the leading messages of msgs on the ring while they
// need no wait, with the C handle p in use (see tryPut): how many; the
// library puts the rest.
func (q *Queue) putOnRing(p uintptr, msgs [][]byte) int {
	if q.ring == nil {
		return 0
	}
	n, wake := q.ring.tryPut(msgs)
	if wake {
		ringWake(p, ringPut)
	}
	return n
}

// getFromRing takes the oldest messages into buf on the ring while they
// are small whole ones (see tryGet): how many; 0: call the library.
func (q *Queue) getFromRing(p uintptr, buf []byte, lens []int) int {
	if q.ring == nil {
		return 0
	}
	n, wake := q.ring.tryGet(buf, lens)
	if wake {
		ringWake(p, ringGet)
	}
	return n
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

// tryPut puts msgs[0], msgs[1], ... while each needs no wait (whole,
// room, below maxsize, no streamer, not closed), as one batch published
// by one tail store, as the library's put_many does: how many went in,
// and whether a waiter may need the library's wake-up
// (mp_queue_ring_wake). 0: nothing was done, the lock was busy or the
// first message needs the library.
func (r *ringView) tryPut(msgs [][]byte) (n int, wake bool) {
	if !atomic.CompareAndSwapUint64(r.putOwner, 0, r.token) {
		return 0, false
	}
	if atomic.LoadUint64(r.writingStream) == 0 && atomic.LoadUint32(r.closed) == 0 {
		tail := atomic.LoadUint64(r.tail)
		for room := r.itemsRoom(); n < len(msgs) && uint64(n) < room; n++ {
			m := uint64(len(msgs[n]))
			if m > r.maxWhole || !r.fits(tail, m) {
				break
			}
			tail = r.writeRecord(tail, msgs[n])
		}
		if n > 0 {
			*r.puts += uint64(n) // under the lock, as the library's; the tail publishes it
			if r.joinable {
				atomic.AddUint64(r.unfinished, uint64(n))
			}
			storeRelease(r.tail, tail) // last: a put killed before it put nothing
		}
	}
	atomic.StoreUint64(r.putOwner, 0)
	wake = armed(r.putLockWaiters, r.putLockSeq) || (n > 0 && armed(r.getWaiters, r.dataSeq))
	return n, wake
}

// armed reports whether a process sleeps on seq and wants a wake-up: it
// is counted in waiters and armed seq (its low bit). A sleeper stays
// counted until it runs again, and the library's wake clears the bit:
// checking it spares a cgo call per operation in between.
func armed(waiters, seq *uint32) bool {
	return atomic.LoadUint32(waiters) != 0 && atomic.LoadUint32(seq)&1 != 0
}

// itemsRoom is how many more messages maxsize allows (puts and gets only
// grow; without maxsize, as many as there are).
func (r *ringView) itemsRoom() uint64 {
	if r.maxItems == 0 {
		return ^uint64(0)
	}
	puts, gets := atomic.LoadUint64(r.puts), atomic.LoadUint64(r.gets)
	if puts > gets && puts-gets >= r.maxItems {
		return 0
	}
	if puts > gets {
		return r.maxItems - (puts - gets)
	}
	return r.maxItems
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

// tryGet takes the oldest messages into buf, back to back, their lengths
// into lens (at most len(lens) of them), while each is a whole record
// that fits what is left of buf and this handle holds no partly received
// streamed message; gets and the head move once, as the library's
// get_many does. It returns how many it took (0: nothing, the lock was
// busy or the first message needs the library) and whether a waiter may
// need the library's wake-up.
func (r *ringView) tryGet(buf []byte, lens []int) (n int, wake bool) {
	if !atomic.CompareAndSwapUint64(r.getOwner, 0, r.token) {
		return 0, false
	}
	if *r.parked == 0 { // written by this handle's calls under the get lock
		n = r.take(buf, lens)
	}
	atomic.StoreUint64(r.getOwner, 0)
	wake = armed(r.getLockWaiters, r.getLockSeq) || (n > 0 && armed(r.putWaiters, r.spaceSeq))
	return n, wake
}

// take is tryGet with the get lock held. Anything but a whole record that
// fits ends the batch, untouched, for the library.
func (r *ringView) take(buf []byte, lens []int) int {
	n, used := 0, 0
	pos := atomic.LoadUint64(r.head)
	end := pos // after the last record taken
	for n < len(lens) {
		off, size, ok := r.wholeAt(&pos)
		if !ok {
			break
		}
		m := int(*(*uint32)(r.at(off + 4)))
		if m > len(buf)-used {
			break // streamed, or too large for buf (ErrNoSpace)
		}
		copy(buf[used:], unsafe.Slice((*byte)(r.at(off+recordHeader)), m))
		lens[n] = m
		used += m
		n++
		pos += size
		end = pos
	}
	if n > 0 {
		*r.gets += uint64(n) // under the lock, before the head, as the library's
		if r.joinable {
			atomic.AddUint64(r.gotNotDone, uint64(n))
		}
		storeRelease(r.head, end)
	}
	return n
}

// wholeAt finds the record at *pos (get lock held), moving *pos past
// padding: its offset and size when it is a whole record, else ok false
// (none yet, a chunk of a streamed message, an index or record out of
// range: the library's to wait for, stream or report).
func (r *ringView) wholeAt(pos *uint64) (off, size uint64, ok bool) {
	for {
		head := *pos
		tailSeen := atomic.LoadUint64(r.tailSeen)
		if head >= tailSeen {
			tailSeen = atomic.LoadUint64(r.tail)
			*r.tailSeen = tailSeen // under the lock
			if head >= tailSeen {
				return 0, 0, false // empty: the library waits
			}
		}
		if tailSeen-head > r.capacity || head%8 != 0 {
			return 0, 0, false // corrupted indexes: the library reports them
		}
		off = r.offset(head)
		toEnd := r.capacity - off
		if toEnd < recordHeader {
			*pos += toEnd
			continue
		}
		kind := *(*uint32)(r.at(off))
		size = align8(recordHeader + uint64(*(*uint32)(r.at(off + 4))))
		if kind < recordWhole || kind > recordPad || size > toEnd || size > tailSeen-head {
			return 0, 0, false
		}
		if kind == recordPad {
			*pos += size
			continue
		}
		return off, size, kind == recordWhole
	}
}
