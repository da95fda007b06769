package multiproc

// Objects passed by name to a target child (Process.PassNamed,
// ProcessOptions.Pass) and to a pool's workers (PoolOptions.Pass), opened
// with the Inherit functions; the process-wide default start method.

import (
	"context"
	"errors"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"multiproc.dev/multiproc/internal/capi"
)

// What a pool worker's initializer opened (in the worker).
var namedInitQueue *Queue
var namedInitLock *Lock
var namedInitErr error

func registerNamedTargets() {
	// Exit 0 when every check held, else the number of the one that failed.
	must := func(err error) bool { return err == nil }
	if err := Register("named_child", func(arg []byte) int {
		ctx := context.Background()
		q, err := InheritQueue("jobs")
		if !must(err) {
			return 2
		}
		c, err := InheritConn("back", Writable)
		if !must(err) {
			return 3
		}
		l, err := InheritLock("lk")
		if !must(err) {
			return 4
		}
		if got, err := l.TryAcquire(); err != nil || got { // the parent holds it
			return 5
		}
		if _, err := InheritQueue("nosuch"); !errors.Is(err, ErrNotFound) {
			return 6
		}
		if _, err := InheritConn("jobs", Readable); !errors.Is(err, ErrState) {
			return 7
		}
		m, err := q.Get(ctx)
		if !must(err) || c.Send(ctx, m) != nil {
			return 8
		}
		return 0
	}); err != nil {
		panic(err)
	}
	if err := RegisterTask("named_init", func(arg []byte) ([]byte, error) {
		namedInitQueue, namedInitErr = InheritQueue("jobs")
		if namedInitErr == nil {
			namedInitLock, namedInitErr = InheritLock("lk")
		}
		return nil, nil
	}); err != nil {
		panic(err)
	}
	if err := RegisterTask("named_use", func(arg []byte) ([]byte, error) {
		if namedInitErr != nil {
			return nil, namedInitErr
		}
		pid := []byte(strconv.Itoa(os.Getpid()))
		ctx := context.Background()
		if err := namedInitLock.Acquire(ctx); err != nil {
			return nil, err
		}
		defer namedInitLock.Release()
		return pid, namedInitQueue.Put(ctx, pid)
	}); err != nil {
		panic(err)
	}
}

func TestProcessPassNamed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := testQueue(t, 0)
	mine, theirs, err := Pipe(false)
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	lock, err := NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := lock.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := NewProcess("named_child", nil, &ProcessOptions{Pass: map[string]Handle{"jobs": q}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.PassNamed("back", theirs); err != nil {
		t.Fatal(err)
	}
	if err := p.PassNamed("lk", lock); err != nil {
		t.Fatal(err)
	}
	if err := p.PassNamed("lk", lock); !errors.Is(err, ErrExist) {
		t.Fatalf("second pass of lk: %v, want ErrExist", err)
	}
	if err := p.PassNamed("bad-name", lock); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad name: %v, want ErrInvalid", err)
	}
	theirs.Close() // the child has its copy
	if err := q.Put(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Join(ctx); err != nil {
		t.Fatal(err)
	}
	if code, _ := p.ExitCode(); code != 0 {
		t.Fatalf("child check %d failed", code)
	}
	m, err := mine.Recv(ctx)
	if err != nil || string(m) != "hello" {
		t.Fatalf("recv %q, %v", m, err)
	}
	if err := p.PassNamed("late", q); !errors.Is(err, ErrState) {
		t.Fatalf("pass after start: %v, want ErrState", err)
	}
}

// A worker's initializer opens a queue and a lock by name; so does the
// replacement of a worker killed with SIGKILL.
func TestPoolPassToInitializer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	q := testQueue(t, 0)
	lock, err := NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	pool, err := NewPool(&PoolOptions{Workers: 1, Initializer: "named_init",
		Pass: map[string]Handle{"jobs": q, "lk": lock}})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Terminate()
	use := func() int {
		out, err := pool.Apply(ctx, "named_use", nil)
		if err != nil {
			t.Fatalf("named_use: %v", err)
		}
		got, err := q.Get(ctx)
		if err != nil || string(got) != string(out) {
			t.Fatalf("queue got %q, %v; the task said %q", got, err, out)
		}
		pid, _ := strconv.Atoi(string(out))
		return pid
	}
	first := use()
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for pool.Stats().WorkersStarted < 2 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if second := use(); second == first {
		t.Fatalf("the same worker %d answered after it was killed", first)
	}
	if _, err := NewPool(&PoolOptions{Threads: true, Pass: map[string]Handle{"jobs": q}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("thread pool with Pass: %v, want ErrInvalid", err)
	}
}

func TestSetStartMethod(t *testing.T) {
	if StartFork != StartMethod(capi.MP_START_FORK) || StartSpawn != StartMethod(capi.MP_START_SPAWN) {
		t.Fatal("StartFork/StartSpawn differ from the C values")
	}
	if err := SetStartMethod(StartFork, true); !errors.Is(err, ErrInvalid) {
		t.Fatalf("StartFork: %v, want ErrInvalid", err)
	}
	if err := SetStartMethod(StartSpawn, true); err != nil {
		t.Fatal(err)
	}
	if got := GetStartMethod(); got != StartSpawn {
		t.Fatalf("GetStartMethod = %v, want StartSpawn", got)
	}
	if err := SetStartMethod(StartSpawn, false); !errors.Is(err, ErrState) {
		t.Fatalf("second set without force: %v, want ErrState", err)
	}
}
