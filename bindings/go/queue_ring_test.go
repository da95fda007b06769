package multiproc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// The tests of Put and GetInto on the ring itself (queue_ring.go): the
// same messages and guarantees as through the library, with the library
// taking over whenever the ring's common case does not hold.

// ringMsg is message seq of n bytes (n >= 8): seq, then bytes that
// depend on it, so a torn or misplaced message shows.
func ringMsg(seq uint64, n int) []byte {
	m := make([]byte, n)
	binary.LittleEndian.PutUint64(m, seq)
	for i := 8; i < n; i++ {
		m[i] = byte(seq*31 + uint64(i))
	}
	return m
}

// ringSeq checks a message made by ringMsg and returns its seq.
func ringSeq(m []byte) (uint64, error) {
	if len(m) < 8 {
		return 0, fmt.Errorf("message of %d bytes", len(m))
	}
	seq := binary.LittleEndian.Uint64(m)
	if !bytes.Equal(m, ringMsg(seq, len(m))) {
		return seq, fmt.Errorf("message %d of %d bytes is torn", seq, len(m))
	}
	return seq, nil
}

// ringSize is the size of message seq in the mixed test: mostly small
// (the ring's own path), some above the 1000 bytes a 4 KiB ring keeps
// whole (streamed by the library), some empty-ish.
func ringSize(seq uint64) int {
	switch seq % 10 {
	case 3:
		return 1000 + int(seq%7)*300 // streamed
	case 7:
		return 8
	default:
		return 8 + int(seq*37%900)
	}
}

func registerRingTargets() {
	Register("ring_echo", func(arg []byte) int { // queue 0 -> queue 1, until an empty message
		in, err1 := OpenQueue(0)
		out, err2 := OpenQueue(1)
		if err1 != nil || err2 != nil {
			return 2
		}
		buf := make([]byte, 4096)
		for {
			n, err := in.GetInto(context.Background(), buf)
			if err != nil {
				return 3
			}
			if out.Put(context.Background(), buf[:n]) != nil {
				return 4
			}
			if n == 0 {
				return 0
			}
		}
	})
	Register("ring_put_forever", func(arg []byte) int { // numbered 64-byte messages
		q, err := OpenQueue(0)
		if err != nil {
			return 2
		}
		for seq := uint64(0); ; seq++ {
			if q.Put(context.Background(), ringMsg(seq, 64)) != nil {
				return 3
			}
		}
	})
	Register("ring_hold_lock", func(arg []byte) int { // dies holding a lock of queue 0
		q, err1 := OpenQueue(0)
		note, err2 := OpenQueue(1)
		if err1 != nil || err2 != nil || q.ring == nil {
			return 2
		}
		r := q.ring
		owner := r.getOwner
		if string(arg) == "put" {
			owner = r.putOwner
		}
		if !atomic.CompareAndSwapUint64(owner, 0, r.token) {
			return 3
		}
		if string(arg) == "put" { // half a put: the record, not the tail
			r.writeRecord(atomic.LoadUint64(r.tail), []byte("never published"))
		}
		if note.Put(context.Background(), []byte("held")) != nil {
			return 4
		}
		time.Sleep(time.Minute) // killed here
		return 0
	})
	Register("ring_get_forever", func(arg []byte) int { // checks what it takes
		q, err := OpenQueue(0)
		if err != nil {
			return 2
		}
		buf := make([]byte, 64)
		for {
			n, err := q.GetInto(context.Background(), buf)
			if err != nil {
				return 3
			}
			if _, err := ringSeq(buf[:n]); err != nil {
				return 4
			}
		}
	})
}

