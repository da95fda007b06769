package multiproc

// The broker (issue 15): objects published by name and opened by
// address, in this process and in a child that gets only the address;
// the context rules of the OpenXxxAt functions; the pool's lifetime
// against its brokers.

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func init() {
	// A child that knows only the address (its argument): it opens the
	// queue and the dict and answers. Registered before Main (TestMain).
	if err := Register("broker_open_child", func(arg []byte) int {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		q, err := OpenQueueAt(ctx, string(arg)+"#jobs")
		if err != nil {
			return 2
		}
		defer q.Close()
		d, err := OpenDictAt(ctx, string(arg)+"#dict")
		if err != nil {
			return 3
		}
		defer d.Close()
		v, err := d.Get([]byte("k"))
		if err != nil || q.Put(ctx, append([]byte("child saw "), v...)) != nil {
			return 4
		}
		return 0
	}); err != nil {
		panic(err)
	}
}

// brokerAddr is a unix: address in a fresh directory of the test.
func brokerAddr(t *testing.T) string {
	t.Helper()
	return "unix:" + filepath.Join(t.TempDir(), "b.sock")
}

func newTestBroker(t *testing.T, opts *BrokerOptions) (*Broker, string) {
	t.Helper()
	addr := brokerAddr(t)
	b, err := NewBroker(addr, opts)
	if err != nil {
		t.Fatalf("NewBroker(%s): %v", addr, err)
	}
	t.Cleanup(func() { b.Close() })
	return b, addr
}

func wantCode(t *testing.T, what string, err error, code Code) {
	t.Helper()
	if !errors.Is(err, code) {
		t.Fatalf("%s: got %v, want %s", what, err, code.Name())
	}
}

