package multiproc

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The targets and tasks the tests' children run (registered in TestMain,
// before Main, in the parent and in every child alike).
func registerTestTargets() {
	targets := map[string]TargetFunc{
		"exit_with": func(arg []byte) int { n, _ := strconv.Atoi(string(arg)); return n },
		"sleep":     func(arg []byte) int { time.Sleep(60 * time.Second); return 0 },
		"name_to_queue": func(arg []byte) int {
			q, err := OpenQueue(0)
			if err != nil {
				return 2
			}
			if q.Put(context.Background(), []byte(CurrentName())) != nil {
				return 3
			}
			return 0
		},
		"queue_put_n": func(arg []byte) int {
			q, err := OpenQueue(0)
			if err != nil {
				return 2
			}
			n, _ := strconv.Atoi(string(arg))
			for i := 0; i < n; i++ {
				if q.Put(context.Background(), []byte(strconv.Itoa(i))) != nil {
					return 3
				}
			}
			return 0
		},
		"conn_echo": func(arg []byte) int {
			c, err := OpenConn(0, Readable|Writable)
			if err != nil {
				return 2
			}
			for {
				m, err := c.Recv(context.Background())
				if errors.Is(err, ErrClosed) {
					return 0
				}
				if err != nil || c.Send(context.Background(), bytes.ToUpper(m)) != nil {
					return 3
				}
			}
		},
		"lock_hold": func(arg []byte) int {
			l, err1 := OpenLock(0)
			ev, err2 := OpenEvent(1)
			if err1 != nil || err2 != nil || l.Acquire(context.Background()) != nil || ev.Set() != nil {
				return 2
			}
			time.Sleep(60 * time.Second)
			return 0
		},
		"value_add": func(arg []byte) int {
			v, err := OpenValue(0)
			if err != nil {
				return 2
			}
			for i := 0; i < 100; i++ {
				if _, err := v.Add(0, 1); err != nil {
					return 3
				}
			}
			return 0
		},
		"dict_decr": func(arg []byte) int {
			d, err := OpenDict(0)
			if err != nil {
				return 2
			}
			if _, err := d.Incr([]byte("count"), -1); err != nil {
				return 3
			}
			return 0
		},
		"event_then_barrier": func(arg []byte) int {
			ev, err1 := OpenEvent(0)
			b, err2 := OpenBarrier(1)
			if err1 != nil || err2 != nil || ev.Wait(context.Background()) != nil {
				return 2
			}
			if _, err := b.Wait(context.Background()); err != nil {
				return 3
			}
			return 0
		},
		"sem_hold": func(arg []byte) int {
			s, err := OpenSemaphore(0)
			if err != nil || s.Acquire(context.Background()) != nil {
				return 2
			}
			return 0
		},
		"shm_write": func(arg []byte) int {
			s, err := OpenSharedMemory(0)
			if err != nil {
				return 2
			}
			copy(s.Bytes(), arg)
			return 0
		},
	}
	tasks := map[string]TaskFunc{
		"upper": func(arg []byte) ([]byte, error) { return bytes.ToUpper(arg), nil },
		"fail":  func(arg []byte) ([]byte, error) { return nil, errors.New("boom: " + string(arg)) },
		"panic": func(arg []byte) ([]byte, error) { panic("oops") },
		"die": func(arg []byte) ([]byte, error) {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			return nil, nil
		},
		"square": func(arg []byte) ([]byte, error) {
			n, err := strconv.Atoi(string(arg))
			return []byte(strconv.Itoa(n * n)), err
		},
		"sleep_ms": func(arg []byte) ([]byte, error) {
			n, _ := strconv.Atoi(string(arg))
			time.Sleep(time.Duration(n) * time.Millisecond)
			return arg, nil
		},
	}
	for name, fn := range targets {
		if err := Register(name, fn); err != nil {
			panic(err)
		}
	}
	for name, fn := range tasks {
		if err := RegisterTask(name, fn); err != nil {
			panic(err)
		}
	}
	registerWaitTargets()
	registerNamedTargets()
	// Python's starmap function: add(a, b).
	if err := RegisterStarTask("add", func(args [][]byte) ([]byte, error) {
		sum := 0
		for _, a := range args {
			n, err := strconv.Atoi(string(a))
			if err != nil {
				return nil, err
			}
			sum += n
		}
		return []byte(strconv.Itoa(sum)), nil
	}); err != nil {
		panic(err)
	}
}

