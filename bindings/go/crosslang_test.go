package multiproc

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// A Go parent with Ruby workers: MP_RUBY_PEER is the command (argv
// prefix, space-separated) that runs the Ruby peer of tests/crosslang.
func TestRubyPeerWorkers(t *testing.T) {
	peer := strings.Fields(os.Getenv("MP_RUBY_PEER"))
	if len(peer) == 0 {
		t.Skip("MP_RUBY_PEER is not set: no Ruby peer to run (the crosslang suite sets it)")
	}
	tasks := testQueue(t, 0)
	results := testQueue(t, 0)
	var workers []*Cmd
	for i := 0; i < 2; i++ {
		c := Command(peer[0], append(peer[1:], "worker")...)
		c.Stderr = os.Stderr
		c.PassQueue("tasks", tasks)
		c.PassQueue("results", results)
		if err := c.Start(); err != nil {
			t.Fatalf("start ruby worker: %v", err)
		}
		workers = append(workers, c)
	}
	const n = 200
	for i := 0; i < n; i++ {
		if err := tasks.Put(context.Background(), []byte(fmt.Sprintf("task-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	tasks.Shutdown()
	seen := map[string]int{}
	for i := 0; i < n; i++ {
		m, err := results.GetTimeout(60 * time.Second)
		if err != nil {
			t.Fatalf("result %d: %v", i, err)
		}
		seen[string(m)]++
	}
	for i := 0; i < n; i++ {
		if k := fmt.Sprintf("done:task-%d", i); seen[k] != 1 {
			t.Errorf("%s seen %d times", k, seen[k])
		}
	}
	for _, c := range workers {
		if err := c.Wait(); err != nil {
			t.Errorf("ruby worker: %v", err)
		}
	}
}
