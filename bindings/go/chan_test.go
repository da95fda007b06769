package multiproc

// Tests of TypedQueue.Chan/Feed (ending on shutdown, on cancel, with no
// goroutine left: runtime.NumGoroutine before and after) and of the Conn
// io.Reader/io.Writer views (io.EOF at the end of the stream).

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"
)

// settled waits until the goroutine count is back to at most want (a
// goroutine that has just closed its channel may still be returning).
func settled(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want <= %d:\n%s", runtime.NumGoroutine(), want,
				buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestQueueChanEndsOnShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	q, err := NewTypedQueue[int](0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx := ctxTimeout(t, 30*time.Second)
	for i := 1; i <= 5; i++ {
		q.Put(ctx, i)
	}
	ch, why := q.Chan(ctx)
	time.AfterFunc(100*time.Millisecond, func() { q.Shutdown() })
	var got []int
	for v := range ch {
		got = append(got, v)
	}
	if len(got) != 5 || got[4] != 5 || why() != nil {
		t.Fatalf("got %v, end %v; want 1..5 and nil", got, why())
	}
	settled(t, before)
}

func TestQueueChanEndsOnCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	q, err := NewTypedQueue[string](0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ch, why := q.Chan(ctx)
	q.Put(context.Background(), "one")
	if v := <-ch; v != "one" {
		t.Fatalf("got %q", v)
	}
	cancel() // the goroutine waits in Get on an empty queue
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("a value after cancel")
		}
	case <-time.After(10 * time.Second):
		q.Shutdown() // wakes the Get, so that Close does not wait for it
		t.Fatal("channel not closed 10 s after cancel")
	}
	if !errors.Is(why(), context.Canceled) {
		t.Fatalf("end %v, want context.Canceled", why())
	}
	settled(t, before)
}

func TestQueueFeed(t *testing.T) {
	before := runtime.NumGoroutine()
	q, err := NewTypedQueue[int](2, nil) // maxsize 2: the third Put waits
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	in := make(chan int, 3)
	in <- 1
	in <- 2
	in <- 3
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := q.Feed(ctx, in); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("feed into a full queue: %v, want DeadlineExceeded", err)
	}
	if n := q.Len(); n != 2 {
		t.Fatalf("queue holds %d, want 2", n)
	}
	q.Get(context.Background())
	q.Get(context.Background())
	close(in)
	if err := q.Feed(context.Background(), in); err != nil { // in is closed and empty
		t.Fatalf("feed of a closed channel: %v", err)
	}
	q.Shutdown()
	more := make(chan int, 1)
	more <- 4
	if err := q.Feed(context.Background(), more); !errors.Is(err, ErrClosed) {
		t.Fatalf("feed after shutdown: %v, want ErrClosed", err)
	}
	settled(t, before)
}

func TestConnReaderWriter(t *testing.T) {
	a, b, err := Pipe(true)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := ctxTimeout(t, 30*time.Second)
	data := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 KB
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(a.Writer(ctx), bytes.NewReader(data))
		a.Close() // the end of the stream
		done <- err
	}()
	got, err := io.ReadAll(b.Reader(ctx)) // ReadAll stops at exactly io.EOF
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes (%v), want %d", len(got), err, len(data))
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r := b.Reader(ctx)
	if n, err := r.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("read after the end: %d %v, want 0 io.EOF", n, err)
	}
}