// run starts target with arg and handles and waits for its exit code.
func run(t *testing.T, target string, arg string, handles ...Handle) int {
	t.Helper()
	p := start(t, target, arg, handles...)
	if err := p.JoinTimeout(30 * time.Second); err != nil {
		t.Fatalf("join %s: %v", target, err)
	}
	code, err := p.ExitCode()
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func start(t *testing.T, target string, arg string, handles ...Handle) *Process {
	t.Helper()
	p, err := NewProcess(target, []byte(arg), &ProcessOptions{Handles: handles})
	if err != nil {
		t.Fatalf("new process %s: %v", target, err)
	}
	t.Cleanup(func() { p.Kill(); p.Close() })
	if err := p.Start(); err != nil {
		t.Fatalf("start %s: %v", target, err)
	}
	return p
}

func TestProcessReportsExitCode(t *testing.T) {
	if code := run(t, "exit_with", "7"); code != 7 {
		t.Fatalf("exit code %d, want 7", code)
	}
	if code := run(t, "exit_with", "0"); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
}

func TestProcessNameReachesChild(t *testing.T) {
	q := testQueue(t, 0)
	p, err := NewProcess("name_to_queue", nil, &ProcessOptions{Name: "worker-1", Handles: []Handle{q}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Name() != "worker-1" || p.Pid() != 0 || p.Daemon() {
		t.Fatalf("before start: name %q pid %d daemon %v", p.Name(), p.Pid(), p.Daemon())
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if p.Pid() <= 0 {
		t.Fatalf("pid %d", p.Pid())
	}
	msg, err := q.GetTimeout(30 * time.Second)
	if err != nil || string(msg) != "worker-1" {
		t.Fatalf("child name %q, %v", msg, err)
	}
	if err := p.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p.IsAlive() {
		t.Fatal("alive after join")
	}
}

func TestProcessKillAndTerminateGiveNegativeSignal(t *testing.T) {
	for _, tc := range []struct {
		stop func(*Process) error
		want int
	}{{(*Process).Kill, -9}, {(*Process).Terminate, -15}} {
		p := start(t, "sleep", "")
		if !p.IsAlive() {
			t.Fatal("not alive after start")
		}
		if err := tc.stop(p); err != nil {
			t.Fatal(err)
		}
		if err := p.JoinTimeout(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		if code, _ := p.ExitCode(); code != tc.want {
			t.Fatalf("exit code %d, want %d", code, tc.want)
		}
		if err := p.Kill(); err != nil {
			t.Fatalf("kill after exit: %v", err)
		}
	}
}

func TestProcessErrors(t *testing.T) {
	if _, err := NewProcess("no_such_target", nil, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown target: %v", err)
	}
	p, err := NewProcess("exit_with", []byte("0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.JoinTimeout(0); !errors.Is(err, ErrState) {
		t.Fatalf("join before start: %v", err)
	}
	if _, err := p.ExitCode(); !errors.Is(err, ErrState) {
		t.Fatalf("exit code before start: %v", err)
	}
	p.Close()
	if err := p.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("start after close: %v", err)
	}
	p.Close() // again: harmless
	s := start(t, "sleep", "")
	if err := s.JoinTimeout(50 * time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("join timeout: %v", err)
	}
	if err := s.Start(); !errors.Is(err, ErrState) {
		t.Fatalf("second start: %v", err)
	}
}
