package multiproc

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// Every blocking call below would wait 30 s (its own timeout); canceling
// its context must wake it at once through the C library's cancel token.
func TestCancelWakesBlockedCalls(t *testing.T) {
	q := testQueue(t, 0)
	lock, _ := NewLock()
	defer lock.Close()
	ev, _ := NewEvent()
	defer ev.Close()
	a, b, _ := Pipe(true)
	defer a.Close()
	defer b.Close()
	sleeper := start(t, "sleep", "")

	held := make(chan struct{})
	release := make(chan struct{})
	go func() { // holds the lock on another thread
		lock.Acquire(context.Background())
		close(held)
		<-release
		lock.Release()
	}()
	<-held
	defer close(release)

	calls := map[string]func(ctx context.Context) error{
		"Queue.Get":    func(ctx context.Context) error { _, err := q.Get(ctx); return err },
		"Lock.Acquire": func(ctx context.Context) error { return lock.Acquire(ctx) },
		"Event.Wait":   func(ctx context.Context) error { return ev.Wait(ctx) },
		"Process.Join": func(ctx context.Context) error { return sleeper.Join(ctx) },
		"Conn.Recv":    func(ctx context.Context) error { _, err := a.Recv(ctx); return err },
		"Pool.Apply":   func(ctx context.Context) error { return applySleep(t, ctx) },
		"Barrier.Wait": func(ctx context.Context) error {
			bar, _ := NewBarrier(2)
			defer bar.Close()
			_, err := bar.Wait(ctx)
			return err
		},
		"Semaphore.Acq": func(ctx context.Context) error { s, _ := NewSemaphore(0); defer s.Close(); return s.Acquire(ctx) },
	}
	for name, f := range calls {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errc := make(chan error, 1)
		go func() { errc <- f(ctx) }()
		time.Sleep(100 * time.Millisecond) // let it block
		begin := time.Now()
		cancel()
		select {
		case err := <-errc:
			if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrCanceled) {
				t.Errorf("%s: %v", name, err)
			}
			if d := time.Since(begin); d > time.Second {
				t.Errorf("%s woke after %v", name, d)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: not woken by cancel", name)
		}
	}
	// The queue lost nothing: a canceled get took no message.
	q.Put(context.Background(), []byte("kept"))
	if m, err := q.GetNowait(); err != nil || string(m) != "kept" {
		t.Fatalf("after cancel: %q %v", m, err)
	}
}

var applyPool *Pool

func applySleep(t *testing.T, ctx context.Context) error {
	if applyPool == nil {
		applyPool = testPool(t, 1)
	}
	_, err := applyPool.Apply(ctx, "sleep_ms", []byte("5000"))
	return err
}

func TestDeadlineIsTheTimeout(t *testing.T) {
	q := testQueue(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := q.Get(ctx)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("get past deadline: %v", err)
	}
	if d := time.Since(begin); d < 40*time.Millisecond || d > 5*time.Second {
		t.Fatalf("waited %v for a 50 ms deadline", d)
	}
}

// A goroutine blocked in a C call holds only its own OS thread: with one
// P, other goroutines keep running while it waits.
func TestBlockedCallDoesNotStallOtherGoroutines(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	q := testQueue(t, 0)
	done := make(chan error, 1)
	go func() { _, err := q.GetTimeout(time.Second); done <- err }()
	var ticks int64
	stop := time.After(500 * time.Millisecond)
loop:
	for {
		select {
		case <-stop:
			break loop
		default:
			atomic.AddInt64(&ticks, 1)
			time.Sleep(time.Millisecond)
		}
	}
	if ticks < 50 {
		t.Fatalf("only %d ticks while another goroutine was blocked", ticks)
	}
	if err := <-done; !errors.Is(err, ErrTimeout) {
		t.Fatalf("blocked get: %v", err)
	}
}

// A canceled Barrier.Wait gives up as a timeout does: the barrier is broken
// for everyone, and the other party is not let through without it (the C
// call alone would keep the canceled caller's arrival standing).
func TestBarrierCancelBreaksIt(t *testing.T) {
	bar, err := NewBarrier(2)
	if err != nil {
		t.Fatal(err)
	}
	defer bar.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := bar.Wait(ctx); errc <- err }()
	for bar.NWaiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled wait: %v", err)
	}
	if !bar.Broken() {
		t.Fatal("the barrier is not broken after a canceled wait")
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if _, err := bar.Wait(ctx2); !errors.Is(err, ErrState) {
		t.Fatalf("the other party got %v, want ErrState", err)
	}
}
