package multiproc

// The package's rules across families (issue 21): a nil context panics
// as os/exec's CommandContext does, context.Background() is the fast
// path, Close clears the finalizer, the C enums are the generated ones.

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"multiproc.dev/multiproc/internal/capi"
)

// mustPanicNilContext runs f and fails unless it panics with "nil Context".
func mustPanicNilContext(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if s, ok := r.(string); !ok || !strings.Contains(s, "nil Context") {
			t.Errorf("%s(nil ctx): recovered %v, want a nil Context panic", name, r)
		}
	}()
	f()
}

func TestNilContextPanicsInEveryFamily(t *testing.T) {
	var nilCtx context.Context
	q, _ := NewQueue(1)
	defer q.Close()
	a, b, _ := Pipe(true)
	defer a.Close()
	defer b.Close()
	l, _ := NewLock()
	defer l.Close()
	s, _ := NewSemaphore(1)
	defer s.Close()
	ev, _ := NewEvent()
	defer ev.Close()
	cl, _ := NewLock()
	defer cl.Close()
	cond, _ := NewCondition(cl)
	defer cond.Close()
	bar, _ := NewBarrier(1)
	defer bar.Close()
	v, _ := NewValue(Int64, 1, true)
	defer v.Close()
	p := testPool(t, 1)
	res, err := p.ApplyAsync("upper", []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	proc, _ := NewProcess("exit_with", []byte("0"), nil)
	defer proc.Close()

	calls := map[string]func(){
		"Queue.Put":             func() { q.Put(nilCtx, []byte("m")) },
		"Queue.Get":             func() { q.Get(nilCtx) },
		"Queue.GetInto":         func() { q.GetInto(nilCtx, make([]byte, 8)) },
		"Queue.PutMany":         func() { q.PutMany(nilCtx, [][]byte{{1}}) },
		"Queue.Join":            func() { q.Join(nilCtx) },
		"Conn.Send":             func() { a.Send(nilCtx, []byte("m")) },
		"Conn.Recv":             func() { b.Recv(nilCtx) },
		"Lock.Acquire":          func() { l.Acquire(nilCtx) },
		"Semaphore.Acquire":     func() { s.Acquire(nilCtx) },
		"Event.Wait":            func() { ev.Wait(nilCtx) },
		"Condition.Wait":        func() { cond.Wait(nilCtx) },
		"Condition.WaitFor":     func() { cond.WaitFor(nilCtx, func() bool { return true }) },
		"Barrier.Wait":          func() { bar.Wait(nilCtx) },
		"Value.Acquire":         func() { v.Acquire(nilCtx) },
		"Pool.Apply":            func() { p.Apply(nilCtx, "upper", nil) },
		"Pool.Map":              func() { p.Map(nilCtx, "upper", nil, 0) },
		"Pool.ImapChan":         func() { p.ImapChan(nilCtx, "upper", nil, 0, false) },
		"AsyncResult.Get":       func() { res.Get(nilCtx) },
		"Process.Join":          func() { proc.Join(nilCtx) },
		"Wait":                  func() { Wait(nilCtx, ev) },
		"CommandContext":        func() { CommandContext(nilCtx, "true") },
		"Cmd.Communicate":       func() { Command("true").Communicate(nilCtx, nil) },
		"Queue.PutJSON (codec)": func() { q.PutJSON(nilCtx, 1) },
	}
	for name, f := range calls {
		mustPanicNilContext(t, name, f)
	}
	// Nothing above ran: the process was not started, the queue is empty.
	if q.Len() != 0 {
		t.Errorf("a call with a nil ctx put a message")
	}
}

// The fast path: a call with context.Background() is one cgo call, with
// no allocation (and no OS-thread lock, which would show as the closure
// and the cancel-token goroutine allocating).
func TestBackgroundContextDoesNotAllocate(t *testing.T) {
	q, err := NewQueue(0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ev, err := NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	ev.Set()
	ctx := context.Background()
	msg, buf := []byte("0123456789"), make([]byte, 64)
	allocs := testing.AllocsPerRun(200, func() {
		if err := q.Put(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if _, err := q.GetInto(ctx, buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Put+GetInto with context.Background(): %v allocations per call, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(200, func() { ev.Wait(ctx) }); allocs != 0 {
		t.Errorf("Event.Wait with context.Background(): %v allocations per call, want 0", allocs)
	}
}

// Close clears the finalizer (as go-sqlite3's does): setting one again
// after Close is allowed only then (the runtime throws "finalizer already
// set" otherwise, a fatal error this test would die of).
func TestCloseClearsTheFinalizer(t *testing.T) {
	p := testPool(t, 1)
	objs := map[string]func() (closer, error){
		"Queue":     func() (closer, error) { return NewQueue(1) },
		"Conn":      func() (closer, error) { a, b, err := Pipe(true); b.Close(); return a, err },
		"Lock":      func() (closer, error) { return NewLock() },
		"Semaphore": func() (closer, error) { return NewSemaphore(1) },
		"Event":     func() (closer, error) { return NewEvent() },
		"Condition": func() (closer, error) {
			l, err := NewLock()
			if err != nil {
				return nil, err
			}
			t.Cleanup(func() { l.Close() })
			return NewCondition(l)
		},
		"Barrier":      func() (closer, error) { return NewBarrier(2) },
		"Value":        func() (closer, error) { return NewValue(Int32, 1, true) },
		"SharedMemory": func() (closer, error) { return NewSharedMemory(64) },
		"Dict":         func() (closer, error) { return NewDict(4, 1024) },
		"Process":      func() (closer, error) { return NewProcess("exit_with", []byte("0"), nil) },
		"Pool":         func() (closer, error) { return NewPool(&PoolOptions{Workers: 1}) },
		"AsyncResult": func() (closer, error) {
			r, err := p.ApplyAsync("upper", []byte("x"), nil)
			if err == nil {
				_, err = r.Get(ctxTimeout(t, 60*time.Second))
			}
			return r, err
		},
		"Iter": func() (closer, error) { return p.Imap("upper", nil, 0, false) },
	}
	for name, newObj := range objs {
		obj, err := newObj()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := obj.Close(); err != nil {
			t.Fatalf("%s Close: %v", name, err)
		}
		runtime.SetFinalizer(obj, func(closer) {}) // throws if Close left one
		runtime.SetFinalizer(obj, nil)
	}
}

// Type's values are the C library's mp_type values: NewValue passes them
// on as they are.
func TestTypeIsCType(t *testing.T) {
	want := map[Type]cType{
		Int32: capi.MP_TYPE_INT32, Int64: capi.MP_TYPE_INT64, Uint64: capi.MP_TYPE_UINT64,
		Float64: capi.MP_TYPE_DOUBLE, Bytes: capi.MP_TYPE_BYTES, Int16: capi.MP_TYPE_INT16,
		Uint16: capi.MP_TYPE_UINT16, Int8: capi.MP_TYPE_INT8, Uint8: capi.MP_TYPE_UINT8,
		Char: capi.MP_TYPE_CHAR, Float32: capi.MP_TYPE_FLOAT, Bool: capi.MP_TYPE_BOOL,
		Record: capi.MP_TYPE_RECORD,
	}
	for g, c := range want {
		if cType(g) != c {
			t.Errorf("Type %d is mp_type %d", g, c)
		}
	}
}

// Every family with an Acquire has Python's acquire(False) as TryAcquire
// (the try that AcquireTimeout(0) was): true, then (false, nil) while
// held, true again after Release.
func TestTryAcquireInEveryLockFamily(t *testing.T) {
	l, err := NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s, err := NewSemaphore(1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := NewValue(Int64, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	type tryer struct {
		try     func() (bool, error)
		release func() error
	}
	for name, o := range map[string]tryer{
		"Lock": {l.TryAcquire, l.Release}, "Semaphore": {s.TryAcquire, s.Release}, "Value": {v.TryAcquire, v.Release},
	} {
		if ok, err := o.try(); !ok || err != nil {
			t.Fatalf("%s: first TryAcquire = %v, %v", name, ok, err)
		}
		done := make(chan struct{})
		go func() { // another goroutine, another OS thread
			defer close(done)
			if ok, err := o.try(); ok || err != nil {
				t.Errorf("%s: TryAcquire while held = %v, %v; want false, nil", name, ok, err)
			}
		}()
		<-done
		if err := o.release(); err != nil {
			t.Fatalf("%s: Release: %v", name, err)
		}
		if ok, err := o.try(); !ok || err != nil {
			t.Fatalf("%s: TryAcquire after Release = %v, %v", name, ok, err)
		}
		o.release()
	}
}
