package multiproc

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func testPool(t *testing.T, workers int) *Pool {
	t.Helper()
	p, err := NewPool(&PoolOptions{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func numbers(n int) [][]byte {
	args := make([][]byte, n)
	for i := range args {
		args[i] = []byte(strconv.Itoa(i))
	}
	return args
}

func TestPoolApplyAndMap(t *testing.T) {
	p := testPool(t, 2)
	ctx := ctxTimeout(t, 60*time.Second)
	if r, err := p.Apply(ctx, "upper", []byte("abc")); err != nil || string(r) != "ABC" {
		t.Fatalf("apply %q %v", r, err)
	}
	res, err := p.Map(ctx, "square", numbers(20), 0)
	if err != nil || len(res) != 20 {
		t.Fatalf("map %v", err)
	}
	for i, r := range res {
		if string(r) != strconv.Itoa(i*i) {
			t.Fatalf("map[%d] = %q", i, r)
		}
	}
	if _, err := p.Map(ctx, "square", [][]byte{}, 1); err != nil {
		t.Fatalf("map of nothing: %v", err)
	}
}

func TestPoolTaskFailures(t *testing.T) {
	p := testPool(t, 1)
	ctx := ctxTimeout(t, 60*time.Second)
	_, err := p.Apply(ctx, "fail", []byte("x"))
	var e *Error
	if !errors.Is(err, ErrTaskFailed) || !errors.As(err, &e) || e.Detail != "boom: x" {
		t.Fatalf("failing task: %v", err)
	}
	if _, err := p.Apply(ctx, "panic", nil); !errors.Is(err, ErrTaskFailed) || !strings.Contains(err.Error(), "oops") {
		t.Fatalf("panicking task: %v", err)
	}
	if _, err := p.Apply(ctx, "no_such_task", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown task: %v", err)
	}
	res, err := p.Map(ctx, "square", [][]byte{[]byte("2"), []byte("x"), []byte("3")}, 1)
	if !errors.Is(err, ErrTaskFailed) || string(res[0]) != "4" || string(res[2]) != "9" {
		t.Fatalf("map with a failing item: %q %v", res, err)
	}
}

func TestPoolWorkerDeathFailsOnlyItsTask(t *testing.T) {
	p := testPool(t, 2)
	ctx := ctxTimeout(t, 60*time.Second)
	if _, err := p.Apply(ctx, "die", nil); !errors.Is(err, ErrWorkerDied) {
		t.Fatalf("task whose worker died: %v", err)
	}
	if r, err := p.Apply(ctx, "upper", []byte("still")); err != nil || string(r) != "STILL" {
		t.Fatalf("pool after worker death: %q %v", r, err)
	}
	if s := p.Stats(); s.WorkersReplaced < 1 {
		t.Fatalf("stats %+v", s)
	}
}

// A result closed by the caller right after ApplyAsync is still readable
// in its callback (the release waits for the callback), and is released
// after it.
func TestPoolApplyAsyncCloseBeforeCallback(t *testing.T) {
	p := testPool(t, 2)
	type outcome struct {
		value string
		err   error
	}
	done := make(chan outcome, 20)
	for i := 0; i < 20; i++ {
		r, err := p.ApplyAsync("square", []byte(strconv.Itoa(i)), func(r *AsyncResult) {
			v, err := r.Get(context.Background())
			done <- outcome{string(v), err}
		})
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	sum := 0
	for i := 0; i < 20; i++ {
		select {
		case o := <-done:
			if o.err != nil {
				t.Fatalf("Get in the callback of a closed result: %v", o.err)
			}
			n, _ := strconv.Atoi(o.value)
			sum += n
		case <-time.After(60 * time.Second):
			t.Fatal("callbacks did not run")
		}
	}
	if sum != 2470 { // 0² + 1² + … + 19²
		t.Fatalf("sum of squares = %d, want 2470", sum)
	}
}

func TestPoolApplyAsyncCallbacks(t *testing.T) {
	p := testPool(t, 2)
	var mu sync.Mutex
	var got []string
	var results []*AsyncResult
	for i := 0; i < 5; i++ {
		r, err := p.ApplyAsync("square", []byte(strconv.Itoa(i)), func(r *AsyncResult) {
			v, err := r.Get(context.Background())
			mu.Lock()
			got = append(got, string(v))
			mu.Unlock()
			if err != nil {
				t.Error(err)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
	}
	failed, _ := p.ApplyAsync("fail", []byte("y"), nil)
	p.Shutdown()
	if _, err := p.ApplyAsync("square", []byte("1"), nil); !errors.Is(err, ErrState) {
		t.Fatalf("apply after shutdown: %v", err)
	}
	if err := p.Join(ctxTimeout(t, 60*time.Second)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	sort.Strings(got)
	mu.Unlock()
	if strings.Join(got, ",") != "0,1,16,4,9" {
		t.Fatalf("callbacks saw %v", got)
	}
	if v, err := results[3].Get(context.Background()); string(v) != "9" || err != nil || !results[3].Ready() {
		t.Fatalf("result %q %v", v, err)
	}
	if ok, _ := failed.Successful(); ok {
		t.Fatal("failed task successful")
	}
	if _, err := failed.Get(context.Background()); !errors.Is(err, ErrTaskFailed) {
		t.Fatalf("failed get: %v", err)
	}
}

func TestPoolImapIteratorAndChannel(t *testing.T) {
	p := testPool(t, 2)
	it, err := p.Imap("square", numbers(10), 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for {
		item, ok := it.Next(ctxTimeout(t, 60*time.Second))
		if !ok {
			break
		}
		if item.Index != n || string(item.Value) != strconv.Itoa(n*n) {
			t.Fatalf("item %+v at %d", item, n)
		}
		n++
	}
	if n != 10 || it.Err() != nil {
		t.Fatalf("%d items, %v", n, it.Err())
	}
	ch, err := p.ImapChan(context.Background(), "square", [][]byte{[]byte("1"), []byte("x")}, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	var ok, failed int
	for item := range ch {
		if item.Err != nil {
			failed++
		} else {
			ok++
		}
	}
	if ok != 1 || failed != 1 {
		t.Fatalf("channel: %d ok, %d failed", ok, failed)
	}
}

func TestPoolJoinNeedsShutdownAndTerminateCancels(t *testing.T) {
	p := testPool(t, 1)
	if err := p.Join(context.Background()); !errors.Is(err, ErrState) {
		t.Fatalf("join of an open pool: %v", err)
	}
	r, err := p.ApplyAsync("sleep_ms", []byte("30000"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Terminate(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(ctxTimeout(t, 30*time.Second)); !errors.Is(err, ErrCanceled) {
		t.Fatalf("task of a terminated pool: %v", err)
	}
}

func TestThreadPool(t *testing.T) {
	p, err := NewPool(&PoolOptions{Workers: 2, Threads: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	res, err := p.Map(context.Background(), "upper", [][]byte{[]byte("a"), []byte("b")}, 1)
	if err != nil || string(res[0]) != "A" || string(res[1]) != "B" {
		t.Fatalf("thread pool: %q %v", res, err)
	}
}

// Defect 4 of issue 20: the callback runs before Wait/Get/Ready report the
// result finished (Python runs it before setting the result's event), so
// what it wrote is seen by whoever waited.
func TestPoolCallbackRunsBeforeWait(t *testing.T) {
	p := testPool(t, 2)
	var written atomic.Int64
	for run := int64(1); run <= 8; run++ {
		run := run
		r, err := p.ApplyAsync("square", []byte("3"), func(r *AsyncResult) {
			time.Sleep(20 * time.Millisecond)
			written.Store(run)
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Get(ctxTimeout(t, 60*time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := written.Load(); got != run {
			t.Fatalf("run %d: Get returned before the callback ran (saw %d)", run, got)
		}
		r.Close()
	}
}

// Python's starmap (CPython _TestPool.test_starmap: starmap(mul, zip(range(10),
// range(10))) equals the products; here sums, over packed argument lists.
func TestPoolStarMap(t *testing.T) {
	p := testPool(t, 2)
	items := make([][][]byte, 10)
	for i := range items {
		items[i] = [][]byte{[]byte(strconv.Itoa(i)), []byte(strconv.Itoa(i))}
	}
	got, err := p.StarMap(ctxTimeout(t, 60*time.Second), "add", items, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if string(v) != strconv.Itoa(2*i) {
			t.Fatalf("item %d = %q, want %d", i, v, 2*i)
		}
	}
	empty, err := p.StarMap(ctxTimeout(t, 60*time.Second), "add", [][][]byte{{}}, 0)
	if err != nil || string(empty[0]) != "0" {
		t.Fatalf("no arguments: %q %v", empty, err)
	}
	if args, err := UnpackArgs(PackArgs([][]byte{nil, []byte("x")})); err != nil || len(args) != 2 || string(args[1]) != "x" {
		t.Fatalf("round trip: %q %v", args, err)
	}
	for _, bad := range [][]byte{nil, {1, 0, 0}, {2, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 9}} {
		if _, err := UnpackArgs(bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("UnpackArgs(%v): %v", bad, err)
		}
	}
}
