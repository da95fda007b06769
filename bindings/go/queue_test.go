package multiproc

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

func testQueue(t *testing.T, maxsize int) *Queue {
	t.Helper()
	q, err := NewQueue(maxsize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// testQueueBytes is a queue bounded by its ring of maxBytes bytes, closed
// when the test ends.
func testQueueBytes(t *testing.T, maxBytes int) *Queue {
	t.Helper()
	q, err := NewQueueWith(QueueOptions{MaxBytes: maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func TestQueuePutGetNowaitAndShutdown(t *testing.T) {
	q := testQueue(t, 2)
	ctx := context.Background()
	if !q.Empty() {
		t.Fatal("new queue not empty")
	}
	if err := q.Put(ctx, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := q.PutNowait([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if !q.Full() || q.Len() != 2 {
		t.Fatalf("full %v len %d", q.Full(), q.Len())
	}
	if err := q.PutNowait([]byte("c")); !errors.Is(err, ErrFull) {
		t.Fatalf("put on full queue: %v", err)
	}
	if err := q.PutTimeout([]byte("c"), 20*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("put timeout: %v", err)
	}
	q.Shutdown()
	if err := q.Put(ctx, []byte("d")); !errors.Is(err, ErrClosed) {
		t.Fatalf("put after shutdown: %v", err)
	}
	for _, want := range []string{"a", "b"} {
		if m, err := q.Get(ctx); err != nil || string(m) != want {
			t.Fatalf("drain %q %v", m, err)
		}
	}
	if _, err := q.Get(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("get after drain: %v", err)
	}
}

func TestQueueGetIntoAndLargeMessages(t *testing.T) {
	q := testQueueBytes(t, 65536)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB through a 64 KiB ring
	done := make(chan error, 1)
	go func() { done <- q.Put(context.Background(), big) }()
	small := make([]byte, 10)
	n, err := q.GetInto(context.Background(), small)
	if !errors.Is(err, ErrNoSpace) || n != len(big) {
		t.Fatalf("get into small buffer: %d %v", n, err)
	}
	got, err := q.GetTimeout(30 * time.Second)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("large message: %d bytes, %v", len(got), err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Empty messages and empty buffers take the nil-pointer path of the
// direct C calls (Put, Get and GetInto skip SWIG's wrapper).
func TestQueueEmptyMessagesAndBuffers(t *testing.T) {
	q := testQueue(t, 0)
	for _, msg := range [][]byte{nil, {}, []byte("xyz"), nil} {
		if err := q.PutTimeout(msg, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if m, err := q.GetTimeout(10 * time.Second); err != nil || m == nil || len(m) != 0 {
		t.Fatalf("get of an empty message: %q (nil %v) %v", m, m == nil, err)
	}
	if n, err := q.GetInto(context.Background(), nil); err != nil || n != 0 {
		t.Fatalf("get of an empty message into no buffer: %d %v", n, err)
	}
	if n, err := q.GetInto(context.Background(), nil); !errors.Is(err, ErrNoSpace) || n != 3 {
		t.Fatalf("get of 3 bytes into no buffer: %d %v", n, err)
	}
	buf := make([]byte, 8)
	if n, err := q.GetInto(context.Background(), buf); err != nil || string(buf[:n]) != "xyz" {
		t.Fatalf("get into: %q %v", buf[:n], err)
	}
	if n, err := q.GetInto(context.Background(), buf); err != nil || n != 0 {
		t.Fatalf("get of the last, empty message: %d %v", n, err)
	}
	if _, err := q.GetNowait(); !errors.Is(err, ErrEmpty) {
		t.Fatalf("get from an empty queue: %v", err)
	}
}

func TestQueueFromChildAndJSON(t *testing.T) {
	q := testQueue(t, 0)
	if code := run(t, "queue_put_n", "100", q); code != 0 {
		t.Fatalf("producer exit %d", code)
	}
	for i := 0; i < 100; i++ {
		m, err := q.GetNowait()
		if err != nil || string(m) != strconv.Itoa(i) {
			t.Fatalf("message %d: %q %v", i, m, err)
		}
	}
	type job struct {
		ID   int
		Name string
	}
	if err := q.PutJSON(context.Background(), job{1, "a"}); err != nil {
		t.Fatal(err)
	}
	if err := q.PutGob(context.Background(), job{2, "b"}); err != nil {
		t.Fatal(err)
	}
	var j1, j2 job
	if err := q.GetJSON(context.Background(), &j1); err != nil || j1 != (job{1, "a"}) {
		t.Fatalf("json %v %v", j1, err)
	}
	if err := q.GetGob(context.Background(), &j2); err != nil || j2 != (job{2, "b"}) {
		t.Fatalf("gob %v %v", j2, err)
	}
}

func TestJoinableQueue(t *testing.T) {
	q, err := NewJoinableQueue(0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q.Put(context.Background(), []byte("x"))
	if err := q.Join(ctxTimeout(t, 20*time.Millisecond)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("join with a task pending: %v", err)
	}
	q.Get(context.Background())
	if err := q.TaskDone(); err != nil {
		t.Fatal(err)
	}
	if err := q.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := q.TaskDone(); !errors.Is(err, ErrState) {
		t.Fatalf("extra task done: %v", err)
	}
	plain := testQueue(t, 0)
	if err := plain.TaskDone(); !errors.Is(err, ErrState) {
		t.Fatalf("task done on a plain queue: %v", err)
	}
}

func TestQueueSurvivesKilledProducer(t *testing.T) {
	q := testQueue(t, 0)
	p := start(t, "queue_put_n", "1000000", q)
	// Let it put some, then kill it in the middle of its puts.
	if _, err := q.GetTimeout(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	p.Kill()
	p.JoinTimeout(30 * time.Second)
	for {
		if _, err := q.GetNowait(); err != nil {
			if !errors.Is(err, ErrEmpty) {
				t.Fatalf("drain after kill: %v", err)
			}
			break
		}
	}
	if err := q.Put(context.Background(), []byte("after")); err != nil {
		t.Fatal(err)
	}
	if m, err := q.GetNowait(); err != nil || string(m) != "after" {
		t.Fatalf("queue after producer death: %q %v", m, err)
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
