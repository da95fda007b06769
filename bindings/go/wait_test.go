package multiproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

func registerWaitTargets() {
	targets := map[string]TargetFunc{
		// Sleep 200 ms, then put ('q'), set ('e'), send ('c') or exit
		// ('x'); stay alive after the others so only that one is ready.
		"wait_actor": func(arg []byte) int {
			q, err1 := OpenQueue(0)
			ev, err2 := OpenEvent(1)
			c, err3 := OpenConn(2, Writable)
			if err1 != nil || err2 != nil || err3 != nil {
				return 2
			}
			time.Sleep(200 * time.Millisecond)
			switch string(arg) {
			case "q":
				err1 = q.Put(context.Background(), []byte("hi"))
			case "e":
				err1 = ev.Set()
			case "c":
				err1 = c.Send(context.Background(), []byte("hi"))
			case "x":
				return 7
			}
			if err1 != nil {
				return 3
			}
			time.Sleep(60 * time.Second)
			return 0
		},
		"parent_info": func(arg []byte) int {
			q, err := OpenQueue(0)
			if err != nil {
				return 2
			}
			pp := ParentProcess()
			if pp == nil {
				return 3
			}
			msg := fmt.Sprintf("%d|%s|%v", pp.Pid, pp.Name, pp.IsAlive())
			if q.Put(context.Background(), []byte(msg)) != nil {
				return 4
			}
			return 0
		},
	}
	for name, fn := range targets {
		if err := Register(name, fn); err != nil {
			panic(err)
		}
	}
}

type waitFixture struct {
	q    *Queue
	ev   *Event
	r, w *Conn
	p    *Process
}

func startWaitFixture(t *testing.T, what string) *waitFixture {
	t.Helper()
	f := &waitFixture{}
	var err error
	if f.q, err = NewQueue(0); err != nil {
		t.Fatal(err)
	}
	if f.ev, err = NewEvent(); err != nil {
		t.Fatal(err)
	}
	if f.r, f.w, err = Pipe(false); err != nil {
		t.Fatal(err)
	}
	f.p, err = NewProcess("wait_actor", []byte(what), &ProcessOptions{Handles: []Handle{f.q, f.ev, f.w}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.p.Kill()
		f.p.JoinTimeout(10 * time.Second)
		f.p.Close()
		f.q.Close()
		f.ev.Close()
		f.r.Close()
		f.w.Close()
	})
	return f
}

// Ported from CPython _test_multiprocessing.py TestWait.test_wait: each
// kind of object, made ready by another process, wakes the wait.
func TestWaitEachKindWakes(t *testing.T) {
	for _, tc := range []struct {
		what string
		want func(f *waitFixture) Waitable
	}{
		{"q", func(f *waitFixture) Waitable { return f.q }},
		{"e", func(f *waitFixture) Waitable { return f.ev }},
		{"c", func(f *waitFixture) Waitable { return f.r }},
		{"x", func(f *waitFixture) Waitable { return f.p }},
	} {
		t.Run(tc.what, func(t *testing.T) {
			f := startWaitFixture(t, tc.what)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			ready, err := Wait(ctx, f.r, f.q, f.p, f.ev)
			if err != nil {
				t.Fatal(err)
			}
			if len(ready) != 1 || ready[0] != tc.want(f) {
				t.Fatalf("ready = %v, want only %v", ready, tc.want(f))
			}
			if took := time.Since(start); took < 150*time.Millisecond || took > 10*time.Second {
				t.Fatalf("woke after %v", took)
			}
		})
	}
}

// TestWait.test_wait_timeout: nothing ready; a done context only looks.
func TestWaitTimeout(t *testing.T) {
	f := startWaitFixture(t, "z") // does nothing
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	ready, err := Wait(ctx, f.r, f.q, f.p, f.ev)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || ready != nil {
		t.Fatalf("Wait = %v, %v; want ErrTimeout", ready, err)
	}
	if took := time.Since(start); took < 290*time.Millisecond || took > 5*time.Second {
		t.Fatalf("took %v", took)
	}
	// A deadline in the past: only a look, which finds the set event.
	past, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Hour))
	defer cancel2()
	if _, err := Wait(past, f.ev, f.q); !errors.Is(err, ErrTimeout) {
		t.Fatalf("past deadline, nothing ready: %v", err)
	}
	if err := f.ev.Set(); err != nil {
		t.Fatal(err)
	}
	ready, err = Wait(past, f.q, f.ev)
	if err != nil || len(ready) != 1 || ready[0] != f.ev {
		t.Fatalf("past deadline, event set: %v, %v", ready, err)
	}
}

func TestWaitCanceled(t *testing.T) {
	f := startWaitFixture(t, "z")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := Wait(ctx, f.r, f.ev)
	if !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v; want ErrCanceled", err)
	}
}

func TestWaitBadInput(t *testing.T) {
	if _, err := Wait(context.Background()); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no objects: %v", err)
	}
	ev, err := NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	many := make([]Waitable, WaitMax+1)
	for i := range many {
		many[i] = ev
	}
	if _, err := Wait(context.Background(), many...); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("too many: %v", err)
	}
	ev.Close()
	if _, err := Wait(context.Background(), ev); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed: %v", err)
	}
	p, err := NewProcess("exit_with", []byte("0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := Wait(context.Background(), p); !errors.Is(err, ErrState) {
		t.Fatalf("not started: %v", err)
	}
	if _, err := p.Sentinel(); !errors.Is(err, ErrState) {
		t.Fatalf("sentinel before start: %v", err)
	}
}

// test_sentinel and test_active_children (CPython).
func TestProcessSentinelAndActiveChildren(t *testing.T) {
	p, err := NewProcess("sleep", nil, &ProcessOptions{Daemon: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if !p.Daemon() {
		t.Fatal("Daemon() = false")
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	fd, err := p.Sentinel()
	if err != nil || fd < 0 {
		t.Fatalf("Sentinel = %d, %v", fd, err)
	}
	found := false
	for _, c := range ActiveChildren() {
		found = found || c == p
	}
	if !found {
		t.Fatal("the running child is not in ActiveChildren")
	}
	p.Kill()
	ready, err := Wait(context.Background(), p)
	if err != nil || len(ready) != 1 {
		t.Fatalf("Wait(process) = %v, %v", ready, err)
	}
	p.JoinTimeout(10 * time.Second)
	// A process released by Cmd.Wait-like release is ready without C;
	// the other ready objects are still reported with it.
	ev, err := NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	ev.Set()
	p.release()
	ready, err = Wait(context.Background(), ev, p)
	if err != nil || len(ready) != 2 {
		t.Fatalf("Wait(set event, released process) = %v, %v", ready, err)
	}
	for _, c := range ActiveChildren() {
		if c == p {
			t.Fatal("the ended child is still in ActiveChildren")
		}
	}
}

// test_parent_process (CPython): the child sees this process as parent.
func TestParentProcess(t *testing.T) {
	if ParentProcess() != nil {
		t.Fatal("ParentProcess() in the main process is not nil")
	}
	q, err := NewQueue(0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	p, err := NewProcess("parent_info", nil, &ProcessOptions{Handles: []Handle{q}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	got, err := q.GetTimeout(20 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d|MainProcess|true", os.Getpid())
	if string(got) != want {
		t.Fatalf("child says %q, want %q", got, want)
	}
	p.JoinTimeout(10 * time.Second)
}
