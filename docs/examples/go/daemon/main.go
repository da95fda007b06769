// Daemon and non-daemon children (Python: p.daemon = True; a non-daemon
// child joined when the main program ends; join() on a daemon).
// Port of docs/examples/c/example_daemon.c; same output.
//
// A Go program's end does not run the C library's exit handler (Go exits
// without libc's exit), so what Python (and the C port) does at exit is
// written out at the end of run: join the non-daemon children, terminate
// the daemons. A daemon still dies with this process however it ends.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"multiproc.dev/multiproc"
)

// worker is def worker(interval); a handle 0, if passed, is an event the
// worker sets once it has started.
func worker(arg []byte) int {
	ms, _ := strconv.Atoi(string(arg))
	fmt.Printf("%s: work start\n", multiproc.CurrentName())
	if ready, err := multiproc.OpenEvent(0); err == nil {
		ready.Set()
		ready.Close()
	}
	time.Sleep(time.Duration(ms) * time.Millisecond)
	fmt.Printf("%s: work end\n", multiproc.CurrentName())
	return 0
}

func startWorker(name string, daemon bool, ms int, handles ...multiproc.Handle) (*multiproc.Process, error) {
	p, err := multiproc.NewProcess("worker", []byte(strconv.Itoa(ms)),
		&multiproc.ProcessOptions{Name: name, Daemon: daemon, Handles: handles})
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
	multiproc.Register("worker", worker)
	multiproc.Main()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	// Part 1: a daemon that is joined runs to its end.
	p, err := startWorker("joined-daemon", true, 300)
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.Join(ctx); err != nil {
		return err
	}
	if code, _ := p.ExitCode(); code != 0 {
		return fmt.Errorf("%s exited with %d", p.Name(), code)
	}
	fmt.Println("end!")

	// Part 2: nobody joins during the program; at its end the daemon is
	// terminated (its "work end" never comes) and the worker joined.
	ready, err := multiproc.NewEvent()
	if err != nil {
		return err
	}
	defer ready.Close()
	d, err := startWorker("daemon", true, 5000, ready)
	if err != nil {
		return err
	}
	defer d.Close()
	w, err := startWorker("worker", false, 500)
	if err != nil {
		return err
	}
	defer w.Close()
	readyCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ready.Wait(readyCtx); err != nil {
		return fmt.Errorf("the daemon did not report that it started: %w", err)
	}
	fmt.Println("end of the main process!")

	// Python's exit: terminate the daemons, join the others.
	d.Terminate()
	if err := d.Join(ctx); err != nil {
		return err
	}
	return w.Join(ctx)
}
