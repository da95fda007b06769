// JoinableQueue (Python: q.task_done() per item, q.join() in the
// producers and the main process, daemon consumers).
// Port of docs/examples/c/example_joinable_queue.c; same output.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"multiproc.dev/multiproc"
)

const (
	items = 3
	total = 3 * items
)

var ctx = context.Background()

// producer is def producer(name, q): put, then q.join().
func producer(name []byte) int {
	q, err := multiproc.OpenQueue(0)
	if err != nil {
		return 1
	}
	defer q.Close()
	for i := 0; i < items; i++ {
		item := fmt.Sprintf("%s%d", name, i)
		if q.Put(ctx, []byte(item)) != nil {
			return 1
		}
		fmt.Printf("%s produced %s\n", name, item)
	}
	fmt.Printf("%s done producing\n", name)
	if q.Join(ctx) != nil { // q.join()
		return 1
	}
	fmt.Printf("%s: all eaten\n", name)
	return 0
}

// consumer is def consumer(q): runs until the parent terminates it.
func consumer([]byte) int {
	q, err1 := multiproc.OpenQueue(0)
	results, err2 := multiproc.OpenQueue(1)
	if err1 != nil || err2 != nil {
		return 1
	}
	for {
		item, err := q.Get(ctx)
		if err != nil {
			return 1
		}
		fmt.Printf("ate %s\n", item)
		if results.Put(ctx, item) != nil || q.TaskDone() != nil { // the item is fully processed
			return 1
		}
	}
}

func startChild(target, arg, name string, daemon bool, queues ...multiproc.Handle) (*multiproc.Process, error) {
	p, err := multiproc.NewProcess(target, []byte(arg),
		&multiproc.ProcessOptions{Name: name, Daemon: daemon, Handles: queues})
	if err != nil {
		return nil, err
	}
	if err := p.Start(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func main() {
	multiproc.Register("producer", producer)
	multiproc.Register("consumer", consumer)
	multiproc.Main()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	q, err := multiproc.NewJoinableQueue(0) // JoinableQueue()
	if err != nil {
		return err
	}
	defer q.Close()
	results, err := multiproc.NewQueue(0)
	if err != nil {
		return err
	}
	defer results.Close()
	var producers, consumers []*multiproc.Process
	for _, name := range []string{"baozi", "bone", "slop"} {
		p, err := startChild("producer", name, "", false, q)
		if err != nil {
			return err
		}
		defer p.Close()
		producers = append(producers, p)
	}
	for i := 1; i <= 2; i++ {
		c, err := startChild("consumer", "", fmt.Sprintf("consumer-%d", i), true, q, results)
		if err != nil {
			return err
		}
		defer c.Close()
		consumers = append(consumers, c)
	}
	for _, p := range producers { // p1.join(); p2.join(); p3.join()
		if err := p.Join(ctx); err != nil {
			return err
		}
		if code, _ := p.ExitCode(); code != 0 {
			return fmt.Errorf("%s exited with %d", p.Name(), code)
		}
	}
	// Every item is put; wait until each one is marked task_done.
	if err := q.Join(ctx); err != nil {
		return err
	}
	fmt.Println("main: all tasks done")
	// A task_done() for an item nobody got is an error (Python: ValueError).
	err = q.TaskDone()
	var e *multiproc.Error
	if !errors.As(err, &e) || e.Code != multiproc.ErrState {
		return fmt.Errorf("extra task_done: %v", err)
	}
	fmt.Printf("main: one task_done too many -> %s\n", e.Code.Name())
	// Each result was put before its task_done: all are queued now.
	var eaten []string
	for {
		item, err := results.GetNowait()
		if err != nil {
			break
		}
		eaten = append(eaten, string(item))
	}
	sort.Strings(eaten)
	fmt.Printf("main: %d of %d items processed: %s\n", len(eaten), total, strings.Join(eaten, " "))
	if len(eaten) != total {
		return errors.New("items lost")
	}
	fmt.Println("main: exiting; the daemon consumers are terminated")
	for _, c := range consumers { // what Python does at exit
		c.Terminate()
		c.Join(ctx)
	}
	return nil
}
