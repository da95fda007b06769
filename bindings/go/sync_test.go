package multiproc

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestLockOwnerDeathHandsLockOn(t *testing.T) {
	l, err := NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ev, err := NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	p := start(t, "lock_hold", "", l, ev)
	if err := ev.WaitTimeout(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.TryAcquire(); ok || err != nil || !l.Locked() {
		t.Fatalf("try acquire of a held lock: %v %v", ok, err)
	}
	p.Kill()
	err = l.AcquireTimeout(30 * time.Second)
	if !errors.Is(err, ErrOwnerDead) {
		t.Fatalf("acquire after owner death: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Acquire(context.Background()); err != nil {
		t.Fatalf("lock usable after repair: %v", err)
	}
	l.Release()
	if err := l.Release(); !errors.Is(err, ErrState) {
		t.Fatalf("release of a free lock: %v", err)
	}
}

func TestRLockAndPlainLockReentry(t *testing.T) {
	r, _ := NewRLock()
	defer r.Close()
	if r.Acquire(context.Background()) != nil || r.Acquire(context.Background()) != nil || r.Release() != nil || r.Release() != nil {
		t.Fatal("recursive acquire/release failed")
	}
	l, _ := NewLock()
	defer l.Close()
	l.Acquire(context.Background())
	// Issue 20, defect 7 (CPython _TestLock.test_lock: acquire(False) by
	// the holder is False): a try or a timed acquire is "not acquired";
	// only a wait without limit is ErrState (it would never end).
	if ok, err := l.TryAcquire(); ok || err != nil {
		t.Fatalf("try acquire by the holder: %v %v", ok, err)
	}
	if err := l.AcquireTimeout(0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("re-acquire(0) of a plain lock: %v", err)
	}
	if err := l.AcquireTimeout(time.Second); !errors.Is(err, ErrTimeout) {
		t.Fatalf("timed re-acquire of a plain lock: %v", err)
	}
	if err := l.Acquire(context.Background()); !errors.Is(err, ErrState) {
		t.Fatalf("re-acquire of a plain lock without a limit: %v", err)
	}
	l.Release()
}

func TestSemaphoreAcrossProcesses(t *testing.T) {
	s, err := NewBoundedSemaphore(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Release(); !errors.Is(err, ErrState) {
		t.Fatalf("release above bound: %v", err)
	}
	if code := run(t, "sem_hold", "", s); code != 0 {
		t.Fatalf("child exit %d", code)
	}
	if s.Value() != 0 {
		t.Fatalf("value %d after the child took it", s.Value())
	}
	if err := s.AcquireTimeout(20 * time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("acquire at 0: %v", err)
	}
	s.Release()
	if err := s.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEventAndBarrierAcrossProcesses(t *testing.T) {
	ev, _ := NewEvent()
	defer ev.Close()
	b, err := NewBarrier(3)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p1 := start(t, "event_then_barrier", "", ev, b)
	p2 := start(t, "event_then_barrier", "", ev, b)
	if ev.IsSet() {
		t.Fatal("set too early")
	}
	ev.Set()
	idx, err := b.Wait(ctxTimeout(t, 30*time.Second))
	if err != nil || idx < 0 || idx > 2 || b.Parties() != 3 {
		t.Fatalf("barrier: %d %v", idx, err)
	}
	for _, p := range []*Process{p1, p2} {
		p.JoinTimeout(30 * time.Second)
		if code, _ := p.ExitCode(); code != 0 {
			t.Fatalf("child exit %d", code)
		}
	}
	ev.Clear()
	if err := ev.WaitTimeout(10 * time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("wait on clear event: %v", err)
	}
	b.Abort()
	if _, err := b.Wait(context.Background()); !errors.Is(err, ErrState) || !b.Broken() {
		t.Fatalf("wait on aborted barrier: %v", err)
	}
	b.Reset()
	if b.Broken() {
		t.Fatal("broken after reset")
	}
}

func TestConditionNotify(t *testing.T) {
	l, _ := NewLock()
	defer l.Close()
	c, err := NewCondition(l)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ready := make(chan struct{})
	done := make(chan error, 1)
	flag := false
	go func() {
		l.Acquire(context.Background())
		close(ready)
		var err error
		for !flag && err == nil {
			err = c.WaitTimeout(30 * time.Second)
		}
		l.Release()
		done <- err
	}()
	<-ready
	l.Acquire(context.Background()) // the waiter released it in Wait
	flag = true
	c.NotifyAll()
	l.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := c.Notify(1); !errors.Is(err, ErrState) {
		t.Fatalf("notify without the lock: %v", err)
	}
}

// Ported from CPython _TestCondition.test_waitfor and test_waitfor_timeout
// (the other party is a goroutine on its own OS thread, not a process).
func TestConditionWaitFor(t *testing.T) {
	l, _ := NewLock()
	defer l.Close()
	c, err := NewCondition(l)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	state := -1
	done := make(chan error, 1)
	go func() {
		l.Acquire(context.Background())
		state = 0
		c.Notify(1)
		err := c.WaitFor(ctxTimeout(t, 30*time.Second), func() bool { return state == 4 })
		if err == nil && state != 4 {
			err = errors.New("WaitFor returned with state != 4")
		}
		l.Release()
		done <- err
	}()
	l.Acquire(context.Background())
	if err := c.WaitFor(ctxTimeout(t, 30*time.Second), func() bool { return state == 0 }); err != nil || state != 0 {
		t.Fatalf("wait for state 0: %v (state %d)", err, state)
	}
	l.Release()
	for i := 0; i < 4; i++ {
		time.Sleep(10 * time.Millisecond)
		l.Acquire(context.Background())
		state++
		c.Notify(1)
		l.Release()
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// test_waitfor_timeout: a predicate that stays false ends at the
	// deadline, plausibly late (CPython's bounds: 0.6x to 10x).
	l.Acquire(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	err = c.WaitFor(ctx, func() bool { return state == 99 })
	dt := time.Since(t0)
	if err == nil || dt < 60*time.Millisecond || dt > time.Second {
		t.Fatalf("wait for a false predicate: %v after %v", err, dt)
	}
	if !l.Locked() {
		t.Fatal("the lock is not held after WaitFor")
	}
	l.Release()
}

// After CPython _TestBarrier.test_default_timeout: a Wait without a
// deadline ends at the barrier's default timeout and breaks it for all.
func TestBarrierDefaultTimeout(t *testing.T) {
	b, err := NewBarrierTimeout(3, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	errs := make(chan error, 2)
	t0 := time.Now()
	for i := 0; i < 2; i++ { // the third party never comes
		go func() {
			_, err := b.Wait(context.Background())
			errs <- err
		}()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrState) {
			t.Fatalf("wait past the default timeout: %v", err)
		}
	}
	if d := time.Since(t0); d < 150*time.Millisecond || d > 20*time.Second || !b.Broken() {
		t.Fatalf("ended after %v, broken %v", d, b.Broken())
	}
}

// After CPython _TestBarrier.test_action (parties are goroutines here):
// the action runs once per round, before any party is released; a failing
// action breaks the barrier.
func TestBarrierAction(t *testing.T) {
	b, _ := NewBarrier(3)
	defer b.Close()
	var runs atomic.Int64
	var fail atomic.Bool
	if err := b.SetAction(func() error {
		runs.Add(1)
		if fail.Load() {
			return errors.New("action failed")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	round := func() []error {
		errs := make(chan error, 3)
		for i := 0; i < 3; i++ {
			go func() {
				_, err := b.Wait(ctxTimeout(t, 30*time.Second))
				if err == nil && runs.Load() != 1 {
					err = errors.New("released before the action ran")
				}
				errs <- err
			}()
		}
		return []error{<-errs, <-errs, <-errs}
	}
	for _, err := range round() {
		if err != nil {
			t.Fatal(err)
		}
	}
	fail.Store(true)
	runs.Store(0)
	failed, broken := 0, 0
	for _, err := range round() {
		switch {
		case errors.Is(err, ErrTaskFailed):
			failed++
		case errors.Is(err, ErrState):
			broken++
		}
	}
	if failed != 1 || broken != 2 || !b.Broken() {
		t.Fatalf("failing action: %d ErrTaskFailed, %d ErrState, broken %v", failed, broken, b.Broken())
	}
	if err := b.SetAction(nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("nil action: %v", err)
	}
}
