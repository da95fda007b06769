package multiproc

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

// The child of the batch tests (registered before TestMain calls Main):
// PutMany of the numbered messages "0".."N-1" (N = arg), in batches of
// 1 to 300 messages.
func init() {
	err := Register("queue_put_many_n", func(arg []byte) int {
		q, err := OpenQueue(0)
		if err != nil {
			return 2
		}
		n, _ := strconv.Atoi(string(arg))
		for i, size := 0, 1; i < n; size = size%300 + 7 {
			batch := numbered(i, minInt(i+size, n))
			if put, err := q.PutMany(context.Background(), batch); err != nil || put != len(batch) {
				return 3
			}
			i += len(batch)
		}
		return 0
	})
	if err != nil {
		panic(err)
	}
}

// numbered is the messages "from".."to-1".
func numbered(from, to int) [][]byte {
	msgs := make([][]byte, 0, to-from)
	for i := from; i < to; i++ {
		msgs = append(msgs, []byte(strconv.Itoa(i)))
	}
	return msgs
}

// split is the n messages of a GetMany, as slices of buf.
func split(buf []byte, lens []int, n int) [][]byte {
	msgs := make([][]byte, 0, n)
	off := 0
	for _, l := range lens[:n] {
		msgs = append(msgs, buf[off:off+l])
		off += l
	}
	return msgs
}

// getAll gets count messages with GetMany (buffer of size bytes, at most
// max per call), copied.
func getAll(t *testing.T, q *Queue, count, size, max int) [][]byte {
	t.Helper()
	buf, lens := make([]byte, size), make([]int, max)
	var all [][]byte
	for len(all) < count {
		n, err := q.GetManyTimeout(buf, lens, 30*time.Second)
		if err != nil {
			t.Fatalf("get many after %d messages: %v", len(all), err)
		}
		for _, m := range split(buf, lens, n) {
			all = append(all, append([]byte{}, m...))
		}
	}
	return all
}

func sameMessages(t *testing.T, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("message %d: %d bytes %.20q, want %d bytes %.20q", i, len(got[i]), got[i], len(want[i]), want[i])
		}
	}
}

// Mixed sizes in one PutMany: empty, binary, one above the pack size
// (put uncopied), one streamed (above a quarter of the 64 KiB ring), and
// more small ones than one C call takes: all arrive, in order.
func TestQueuePutManyGetManyRoundTrip(t *testing.T) {
	q := testQueueBytes(t, 65536)
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	msgs := [][]byte{nil, {}, binary, []byte("a"), bytes.Repeat([]byte("m"), 5000),
		bytes.Repeat([]byte("0123456789abcdef"), 6400), []byte("after the stream")}
	msgs = append(msgs, numbered(0, 2500)...) // > packMaxCount
	for i := 0; i < 40; i++ {                 // > packMaxBytes together
		msgs = append(msgs, bytes.Repeat([]byte{byte(i)}, 3000))
	}
	msgs = append(msgs, nil)

	done := make(chan error, 1)
	go func() { // the stream and the small ring need a consumer meanwhile
		n, err := q.PutManyTimeout(msgs, 30*time.Second)
		if err == nil && n != len(msgs) {
			err = errors.New("put " + strconv.Itoa(n) + " messages")
		}
		done <- err
	}()
	sameMessages(t, getAll(t, q, len(msgs), 128<<10, 64), msgs)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, err := q.PutMany(context.Background(), nil); err != nil || n != 0 {
		t.Fatalf("put of no messages: %d %v", n, err)
	}
}

// What GetMany got goes on with PutManyPacked as it is, in chunks of
// more messages than one C call takes; a deadline in the middle leaves the
// prefix that went in, also across a chunk boundary.
func TestQueuePutManyPackedRelay(t *testing.T) {
	in, out := testQueue(t, 0), testQueue(t, 1500)
	var msgs [][]byte
	for i := 0; i < 2000; i++ {
		msgs = append(msgs, bytes.Repeat([]byte{byte(i)}, i%50)) // some empty
	}
	if n, err := in.PutManyTimeout(msgs, 30*time.Second); err != nil || n != len(msgs) {
		t.Fatalf("put many: %d %v", n, err)
	}
	buf, lens := make([]byte, 1<<20), make([]int, 4096)
	n, err := in.GetManyNowait(buf, lens)
	if err != nil || n != len(msgs) {
		t.Fatalf("get many: %d %v", n, err)
	}
	put, err := out.PutManyPacked(ctxTimeout(t, 50*time.Millisecond), buf, lens[:n])
	if !errors.Is(err, ErrTimeout) || put != 1500 {
		t.Fatalf("packed put into a queue of 1500: %d %v", put, err)
	}
	sameMessages(t, getAll(t, out, 1500, 1<<20, 4096), msgs[:1500])
	off := 0 // the rest starts after the 1500 that went in
	for _, l := range lens[:1500] {
		off += l
	}
	if put, err := out.PutManyPacked(ctxTimeout(t, 30*time.Second), buf[off:], lens[1500:n]); err != nil || put != 500 {
		t.Fatalf("packed put of the rest: %d %v", put, err)
	}
	sameMessages(t, getAll(t, out, 500, 1<<20, 4096), msgs[1500:])
}

