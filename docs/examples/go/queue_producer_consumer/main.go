// Producers and consumers on a Queue(3) (Python: 3 producers, 2
// consumers, one q.put(None) per consumer). Queue.Shutdown replaces the
// poison pills: consumers drain the queue, then get ErrClosed.
// Port of docs/examples/c/example_queue_producer_consumer.c; same output.
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

const items = 3

// producer is def producer(name, q).
func producer(name []byte) int {
	q, err := multiproc.OpenQueue(0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer q.Close()
	for i := 0; i < items; i++ {
		item := fmt.Sprintf("%s%d", name, i)
		if err := q.Put(context.Background(), []byte(item)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("%s produced %s\n", name, item)
	}
	return 0
}

// consumer is def consumer(q), until the queue is closed and drained.
func consumer([]byte) int {
	q, err1 := multiproc.OpenQueue(0)
	results, err2 := multiproc.OpenQueue(1)
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, err1, err2)
		return 1
	}
	defer q.Close()
	defer results.Close()
	for {
		item, err := q.Get(context.Background())
		if errors.Is(err, multiproc.ErrClosed) { // Python's `res is None`
			fmt.Printf("%s: queue closed and empty, stopping\n", multiproc.CurrentName())
			return 0
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("ate %s\n", item)
		if err := results.Put(context.Background(), item); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
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

func startProcess(target, arg, name string, handles ...multiproc.Handle) (*multiproc.Process, error) {
	p, err := multiproc.NewProcess(target, []byte(arg), &multiproc.ProcessOptions{Name: name, Handles: handles})
	if err != nil {
		return nil, err
	}
	if err := p.Start(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func joinOK(p *multiproc.Process) error {
	if err := p.Join(context.Background()); err != nil {
		return err
	}
	if code, _ := p.ExitCode(); code != 0 {
		return fmt.Errorf("%s exited with %d", p.Name(), code)
	}
	return nil
}

func run() error {
	q, err := multiproc.NewQueue(3) // at most 3 items waiting
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
		p, err := startProcess("producer", name, "", q)
		if err != nil {
			return err
		}
		defer p.Close()
		producers = append(producers, p)
	}
	for i := 1; i <= 2; i++ {
		c, err := startProcess("consumer", "", fmt.Sprintf("consumer-%d", i), q, results)
		if err != nil {
			return err
		}
		defer c.Close()
		consumers = append(consumers, c)
	}
	for _, p := range producers {
		if err := joinOK(p); err != nil {
			return err
		}
	}
	if err := q.Shutdown(); err != nil { // instead of one None per consumer
		return err
	}
	fmt.Println("main: producers joined, queue closed")
	for _, c := range consumers {
		if err := joinOK(c); err != nil {
			return err
		}
	}
	fmt.Println("main: consumers joined")
	var e *multiproc.Error
	if err := q.Put(context.Background(), []byte("late")); !errors.As(err, &e) || e.Code != multiproc.ErrClosed {
		return fmt.Errorf("put after close: %v", err)
	}
	fmt.Printf("main: put after close -> %s\n", e.Code.Name())
	var eaten []string
	for {
		item, err := results.GetNowait()
		if err != nil {
			break
		}
		eaten = append(eaten, string(item))
	}
	sort.Strings(eaten)
	fmt.Printf("main: %d of %d items eaten: %s\n", len(eaten), 3*items, strings.Join(eaten, " "))
	if len(eaten) != 3*items {
		return errors.New("items lost")
	}
	return nil
}
