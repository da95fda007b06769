package multiproc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

// within runs f and returns its error. If f has not returned after limit
// it panics on a goroutine of its own, which no test runner recovers: the
// test binary stops there with every goroutine's stack, since a call that
// blocks forever would also block the Close of the object it holds (and
// with it the test's cleanup).
func within(t *testing.T, what string, limit time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		msg := fmt.Sprintf("%s: still blocked after %v", what, limit)
		go func() { panic(msg) }()
		select {}
	}
}

// expectTimeout checks that f, a XxxTimeout call with a negative
// duration, tries once and reports ErrTimeout at once.
func expectTimeout(t *testing.T, what string, f func() error) {
	t.Helper()
	if err := within(t, what, 5*time.Second, f); !errors.Is(err, ErrTimeout) {
		t.Errorf("%s with a negative duration: %v, want ErrTimeout", what, err)
	}
}

func TestTimeoutOfRoundsUpAndExpiresNegatives(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want int64
	}{
		{-time.Hour, 0},
		{time.Duration(math.MinInt64), 0},
		{-1, 0},
		{0, 0},
		{1, 1},
		{time.Millisecond - 1, 1},
		{time.Millisecond, 1},
		{time.Millisecond + 1, 2},
		{1500 * time.Microsecond, 2},
		{time.Duration(math.MaxInt64), math.MaxInt64/int64(time.Millisecond) + 1},
	}
	for _, c := range cases {
		if got := timeoutOf(c.d); got != c.want {
			t.Errorf("timeoutOf(%v) = %d, want %d", c.d, got, c.want)
		}
	}
}

// A duration too large for "now + d" is a long wait, not an error.
func TestHugeTimeoutIsALongWait(t *testing.T) {
	q := testQueue(t, 0)
	if err := q.PutTimeout([]byte("x"), time.Duration(math.MaxInt64)); err != nil {
		t.Fatalf("put with the largest duration: %v", err)
	}
	if m, err := q.GetTimeout(time.Duration(math.MaxInt64)); err != nil || string(m) != "x" {
		t.Fatalf("get with the largest duration: %q %v", m, err)
	}
}

func TestQueueNegativeTimeoutTriesOnce(t *testing.T) {
	q := testQueue(t, 1)
	neg := -time.Second
	expectTimeout(t, "GetTimeout", func() error { _, err := q.GetTimeout(neg); return err })
	buf, lens := make([]byte, 64), make([]int, 4)
	expectTimeout(t, "GetManyTimeout", func() error { _, err := q.GetManyTimeout(buf, lens, neg); return err })
	// A try that can succeed does.
	if err := within(t, "PutTimeout", 5*time.Second, func() error { return q.PutTimeout([]byte("a"), neg) }); err != nil {
		t.Fatalf("PutTimeout(-1s) with room: %v", err)
	}
	expectTimeout(t, "PutTimeout on a full queue", func() error { return q.PutTimeout([]byte("b"), neg) })
	expectTimeout(t, "PutManyTimeout on a full queue", func() error {
		_, err := q.PutManyTimeout([][]byte{[]byte("b")}, neg)
		return err
	})
	m, err := q.GetTimeout(neg)
	if err != nil || string(m) != "a" {
		t.Fatalf("GetTimeout(-1s) with a message: %q %v", m, err)
	}
	// The same for d = 0: the error of a timed call is ErrTimeout, as Get's
	// documentation says; ErrEmpty and ErrFull belong to the Nowait calls.
	expectTimeout(t, "GetTimeout(0)", func() error { _, err := q.GetTimeout(0); return err })
	if _, err := q.GetNowait(); !errors.Is(err, ErrEmpty) {
		t.Fatalf("GetNowait on an empty queue: %v", err)
	}
}

func TestConnNegativeTimeoutTriesOnce(t *testing.T) {
	a, b := testPipe(t)
	expectTimeout(t, "RecvTimeout", func() error { _, err := a.RecvTimeout(-time.Second); return err })
	var ready bool
	err := within(t, "Poll", 5*time.Second, func() error {
		var err error
		ready, err = a.Poll(-time.Second)
		return err
	})
	if err != nil || ready {
		t.Fatalf("Poll(-1s) with nothing sent: %v %v", ready, err)
	}
	b.Send(context.Background(), []byte("m"))
	if ok, err := a.Poll(-time.Second); !ok || err != nil {
		t.Fatalf("Poll(-1s) with a message: %v %v", ok, err)
	}
}

// holdElsewhere takes a lock-like object on another goroutine (so on
// another OS thread) and holds it until the test ends.
func holdElsewhere(t *testing.T, acquire func() error, release func() error) {
	held, stop, out := make(chan error), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(out)
		err := acquire()
		held <- err
		if err == nil {
			<-stop
			release()
		}
	}()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(stop); <-out })
}

func TestSyncNegativeTimeoutTriesOnce(t *testing.T) {
	neg := -time.Second
	l, err := NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	holdElsewhere(t, func() error { return l.Acquire(context.Background()) }, l.Release)
	expectTimeout(t, "Lock.AcquireTimeout", func() error { return l.AcquireTimeout(neg) })

	v, err := NewValue(Int64, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	holdElsewhere(t, func() error { return v.Acquire(context.Background()) }, v.Release)
	expectTimeout(t, "Value.AcquireTimeout", func() error { return v.AcquireTimeout(neg) })

	s, err := NewSemaphore(0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	expectTimeout(t, "Semaphore.AcquireTimeout", func() error { return s.AcquireTimeout(neg) })

	ev, err := NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	expectTimeout(t, "Event.WaitTimeout", func() error { return ev.WaitTimeout(neg) })

	cl, _ := NewLock()
	defer cl.Close()
	c, err := NewCondition(cl)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	expectTimeout(t, "Condition.WaitTimeout", func() error {
		if err := cl.Acquire(context.Background()); err != nil {
			return err
		}
		defer cl.Release()
		return c.WaitTimeout(neg)
	})
}

func TestProcessJoinNegativeTimeoutTriesOnce(t *testing.T) {
	p := start(t, "sleep", "")
	expectTimeout(t, "JoinTimeout", func() error { return p.JoinTimeout(-time.Second) })
}