// ringEcho starts a child that echoes queue out onto queue back (both
// 4 KiB rings) and a goroutine that runs produce on out, then puts the
// empty end message. finish checks the producer, the child's exit and
// that it ended.
func ringEcho(t *testing.T, produce func(out *Queue) error) (back *Queue, finish func()) {
	t.Helper()
	out := testQueueBytes(t, 4096)
	back = testQueueBytes(t, 4096)
	p := start(t, "ring_echo", "", out, back)
	t.Cleanup(func() { out.Shutdown() }) // a failed test ends the producer's wait
	errc := make(chan error, 1)
	go func() {
		if err := produce(out); err != nil {
			errc <- err
			return
		}
		errc <- out.Put(context.Background(), nil)
	}()
	return back, func() {
		t.Helper()
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if err := p.JoinTimeout(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		if code, _ := p.ExitCode(); code != 0 {
			t.Fatalf("echo child exited %d", code)
		}
	}
}

// The messages of the mixed tests: count of them, sizes by ringSize.
const ringCount = 3000

// Messages of mixed sizes through a 4 KiB ring to a child and back: the
// ring wraps every few messages (padding records), a quarter of them are
// streamed, and both processes put and get on the ring and through the
// library in turn. Every message comes back whole and in order.
func TestRingMixedSizesWrapAndStream(t *testing.T) {
	back, finish := ringEcho(t, func(out *Queue) error {
		for seq := uint64(0); seq < ringCount; seq++ {
			if err := out.Put(context.Background(), ringMsg(seq, ringSize(seq))); err != nil {
				return err
			}
		}
		return nil
	})
	buf := make([]byte, 4096)
	for seq := uint64(0); seq < ringCount; seq++ {
		n, err := back.GetInto(ctxTimeout(t, 30*time.Second), buf)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		got, err := ringSeq(buf[:n])
		if err != nil || got != seq || n != ringSize(seq) {
			t.Fatalf("message %d: got %d (%d bytes, want %d): %v", seq, got, n, ringSize(seq), err)
		}
	}
	if n, err := back.GetInto(ctxTimeout(t, 30*time.Second), buf); err != nil || n != 0 {
		t.Fatalf("end message: %d bytes, %v", n, err)
	}
	finish()
}

// Get takes small messages on the ring and larger ones (above the 256
// bytes of its stack buffer, or streamed) through the library, in order.
func TestRingGet(t *testing.T) {
	q := testQueueBytes(t, 4096)
	sizes := []int{8, 0, 255, 256, 257, 1500, 9}
	go func() {
		for i, n := range sizes {
			m := make([]byte, n)
			if n >= 8 {
				m = ringMsg(uint64(i), n)
			}
			if err := q.Put(context.Background(), m); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i, n := range sizes {
		m, err := q.Get(ctxTimeout(t, 30*time.Second))
		if err != nil || len(m) != n || m == nil {
			t.Fatalf("message %d: %d bytes (nil: %v), %v; want %d", i, len(m), m == nil, err, n)
		}
		if seq, err := ringSeq(m); n >= 8 && (err != nil || seq != uint64(i)) {
			t.Fatalf("message %d: %d, %v", i, seq, err)
		}
	}
}

// PutMany and GetMany of mixed sizes through a 4 KiB ring: runs of small
// messages go as batches on the ring, streamed ones through the library
// (first in a GetMany, never behind others), in order, with the child
// echoing them.
func TestRingManyMixedSizes(t *testing.T) {
	back, finish := ringEcho(t, func(out *Queue) error {
		batch := [][]byte{}
		for seq := uint64(0); seq < ringCount; seq++ {
			batch = append(batch, ringMsg(seq, ringSize(seq)))
			if len(batch) == 7 || seq == ringCount-1 {
				if n, err := out.PutMany(context.Background(), batch); err != nil || n != len(batch) {
					return fmt.Errorf("PutMany: %d of %d, %v", n, len(batch), err)
				}
				batch = batch[:0]
			}
		}
		return nil
	})
	buf, lens := make([]byte, 8192), make([]int, 16)
	for seq, end := uint64(0), false; !end; {
		n, err := back.GetMany(ctxTimeout(t, 30*time.Second), buf, lens)
		if err != nil {
			t.Fatalf("GetMany at %d: %v", seq, err)
		}
		off := 0
		for i, l := range lens[:n] {
			if end = l == 0 && seq == ringCount && i == n-1; end {
				break // the end message
			}
			got, err := ringSeq(buf[off : off+l])
			if err != nil || got != seq || l != ringSize(seq) || (i > 0 && l > 1000) {
				t.Fatalf("message %d: got %d (%d bytes, %d of a batch of %d): %v", seq, got, l, i, n, err)
			}
			off += l
			seq++
		}
	}
	finish()
}

// A buffer too small leaves the message queued (the library answers
// ErrNoSpace with the size); maxsize and Shutdown hold on the ring's path.
func TestRingLimitsAndShutdown(t *testing.T) {
	q := testQueue(t, 2)
	small := make([]byte, 10)
	for i := 0; i < 2; i++ {
		if err := q.PutNowait(ringMsg(uint64(i), 100)); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	if err := q.PutNowait(ringMsg(2, 8)); !errors.Is(err, ErrFull) {
		t.Fatalf("third put on a queue of maxsize 2: %v, want ErrFull", err)
	}
	if n, err := q.GetInto(context.Background(), small); !errors.Is(err, ErrNoSpace) || n != 100 {
		t.Fatalf("get into 10 bytes: %d, %v; want 100, ErrNoSpace", n, err)
	}
	if q.Len() != 2 {
		t.Fatalf("Len after a refused get: %d, want 2", q.Len())
	}
	buf := make([]byte, 100)
	if n, err := q.GetInto(context.Background(), buf); err != nil || n != 100 {
		t.Fatalf("get: %d, %v", n, err)
	}
	if seq, err := ringSeq(buf); err != nil || seq != 0 {
		t.Fatalf("first message: %d, %v", seq, err)
	}
	if err := q.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := q.Put(context.Background(), ringMsg(3, 8)); !errors.Is(err, ErrClosed) {
		t.Fatalf("put after Shutdown: %v, want ErrClosed", err)
	}
	if n, err := q.GetInto(context.Background(), buf); err != nil || n != 100 {
		t.Fatalf("drain after Shutdown: %d, %v", n, err)
	}
	if _, err := q.GetInto(context.Background(), buf); !errors.Is(err, io.EOF) {
		t.Fatalf("get from a drained, shut down queue: %v, want io.EOF", err)
	}
}

// A joinable queue counts messages put and got on the ring for Join.
func TestRingJoinable(t *testing.T) {
	q, err := NewJoinableQueue(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	for i := 0; i < 3; i++ {
		if err := q.Put(context.Background(), ringMsg(uint64(i), 16)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 16)
	for i := 0; i < 3; i++ {
		if _, err := q.GetInto(context.Background(), buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Join(ctxTimeout(t, 50*time.Millisecond)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("join with 3 messages not done: %v, want ErrTimeout", err)
	}
	for i := 0; i < 3; i++ {
		if err := q.TaskDone(); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Join(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatalf("join with every message done: %v", err)
	}
	if err := q.TaskDone(); !errors.Is(err, ErrState) {
		t.Fatalf("one TaskDone too many: %v, want ErrState", err)
	}
}

// Goroutines of one process share its lock token: their puts and gets on
// the ring exclude each other like those of different processes.
func TestRingGoroutines(t *testing.T) {
	q := testQueueBytes(t, 4096)
	const writers, each = 4, 5000
	errc := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func(w int) {
			for i := 0; i < each; i++ {
				if err := q.Put(context.Background(), ringMsg(uint64(w*each+i), 24+w*8)); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}(w)
	}
	next := make([]uint64, writers) // per writer, in order
	buf := make([]byte, 64)
	for got := 0; got < writers*each; got++ {
		n, err := q.GetInto(ctxTimeout(t, 30*time.Second), buf)
		if err != nil {
			t.Fatalf("get %d: %v", got, err)
		}
		seq, err := ringSeq(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		w := int(seq) / each
		if w >= writers || n != 24+w*8 || seq != uint64(w*each)+next[w] {
			t.Fatalf("message %d (%d bytes) out of order: writer %d expected %d", seq, n, w, next[w])
		}
		next[w]++
	}
	for w := 0; w < writers; w++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// drainToMarker puts marker (after a kill: the put takes over a lock the
// dead process held and repairs the counts; it waits for room while the
// ring is full) and gets until it comes back, passing every message before
// it to check.
func drainToMarker(t *testing.T, q *Queue, marker []byte, check func(m []byte) error) {
	t.Helper()
	putErr := make(chan error, 1)
	go func() { putErr <- q.Put(ctxTimeout(t, 30*time.Second), marker) }()
	defer func() {
		if err := <-putErr; err != nil {
			t.Fatalf("put after a kill: %v", err)
		}
	}()
	buf := make([]byte, 64)
	for {
		n, err := q.GetInto(ctxTimeout(t, 10*time.Second), buf)
		if err != nil {
			t.Fatalf("get after a kill: %v", err)
		}
		if bytes.Equal(buf[:n], marker) {
			return
		}
		if err := check(buf[:n]); err != nil {
			t.Fatal(err)
		}
	}
}

// A producer killed while putting on the ring, over and over (it is in
// its lock for most of its time, so some kills land there): what it put
// comes out whole and in order, and the queue goes on working for others,
// with the lock a dead process held taken over.
func TestRingKilledProducers(t *testing.T) {
	q := testQueue(t, 0)
	buf := make([]byte, 64)
	for round := 0; round < 8; round++ {
		p := start(t, "ring_put_forever", "", q)
		want := uint64(0)
		next := func(m []byte) error {
			seq, err := ringSeq(m)
			if err == nil && seq != want {
				err = fmt.Errorf("round %d: message %d, want %d", round, seq, want)
			}
			want++
			return err
		}
		for i := 0; i < 2000+rand.Intn(20000); i++ {
			n, err := q.GetInto(ctxTimeout(t, 30*time.Second), buf)
			if err == nil {
				err = next(buf[:n])
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		p.Kill()
		if err := p.JoinTimeout(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		drainToMarker(t, q, []byte("after round "+strconv.Itoa(round)), next)
	}
}

// A consumer killed while getting on the ring, over and over: the
// messages it did not take stay queued, whole and in order, and the queue
// goes on working.
func TestRingKilledConsumers(t *testing.T) {
	q := testQueueBytes(t, 64*1024)
	seq := uint64(0)
	for round := 0; round < 8; round++ {
		p := start(t, "ring_get_forever", "", q)
		for i := 0; i < 2000+rand.Intn(20000); i++ {
			if err := q.Put(ctxTimeout(t, 30*time.Second), ringMsg(seq, 64)); err != nil {
				t.Fatal(err)
			}
			seq++
		}
		p.Kill()
		if err := p.JoinTimeout(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		if code, _ := p.ExitCode(); code > 0 {
			t.Fatalf("round %d: the consumer found a bad message (exit %d)", round, code)
		}
		last, first := uint64(0), true
		drainToMarker(t, q, []byte("after round "+strconv.Itoa(round)), func(m []byte) error {
			got, err := ringSeq(m)
			if err == nil && ((!first && got != last+1) || got >= seq) {
				err = fmt.Errorf("round %d: message %d after %d", round, got, last)
			}
			last, first = got, false
			return err
		})
	}
}

// A process that dies holding the put or the get lock it took on the ring
// (with half a record written, for put) is found dead by the library's
// liveness check, whose token the ring's lock word holds: the next put
// and get take the lock over, and the half record never shows.
func TestRingLockOfDeadProcessTakenOver(t *testing.T) {
	for _, side := range []string{"put", "get"} {
		q := testQueue(t, 0)
		note := testQueue(t, 0)
		if err := q.Put(context.Background(), []byte("before")); err != nil {
			t.Fatal(err)
		}
		p := start(t, "ring_hold_lock", side, q, note)
		if m, err := note.Get(ctxTimeout(t, 30*time.Second)); err != nil || string(m) != "held" {
			t.Fatalf("%s: the child did not take the lock: %q %v (exit code: see log)", side, m, err)
		}
		p.Kill()
		if err := p.JoinTimeout(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		if err := q.Put(ctxTimeout(t, 10*time.Second), []byte("after")); err != nil {
			t.Fatalf("%s lock of a dead process: put: %v", side, err)
		}
		buf := make([]byte, 64)
		for _, want := range []string{"before", "after"} {
			n, err := q.GetInto(ctxTimeout(t, 10*time.Second), buf)
			if err != nil || string(buf[:n]) != want {
				t.Fatalf("%s lock of a dead process: got %q %v, want %q", side, buf[:n], err, want)
			}
		}
		if q.Len() != 0 {
			t.Fatalf("%s lock of a dead process: Len %d after draining", side, q.Len())
		}
	}
}

// BenchmarkRingPutGetInto: one Put and one GetInto of 64 bytes in one
// goroutine (no peer): what the ring's own path costs a call, beside
// BenchmarkLibraryPutGetInto, the same through the library (cgo).
func BenchmarkRingPutGetInto(b *testing.B) { benchPutGetInto(b, false) }

func BenchmarkLibraryPutGetInto(b *testing.B) { benchPutGetInto(b, true) }

func benchPutGetInto(b *testing.B, library bool) {
	q, err := NewQueue(0)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	if library {
		q.ring = nil
	}
	msg, buf := make([]byte, 64), make([]byte, 64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := q.Put(context.Background(), msg); err != nil {
			b.Fatal(err)
		}
		if _, err := q.GetInto(context.Background(), buf); err != nil {
			b.Fatal(err)
		}
	}
}