func TestBrokerQueueAndDictReachOpener(t *testing.T) {
	b, addr := newTestBroker(t, nil)
	q, _ := NewQueue(0)
	defer q.Close()
	d, _ := NewDict(16, 4096)
	defer d.Close()
	if err := b.Publish("jobs", q); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish("dict", d); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	q2, err := OpenQueueAt(ctx, addr+"#jobs")
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	d2, err := OpenDictAt(ctx, addr+"#dict")
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if err := q2.Put(ctx, []byte("via address")); err != nil {
		t.Fatal(err)
	}
	if m, err := q.Get(ctx); err != nil || string(m) != "via address" {
		t.Fatalf("Get = %q, %v", m, err)
	}
	if err := d.Set([]byte("k"), []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if v, err := d2.Get([]byte("k")); err != nil || string(v) != "v1" {
		t.Fatalf("opened dict Get = %q, %v", v, err)
	}
}

func TestBrokerEverySyncObject(t *testing.T) {
	b, addr := newTestBroker(t, nil)
	ctx := context.Background()
	lock, _ := NewLock()
	defer lock.Close()
	sem, _ := NewSemaphore(0)
	defer sem.Close()
	ev, _ := NewEvent()
	defer ev.Close()
	cond, _ := NewCondition(lock)
	defer cond.Close()
	bar, _ := NewBarrier(3)
	defer bar.Close()
	val, _ := NewValue(Int64, 1, false)
	defer val.Close()
	shm, _ := NewSharedMemory(64)
	defer shm.Close()
	for name, h := range map[string]Handle{"lock": lock, "sem": sem, "ev": ev, "cond": cond,
		"bar": bar, "val": val, "shm": shm} {
		if err := b.Publish(name, h); err != nil {
			t.Fatalf("Publish %s: %v", name, err)
		}
	}

	lock2, err := OpenLockAt(ctx, addr+"#lock")
	if err != nil {
		t.Fatal(err)
	}
	defer lock2.Close()
	if err := lock.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if !lock2.Locked() {
		t.Error("the opened lock does not see the original's holder")
	}
	lock.Release()

	sem2, err := OpenSemaphoreAt(ctx, addr+"#sem")
	if err != nil {
		t.Fatal(err)
	}
	defer sem2.Close()
	sem.Release()
	if ok, err := sem2.TryAcquire(); !ok || err != nil {
		t.Errorf("opened semaphore TryAcquire = %v, %v after a Release", ok, err)
	}

	ev2, err := OpenEventAt(ctx, addr+"#ev")
	if err != nil {
		t.Fatal(err)
	}
	defer ev2.Close()
	ev.Set()
	if !ev2.IsSet() {
		t.Error("opened event is not set")
	}

	cond2, err := OpenConditionAt(ctx, addr+"#cond", lock2)
	if err != nil {
		t.Fatal(err)
	}
	defer cond2.Close()
	if cond2.Lock() != lock2 {
		t.Error("opened condition is not over the given lock")
	}

	bar2, err := OpenBarrierAt(ctx, addr+"#bar")
	if err != nil {
		t.Fatal(err)
	}
	defer bar2.Close()
	if bar2.Parties() != 3 {
		t.Errorf("opened barrier parties = %d", bar2.Parties())
	}

	val2, err := OpenValueAt(ctx, addr+"#val")
	if err != nil {
		t.Fatal(err)
	}
	defer val2.Close()
	val.SetInt(0, 42)
	if x, err := val2.Int(0); x != 42 || err != nil {
		t.Errorf("opened value = %d, %v", x, err)
	}

	shm2, err := OpenSharedMemoryAt(ctx, addr+"#shm")
	if err != nil {
		t.Fatal(err)
	}
	defer shm2.Close()
	copy(shm.Bytes(), "shared")
	if string(shm2.Bytes()[:6]) != "shared" {
		t.Errorf("opened shared memory = %q", shm2.Bytes()[:6])
	}
}

func TestBrokerChildKnowsOnlyTheAddress(t *testing.T) {
	b, addr := newTestBroker(t, nil)
	q, _ := NewQueue(0)
	defer q.Close()
	d, _ := NewDict(16, 4096)
	defer d.Close()
	d.Set([]byte("k"), []byte("from parent"))
	b.Publish("jobs", q)
	b.Publish("dict", d)
	p, err := NewProcess("broker_open_child", []byte(addr), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := q.Get(ctx)
	if err != nil || string(m) != "child saw from parent" {
		t.Fatalf("Get = %q, %v", m, err)
	}
	if err := p.Join(ctx); err != nil {
		t.Fatal(err)
	}
	if code, _ := p.ExitCode(); code != 0 {
		t.Fatalf("child exit code %d", code)
	}
}

func TestBrokerOpenErrors(t *testing.T) {
	b, addr := newTestBroker(t, nil)
	lock, _ := NewLock()
	defer lock.Close()
	b.Publish("lock", lock)
	ctx := context.Background()
	_, err := OpenQueueAt(ctx, addr+"#lock")
	wantCode(t, "queue open of a lock", err, ErrInvalid)
	_, err = OpenLockAt(ctx, addr+"#nothing")
	wantCode(t, "unpublished name", err, ErrNotFound)
	_, err = OpenLockAt(ctx, addr)
	wantCode(t, "no #name", err, ErrInvalid)
	_, err = OpenLockAt(ctx, "unix:relative/path#lock")
	wantCode(t, "relative path", err, ErrInvalid)
	_, err = OpenLockAt(ctx, brokerAddr(t)+"#lock")
	wantCode(t, "no broker", err, ErrNotFound)
	if err := b.Unpublish("lock"); err != nil {
		t.Fatal(err)
	}
	_, err = OpenLockAt(ctx, addr+"#lock")
	wantCode(t, "after Unpublish", err, ErrNotFound)
	wantCode(t, "Unpublish again", b.Unpublish("lock"), ErrNotFound)
}

func TestBrokerPublishErrors(t *testing.T) {
	b, addr := newTestBroker(t, nil)
	q, _ := NewQueue(0)
	defer q.Close()
	wantCode(t, "bad name", b.Publish("no spaces", q), ErrInvalid)
	if err := b.Publish("q", q); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "name taken", b.Publish("q", q), ErrExist)
	_, err := NewBroker(addr, nil)
	wantCode(t, "a second broker at the same path", err, ErrExist)
	_, err = NewBroker("tcp://127.0.0.1:1", nil)
	wantCode(t, "tcp address", err, ErrInvalid)
	_, err = NewBroker(brokerAddr(t), &BrokerOptions{MaxClients: -1})
	wantCode(t, "MaxClients < 0", err, ErrInvalid)
	closedQ, _ := NewQueue(0)
	closedQ.Close()
	wantCode(t, "closed object", b.Publish("closed", closedQ), ErrClosed)
	b.Close()
	b.Close() // again: nothing
	wantCode(t, "Publish after Close", b.Publish("q2", q), ErrClosed)
	if _, err := os.Stat(addr[len("unix:"):]); !os.IsNotExist(err) {
		t.Errorf("socket file after Close: %v", err)
	}
}

func TestBrokerObjectOutlivesBroker(t *testing.T) {
	b, addr := newTestBroker(t, &BrokerOptions{MaxClients: 4, HandshakeTimeout: time.Second,
		AllowUIDs: []uint32{uint32(os.Getuid())}})
	q, _ := NewQueue(0)
	defer q.Close()
	b.Publish("q", q)
	ctx := context.Background()
	q2, err := OpenQueueAt(ctx, addr+"#q")
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	b.Close()
	if err := q2.Put(ctx, []byte("after")); err != nil {
		t.Fatal(err)
	}
	if m, err := q.Get(ctx); err != nil || string(m) != "after" {
		t.Fatalf("Get after the broker closed = %q, %v", m, err)
	}
}

// silentServer accepts connections on a unix socket and never answers:
// an open through it can only end by its context.
func silentServer(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "silent.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return "unix:" + path + "#q"
}

func TestOpenAtContext(t *testing.T) {
	addr := silentServer(t)
	mustPanicNilContext(t, "OpenQueueAt", func() { OpenQueueAt(nil, addr) }) //nolint:staticcheck

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := OpenQueueAt(canceled, addr)
	wantCode(t, "canceled before the call", err, ErrCanceled)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v does not match context.Canceled", err)
	}

	ctx, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	start := time.Now()
	_, err = OpenQueueAt(ctx, addr)
	wantCode(t, "deadline while the broker says nothing", err, ErrTimeout)
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the deadline ended the open after %v", d)
	}

	ctx3, cancel3 := context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel3() }()
	start = time.Now()
	_, err = OpenLockAt(ctx3, addr)
	wantCode(t, "canceled while waiting", err, ErrCanceled)
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the cancellation ended the open after %v", d)
	}
}

