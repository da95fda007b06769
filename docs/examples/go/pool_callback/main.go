// Pool callbacks (Python: apply_async(func1, args=(i,), callback=func2)
// for range(10, 20), and an error_callback): the task runs in a worker,
// the callback in the main process, on the pool's callback thread.
// Port of docs/examples/c/example_pool_callback.c; same output.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"

	"multiproc.dev/multiproc"
)

// answer is what func1 returns: the square and the worker's pid.
type answer struct {
	Square int64
	Pid    int
}

// func1 is def func1(n), in a worker process.
func func1(arg []byte) ([]byte, error) {
	var n int64
	if err := json.Unmarshal(arg, &n); err != nil {
		return nil, err
	}
	if n < 0 { // raise ValueError(...): the message reaches error_callback
		return nil, fmt.Errorf("func1: negative input %d", n)
	}
	fmt.Printf("func1: n=%d\n", n)
	return json.Marshal(answer{n * n, os.Getpid()})
}

// collected is what the callbacks share with main, guarded by mu.
type collected struct {
	mu                                   sync.Mutex
	squares                              []int64
	errors, inParent, offMain, elsewhere int
	mainPid, mainTid                     int
}

func (c *collected) noteWhere() {
	if os.Getpid() == c.mainPid {
		c.inParent++
	}
	if syscall.Gettid() != c.mainTid {
		c.offMain++
	}
}

// func2 is the callback; onError the error_callback.
func (c *collected) callback(r *multiproc.AsyncResult) {
	data, err := r.Get(context.Background()) // done: never waits
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noteWhere()
	var e *multiproc.Error
	if errors.As(err, &e) {
		c.errors++
		fmt.Printf("error_callback: %s: %s\n", e.Code.Name(), e.Detail)
		return
	}
	var a answer
	if err != nil || json.Unmarshal(data, &a) != nil {
		fmt.Fprintln(os.Stderr, "func2: bad result", err)
		return
	}
	if a.Pid != c.mainPid {
		c.elsewhere++
	}
	c.squares = append(c.squares, a.Square)
	fmt.Printf("func2: %d\n", a.Square)
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

func main() {
	multiproc.RegisterTask("func1", func1)
	multiproc.Main()
	runtime.LockOSThread() // main's own thread, to tell the callbacks' apart
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	c := &collected{mainPid: os.Getpid(), mainTid: syscall.Gettid()}
	pool, err := multiproc.NewPool(&multiproc.PoolOptions{Workers: 2})
	if err != nil {
		return err
	}
	defer pool.Close()
	fmt.Println("main: Pool(2), 11 tasks with a callback")
	args := []int64{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, -1}
	for _, n := range args {
		arg, _ := json.Marshal(n)
		r, err := pool.ApplyAsync("func1", arg, c.callback)
		if err != nil {
			return err
		}
		defer r.Close()
	}
	if err := pool.Shutdown(); err != nil {
		return err
	}
	if err := pool.Join(context.Background()); err != nil { // after every callback
		return err
	}
	fmt.Println("main: pool closed and joined")
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.squares)
	fmt.Printf("main: %d callbacks and %d error callback\n", n, c.errors)
	fmt.Printf("main: every callback ran in the main process: %s\n", yesNo(c.inParent == n+c.errors))
	fmt.Printf("main: every callback ran on a thread other than main(): %s\n", yesNo(c.offMain == n+c.errors))
	fmt.Printf("main: every task ran in a worker process: %s\n", yesNo(c.elsewhere == n))
	sort.Slice(c.squares, func(i, j int) bool { return c.squares[i] < c.squares[j] })
	var parts []string
	for _, s := range c.squares {
		parts = append(parts, fmt.Sprint(s))
	}
	fmt.Printf("main: the callbacks collected: %s\n", strings.Join(parts, " "))
	if n != 10 || c.errors != 1 {
		return errors.New("callbacks missing")
	}
	return nil
}