func TestQueuePutManyPackedInvalid(t *testing.T) {
	q := testQueue(t, 0)
	buf := []byte("abcdef")
	for _, lens := range [][]int{{2, 5}, {-1, 3}, {7}} {
		if n, err := q.PutManyPacked(context.Background(), buf, lens); !errors.Is(err, ErrInvalid) || n != 0 {
			t.Fatalf("lens %v: %d %v", lens, n, err)
		}
	}
	if q.Len() != 0 {
		t.Fatalf("%d messages put with bad lengths", q.Len())
	}
	if n, err := q.PutManyPacked(context.Background(), buf, []int{2, 0, 4}); err != nil || n != 3 {
		t.Fatalf("packed put: %d %v", n, err)
	}
	sameMessages(t, getAll(t, q, 3, 16, 8), [][]byte{[]byte("ab"), {}, []byte("cdef")})
}

// GetMany stops at len(lens) messages and at what fits in buf; a first
// message larger than buf stays queued and lens[0] says its size.
func TestQueueGetManyLimits(t *testing.T) {
	q := testQueue(t, 0)
	if _, err := q.PutManyNowait([][]byte{nil, {}, []byte("x")}); err != nil {
		t.Fatal(err)
	}
	lens := make([]int, 8)
	if n, err := q.GetManyNowait(nil, lens); err != nil || n != 2 || lens[0] != 0 || lens[1] != 0 {
		t.Fatalf("two empty messages into no buffer: %d %v %v", n, err, lens[:2])
	}
	if n, err := q.GetManyNowait(nil, lens); !errors.Is(err, ErrNoSpace) || n != 0 || lens[0] != 1 {
		t.Fatalf("1 byte into no buffer: %d %v, size %d", n, err, lens[0])
	}
	if _, err := q.GetManyNowait(make([]byte, 1), nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no lens: %v", err)
	}
	if _, err := q.PutManyNowait(numbered(10, 20)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	want := append([][]byte{[]byte("x")}, numbered(10, 12)...)
	n, err := q.GetManyNowait(buf, lens[:3]) // at most 3 messages
	if err != nil {
		t.Fatal(err)
	}
	sameMessages(t, split(buf, lens, n), want)
	n, err = q.GetManyNowait(buf[:7], lens) // 3 of 2 bytes fit in 7
	if err != nil {
		t.Fatal(err)
	}
	sameMessages(t, split(buf, lens, n), numbered(12, 15))
	if _, err := q.GetManyNowait(buf[:1], lens); !errors.Is(err, ErrNoSpace) || lens[0] != 2 {
		t.Fatalf("2 bytes into 1: %v, size %d", err, lens[0])
	}
	sameMessages(t, getAll(t, q, 5, 64, 8), numbered(15, 20)) // still queued
	if _, err := q.GetManyNowait(buf, lens); !errors.Is(err, ErrEmpty) {
		t.Fatalf("get many from an empty queue: %v", err)
	}
}

// A producer process puts 50000 messages in batches through a 4 KiB ring
// while this process drains it in batches: each arrives once, in order.
func TestQueuePutManyFromChild(t *testing.T) {
	q := testQueueBytes(t, 4096)
	const count = 50000
	p := start(t, "queue_put_many_n", strconv.Itoa(count), q)
	sameMessages(t, getAll(t, q, count, 1024, 100), numbered(0, count))
	if err := p.JoinTimeout(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if code, _ := p.ExitCode(); code != 0 {
		t.Fatalf("producer exit %d", code)
	}
	if _, err := q.GetManyNowait(make([]byte, 16), make([]int, 4)); !errors.Is(err, ErrEmpty) {
		t.Fatalf("a message too many: %v", err)
	}
}

// Without waiting, PutMany puts the prefix that fits and says ErrFull;
// with a timeout, ErrTimeout.
func TestQueuePutManyFull(t *testing.T) {
	q := testQueue(t, 5)
	n, err := q.PutManyNowait(numbered(0, 8))
	if !errors.Is(err, ErrFull) || n != 5 {
		t.Fatalf("8 into a queue of 5: %d %v", n, err)
	}
	n, err = q.PutManyTimeout(numbered(5, 8), 20*time.Millisecond)
	if !errors.Is(err, ErrTimeout) || n != 0 {
		t.Fatalf("put many into a full queue with a timeout: %d %v", n, err)
	}
	sameMessages(t, getAll(t, q, 5, 64, 16), numbered(0, 5))
}

func TestQueueManyClosed(t *testing.T) {
	q, err := NewJoinableQueue(0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if n, err := q.PutMany(context.Background(), numbered(0, 3)); err != nil || n != 3 {
		t.Fatalf("put many: %d %v", n, err)
	}
	q.Shutdown()
	if n, err := q.PutMany(context.Background(), numbered(3, 5)); !errors.Is(err, ErrClosed) || n != 0 {
		t.Fatalf("put many after shutdown: %d %v", n, err)
	}
	buf, lens := make([]byte, 64), make([]int, 8)
	n, err := q.GetMany(context.Background(), buf, lens) // drains what is queued
	if err != nil {
		t.Fatal(err)
	}
	sameMessages(t, split(buf, lens, n), numbered(0, 3))
	if _, err := q.GetMany(context.Background(), buf, lens); !errors.Is(err, ErrClosed) {
		t.Fatalf("get many after the drain: %v", err)
	}
	for i := 0; i < 3; i++ { // each message of a batch counts for TaskDone
		if err := q.TaskDone(); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Join(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	q.Close()
	if _, err := q.PutMany(context.Background(), numbered(0, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("put many after Close: %v", err)
	}
	if _, err := q.GetMany(context.Background(), buf, lens); !errors.Is(err, ErrClosed) {
		t.Fatalf("get many after Close: %v", err)
	}
}

// Cancelling the context wakes a GetMany waiting for a message and a
// PutMany waiting for room; the PutMany says how many went in first.
func TestQueueManyCancel(t *testing.T) {
	q := testQueue(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	began := time.Now()
	if _, err := q.GetMany(ctx, make([]byte, 16), make([]int, 4)); !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled get many: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	n, err := q.PutMany(ctx, numbered(0, 5))
	if !errors.Is(err, ErrCanceled) || n != 2 {
		t.Fatalf("canceled put many: %d %v", n, err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Fatalf("cancel took %v", d)
	}
	n, err = q.PutMany(ctxTimeout(t, 20*time.Millisecond), numbered(2, 5))
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || n != 0 {
		t.Fatalf("put many past the context's deadline: %d %v", n, err)
	}
	sameMessages(t, getAll(t, q, 2, 64, 16), numbered(0, 2))
}

// A producer killed in the middle of its PutMany calls leaves a prefix of
// its messages, each whole, and a queue that works.
func TestQueueSurvivesKilledPutMany(t *testing.T) {
	q := testQueueBytes(t, 4096)
	p := start(t, "queue_put_many_n", "100000000", q)
	got := getAll(t, q, 2000, 1024, 100) // it is putting: kill it now
	p.Kill()
	if err := p.JoinTimeout(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	buf, lens := make([]byte, 1024), make([]int, 100)
	for {
		n, err := q.GetManyNowait(buf, lens)
		if errors.Is(err, ErrEmpty) {
			break
		}
		if err != nil {
			t.Fatalf("drain after kill: %v", err)
		}
		for _, m := range split(buf, lens, n) {
			got = append(got, append([]byte{}, m...))
		}
	}
	sameMessages(t, got, numbered(0, len(got)))
	if _, err := q.PutMany(context.Background(), [][]byte{[]byte("after")}); err != nil {
		t.Fatal(err)
	}
	n, err := q.GetManyNowait(buf, lens)
	if err != nil {
		t.Fatal(err)
	}
	sameMessages(t, split(buf, lens, n), [][]byte{[]byte("after")})
}

// The cost per 64-byte message of Put, PutMany (which copies the messages
// into one buffer) and PutManyPacked (no copy), in one process, batches
// of 256 drained with GetMany:
//
//	go test -run XXX -bench QueueBatch
func BenchmarkQueueBatch(b *testing.B) {
	msgs := make([][]byte, 256)
	for i := range msgs {
		msgs[i] = bytes.Repeat([]byte{'x'}, 64)
	}
	packed, lens := bytes.Repeat([]byte{'x'}, 64*256), make([]int, 256)
	for i := range lens {
		lens[i] = 64
	}
	puts := map[string]func(q *Queue) error{
		"Put": func(q *Queue) error {
			for _, m := range msgs {
				if err := q.Put(context.Background(), m); err != nil {
					return err
				}
			}
			return nil
		},
		"PutMany":       func(q *Queue) error { _, err := q.PutMany(context.Background(), msgs); return err },
		"PutManyPacked": func(q *Queue) error { _, err := q.PutManyPacked(context.Background(), packed, lens); return err },
	}
	for _, name := range []string{"Put", "PutMany", "PutManyPacked"} {
		put := puts[name]
		b.Run(name, func(b *testing.B) {
			q, err := NewQueue(0)
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			buf, got := make([]byte, 64*256), make([]int, 256)
			began := time.Now()
			for i := 0; i < b.N; i++ {
				if err := put(q); err != nil {
					b.Fatal(err)
				}
				for left := 256; left > 0; {
					n, err := q.GetManyNowait(buf, got)
					if err != nil {
						b.Fatal(err)
					}
					left -= n
				}
			}
			b.ReportMetric(float64(time.Since(began).Nanoseconds())/float64(256*b.N), "ns/msg")
		})
	}
}