func TestBrokerPool(t *testing.T) {
	b, addr := newTestBroker(t, nil)
	pool, err := NewPool(&PoolOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := b.PublishPool("pool", pool); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	remote, err := OpenPoolAt(ctx, addr+"#pool")
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	if r, err := remote.Apply(ctx, "upper", []byte("abc")); err != nil || string(r) != "ABC" {
		t.Fatalf("Apply through the broker = %q, %v", r, err)
	}
	rs, err := remote.Map(ctx, "square", [][]byte{[]byte("2"), []byte("3")}, 1)
	if err != nil || len(rs) != 2 || string(rs[0]) != "4" || string(rs[1]) != "9" {
		t.Fatalf("Map through the broker = %q, %v", rs, err)
	}
	_, err = remote.Apply(ctx, "fail", []byte("x"))
	wantCode(t, "failing task", err, ErrTaskFailed)
	_, err = OpenQueueAt(ctx, addr+"#pool")
	wantCode(t, "a queue open of a pool", err, ErrState)
}

func TestPoolCloseWithdrawsIt(t *testing.T) {
	b, addr := newTestBroker(t, nil)
	pool, err := NewPool(&PoolOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.PublishPool("pool", pool); err != nil {
		t.Fatal(err)
	}
	pool.Close() // before the broker: it must withdraw itself
	_, err = OpenPoolAt(context.Background(), addr+"#pool")
	wantCode(t, "open of a closed pool", err, ErrNotFound)
	wantCode(t, "Unpublish of the withdrawn pool", b.Unpublish("pool"), ErrNotFound)
	wantCode(t, "PublishPool of a closed pool", b.PublishPool("p2", pool), ErrClosed)
}
