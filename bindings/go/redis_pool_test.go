package multiproc

// A pool across hosts on redis (issue 16): Pool.Serve with a task
// registered in Go, OpenPoolAt of the same address, and a Go client whose
// task runs on a C serving host (mp-redis-pool-peer, a task registered in
// C). A real redis-server (startRedis, redis_test.go).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func init() {
	if err := RegisterTask("go_upper", func(arg []byte) ([]byte, error) {
		return bytes.ToUpper(arg), nil
	}); err != nil {
		panic(err)
	}
}

func TestRedisPoolServe(t *testing.T) {
	port := startRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addr := fmt.Sprintf("redis://127.0.0.1:%d#gopool", port)
	host, err := NewPool(&PoolOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	if err := host.Serve(ctx, addr); errors.Is(err, ErrNotSupported) {
		t.Skip("this build has no redis backend")
	} else if err != nil {
		t.Fatal(err)
	}
	if err := host.Serve(ctx, addr); !errors.Is(err, ErrState) {
		t.Fatalf("second Serve = %v, want ErrState", err)
	}
	client, err := OpenPoolAt(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	out, err := client.Apply(ctx, "go_upper", []byte("abc"))
	if err != nil || string(out) != "ABC" {
		t.Fatalf("Apply = %q, %v", out, err)
	}
	args := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")}
	res, err := client.Map(ctx, "go_upper", args, 1)
	if err != nil || len(res) != 4 || string(res[3]) != "D" {
		t.Fatalf("Map = %q, %v", res, err)
	}
	if _, err := client.Apply(ctx, "no_such_task", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown task: %v, want ErrNotFound", err)
	}
	if err := client.SetRetries(2); err != nil {
		t.Fatal(err)
	}
	if err := host.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := host.Join(ctx); err != nil {
		t.Fatal(err)
	}
}

// The C peer next to the library this test runs against.
func cPoolPeer(t *testing.T) string {
	for _, dir := range strings.Split(os.Getenv("LD_LIBRARY_PATH"), ":") {
		p := filepath.Join(dir, "..", "tests", "redis", "mp-redis-pool-peer")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("mp-redis-pool-peer is not built next to the library")
	return ""
}

func TestRedisPoolGoClientCHost(t *testing.T) {
	peer := cPoolPeer(t)
	port := startRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addr := fmt.Sprintf("redis://127.0.0.1:%d#xlpool", port)
	cmd := exec.Command(peer, "serve", addr, "2", "C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }()
	line := make([]byte, 8)
	if _, err := out.Read(line); err != nil || string(line) != "serving\n" {
		t.Fatalf("peer said %q, %v", line, err)
	}
	client, err := OpenPoolAt(ctx, addr)
	if errors.Is(err, ErrNotSupported) {
		t.Skip("this build has no redis backend")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	got, err := client.Apply(ctx, "echo", []byte("from go"))
	if err != nil || string(got) != "from go" {
		t.Fatalf("echo on the C host = %q, %v", got, err)
	}
	got, err = client.Apply(ctx, "whoami", nil)
	if err != nil || string(got) != "C" {
		t.Fatalf("whoami = %q, %v", got, err)
	}
	if _, err := client.Apply(ctx, "die", nil); !errors.Is(err, ErrWorkerDied) {
		t.Fatalf("die = %v, want ErrWorkerDied", err)
	}
}
