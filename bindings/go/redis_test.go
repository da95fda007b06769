package multiproc

// A queue on a redis server through OpenQueueAt (issue 16): a real
// redis-server started on a free loopback port, stopped by its pid.
// Skipped when redis-server is not installed or the library was built
// without the redis backend.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func startRedis(t *testing.T) int {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	cmd := exec.Command(path, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--logfile", dir+"/redis.log")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return port
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("redis-server did not start")
	return 0
}

func TestRedisQueueOpenQueueAt(t *testing.T) {
	port := startRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr := fmt.Sprintf("redis://127.0.0.1:%d#gotest", port)
	q, err := OpenQueueAt(ctx, addr)
	if errors.Is(err, ErrNotSupported) {
		t.Skip("this build has no redis backend")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	other, err := OpenQueueAt(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for i := 0; i < 5; i++ {
		if err := q.Put(ctx, []byte(fmt.Sprint("go-", i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := q.Len(); n != 5 {
		t.Fatalf("Len = %d, want 5", n)
	}
	for i := 0; i < 5; i++ {
		msg, err := other.Get(ctx)
		if err != nil || string(msg) != fmt.Sprint("go-", i) {
			t.Fatalf("Get = %q, %v", msg, err)
		}
	}
	if _, err := other.GetNowait(); !errors.Is(err, ErrEmpty) {
		t.Fatalf("GetNowait on an empty queue: %v", err)
	}
	if err := q.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Get(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Shutdown: %v", err)
	}
	// Nothing listens on a fresh port: a clear error, within the timeout.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().(*net.TCPAddr).Port
	l.Close()
	start := time.Now()
	if _, err := OpenQueueAt(ctx, fmt.Sprintf("redis://127.0.0.1:%d#q", dead)); !errors.Is(err, ErrConnRefused) {
		t.Fatalf("open of a dead port: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("open of a dead port took %v", time.Since(start))
	}
}

// A Get waiting on an empty redis queue ends promptly when its context is
// canceled (the token the binding binds wakes the library's wait), and
// one whose deadline has passed sends nothing and waits for nothing; the
// queue works afterwards.
func TestRedisQueueGetCanceled(t *testing.T) {
	port := startRedis(t)
	q, err := OpenQueueAt(context.Background(), fmt.Sprintf("redis://127.0.0.1:%d#gocancel", port))
	if errors.Is(err, ErrNotSupported) {
		t.Skip("this build has no redis backend")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := q.Get(ctx); done <- err }()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, ErrCanceled) {
			t.Fatalf("canceled Get: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a canceled Get on a redis queue did not return")
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("the canceled Get took %v", time.Since(start))
	}
	past, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	if err := q.Put(past, []byte("never")); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Put with a past deadline: %v", err)
	}
	if _, err := q.Get(past); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Get with a past deadline: %v", err)
	}
	if n := q.Len(); n != 0 {
		t.Fatalf("Len = %d after a Put with a past deadline, want 0", n)
	}
	ok, cancel3 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel3()
	if err := q.Put(ok, []byte("after")); err != nil {
		t.Fatal(err)
	}
	if msg, err := q.Get(ok); err != nil || string(msg) != "after" {
		t.Fatalf("Get after the cancel = %q, %v", msg, err)
	}
}

// A dict and a lock on a redis server through OpenDictAt and OpenLockAt:
// the same Dict and Lock, the counter bytes those of a local dict, the
// lock's fence growing with each hold.
func TestRedisDictAndLock(t *testing.T) {
	port := startRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d, err := OpenDictAt(ctx, fmt.Sprintf("redis://127.0.0.1:%d#godict", port))
	if errors.Is(err, ErrNotSupported) {
		t.Skip("this build has no redis backend")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := d.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if n, err := d.Incr([]byte("n"), 41); err != nil || n != 41 {
		t.Fatalf("Incr = %d, %v", n, err)
	}
	if n, _ := d.Incr([]byte("n"), 1); n != 42 {
		t.Fatalf("Incr = %d", n)
	}
	if v, _ := d.Get([]byte("n")); string(v) != "\x2a\x00\x00\x00\x00\x00\x00\x00" {
		t.Fatalf("counter bytes %x", v)
	}
	if ok, err := d.CompareAndSwap([]byte("k"), []byte("v"), []byte("w")); !ok || err != nil {
		t.Fatalf("CompareAndSwap = %v, %v", ok, err)
	}
	if ok, _ := d.CompareAndSwap([]byte("k"), []byte("v"), []byte("x")); ok {
		t.Fatal("CompareAndSwap with a stale value succeeded")
	}
	if !d.Contains([]byte("k")) || d.Len() != 2 {
		t.Fatalf("Contains/Len: %v %d", d.Contains([]byte("k")), d.Len())
	}
	items, err := d.Items()
	if err != nil || len(items) != 2 {
		t.Fatalf("Items = %v, %v", items, err)
	}
	if err := d.Delete([]byte("k")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get([]byte("k")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a deleted key: %v", err)
	}

	addr := fmt.Sprintf("redis://127.0.0.1:%d#golock", port)
	l, err := OpenLockAt(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	other, err := OpenLockAt(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	f1, err := l.Fence()
	if err != nil || f1 < 1 {
		t.Fatalf("Fence = %d, %v", f1, err)
	}
	if !other.Locked() {
		t.Fatal("Locked is false while held")
	}
	if ok, err := other.TryAcquire(); ok || err != nil {
		t.Fatalf("TryAcquire of a held lock = %v, %v", ok, err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Fence(); !errors.Is(err, ErrState) {
		t.Fatalf("Fence when not held: %v", err)
	}
	if err := other.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if f2, _ := other.Fence(); f2 <= f1 {
		t.Fatalf("fence %d after %d", f2, f1)
	}
	if err := other.Release(); err != nil {
		t.Fatal(err)
	}
	local, _ := NewLock()
	defer local.Close()
	local.Acquire(ctx)
	if _, err := local.Fence(); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("Fence of a local lock: %v", err)
	}
	local.Release()
}

// NewQueueAt with settings, and LastDelivery: a joinable queue's message
// held by a handle closed before TaskDone goes to another handle with the
// same ID and Count 2.
func TestRedisQueueNewAtAndLastDelivery(t *testing.T) {
	port := startRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr := fmt.Sprintf("redis://127.0.0.1:%d#gonewat", port)
	q, err := NewQueueAt(ctx, addr, QueueOptions{MaxSize: 2, Joinable: true})
	if errors.Is(err, ErrNotSupported) {
		t.Skip("this build has no redis backend")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := NewQueueAt(ctx, addr, QueueOptions{MaxSize: 3, Joinable: true}); !errors.Is(err, ErrExist) {
		t.Fatalf("NewQueueAt with other settings: %v", err)
	}
	if _, err := NewQueueAt(ctx, addr, QueueOptions{MaxBytes: 1 << 20}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NewQueueAt with MaxBytes: %v", err)
	}
	if _, err := q.LastDelivery(); !errors.Is(err, ErrState) {
		t.Fatalf("LastDelivery before a get: %v", err)
	}
	for _, m := range []string{"a", "b"} {
		if err := q.Put(ctx, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.PutNowait([]byte("c")); !errors.Is(err, ErrFull) {
		t.Fatalf("PutNowait on a full queue: %v", err)
	}
	holder, err := NewQueueAt(ctx, addr, QueueOptions{MaxSize: 2, Joinable: true})
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := holder.Get(ctx); err != nil || string(msg) != "a" {
		t.Fatalf("Get = %q, %v", msg, err)
	}
	first, err := holder.LastDelivery()
	if err != nil || first.Count != 1 || first.Redelivered() || first.ID == "" {
		t.Fatalf("LastDelivery = %+v, %v", first, err)
	}
	holder.Close() // leaves without TaskDone: "a" goes to the others
	got := map[string]Delivery{}
	for i := 0; i < 2; i++ {
		msg, err := q.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got[string(msg)], err = q.LastDelivery(); err != nil {
			t.Fatal(err)
		}
		if err := q.TaskDone(); err != nil {
			t.Fatal(err)
		}
	}
	if d := got["a"]; d.ID != first.ID || d.Count != 2 || !d.Redelivered() {
		t.Fatalf("redelivered a: %+v, first %+v", d, first)
	}
	if d := got["b"]; d.Count != 1 || d.ID == first.ID {
		t.Fatalf("b: %+v", d)
	}
	if err := q.Join(ctx); err != nil {
		t.Fatal(err)
	}
	local, err := NewQueue(0)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	if _, err := local.LastDelivery(); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("LastDelivery on a local queue: %v", err)
	}
}

// redisConfigSet sets a server parameter with a plain RESP command.
func redisConfigSet(t *testing.T, port int, name, value string) {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONFIG SET %s %s\r\n", name, value)
	reply := make([]byte, 64)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(reply)
	if err != nil || string(reply[:n]) != "+OK\r\n" {
		t.Fatalf("CONFIG SET %s %s: %q, %v", name, value, reply[:n], err)
	}
}

// An open that succeeds on a server that may evict its keys says so
// through Warn; on a noeviction server (redis' default) it says nothing.
func TestRedisOpenWarnsOfEvictingPolicy(t *testing.T) {
	port := startRedis(t)
	var warnings []string
	saved := Warn
	Warn = func(msg string) { warnings = append(warnings, msg) }
	defer func() { Warn = saved }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr := fmt.Sprintf("redis://127.0.0.1:%d", port)
	q, err := OpenQueueAt(ctx, addr+"#quiet")
	if errors.Is(err, ErrNotSupported) {
		t.Skip("this build has no redis backend")
	}
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	if len(warnings) != 0 {
		t.Fatalf("warnings on a noeviction server: %q", warnings)
	}
	redisConfigSet(t, port, "maxmemory-policy", "allkeys-lru")
	q, err = OpenQueueAt(ctx, addr+"#evictable")
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	d, err := OpenDictAt(ctx, addr+"#evictable_dict")
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if len(warnings) != 2 {
		t.Fatalf("want 2 warnings (queue, dict), got %q", warnings)
	}
	for _, w := range warnings {
		if !strings.Contains(w, "allkeys-lru") || !strings.Contains(w, "noeviction") {
			t.Errorf("warning %q does not name the policy and the fix", w)
		}
	}
}
