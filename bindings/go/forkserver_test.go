package multiproc

// StartForkserver: children and pool workers forked by the server (this
// test binary executed once more, forking before its Go runtime started):
// exit codes, a signal, a handle by name, the server as the parent.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

func registerForkserverTargets() {
	mustRegister := func(name string, fn TargetFunc) {
		if err := Register(name, fn); err != nil {
			panic(err)
		}
	}
	// Puts "<pid> <ppid>" on the queue passed as "out", then exits with arg.
	mustRegister("fs_pids", func(arg []byte) int {
		q, err := InheritQueue("out")
		if err != nil {
			return 2
		}
		msg := strconv.Itoa(os.Getpid()) + " " + strconv.Itoa(os.Getppid())
		if q.Put(context.Background(), []byte(msg)) != nil {
			return 3
		}
		n, _ := strconv.Atoi(string(arg))
		return n
	})
	if err := RegisterTask("getppid", func([]byte) ([]byte, error) {
		return []byte(strconv.Itoa(os.Getppid())), nil
	}); err != nil {
		panic(err)
	}
}

func startForkserver(t *testing.T, target, arg string, opts *ProcessOptions) *Process {
	t.Helper()
	opts.StartMethod = StartForkserver
	p, err := NewProcess(target, []byte(arg), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestForkserverProcess(t *testing.T) {
	if StartForkserver != StartMethod(2) {
		t.Fatal("StartForkserver differs from MP_START_FORKSERVER")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	q := testQueue(t, 0)
	p := startForkserver(t, "fs_pids", "7", &ProcessOptions{Pass: map[string]Handle{"out": q}})
	msg, err := q.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pid, ppid int
	if _, err := fmt.Sscan(string(msg), &pid, &ppid); err != nil {
		t.Fatal(err)
	}
	if pid != p.Pid() || ppid == os.Getpid() || ppid <= 1 {
		t.Fatalf("child %d (handle %d), parent %d (us %d): not forked by a server", pid, p.Pid(), ppid, os.Getpid())
	}
	if err := p.Join(ctx); err != nil {
		t.Fatal(err)
	}
	if code, err := p.ExitCode(); err != nil || code != 7 {
		t.Fatalf("exit code %d, %v; want 7", code, err)
	}
	s := startForkserver(t, "sleep", "", &ProcessOptions{Daemon: true})
	if err := s.JoinTimeout(100 * time.Millisecond); err == nil {
		t.Fatal("join of a sleeping child returned")
	}
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := s.Join(ctx); err != nil {
		t.Fatal(err)
	}
	if code, _ := s.ExitCode(); code != -9 {
		t.Fatalf("killed child's exit code %d, want -9", code)
	}
}

func TestForkserverPool(t *testing.T) {
	pool, err := NewPool(&PoolOptions{Workers: 2, StartMethod: StartForkserver})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Terminate()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := pool.Apply(ctx, "getppid", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ppid, _ := strconv.Atoi(string(out)); ppid == os.Getpid() || ppid <= 1 {
		t.Fatalf("worker's parent %d (us %d): not forked by a server", ppid, os.Getpid())
	}
}
