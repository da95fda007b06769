// Command consumer-go is built from the *installed* Go binding
// (<prefix>/share/gocode/src/multiproc.dev/multiproc, GOPATH mode, no
// network) and the installed C library found through pkg-config, by
// tests/consumer/run.sh. Like the C consumer it checks real behaviour:
// a command fed on stdin, and a spawned child answering over a queue.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"multiproc.dev/multiproc"
)

const childExit = 7

// greeter runs in the child: it puts a greeting on the queue it was given.
func greeter(arg []byte) int {
	q, err := multiproc.OpenQueue(0)
	if err != nil {
		return 1
	}
	defer q.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := q.Put(ctx, []byte("hello "+string(arg))); err != nil {
		return 1
	}
	return childExit
}

func checkCommand() error {
	cmd := multiproc.Command("/bin/sh", "-c", `read x; echo "got $x"`)
	cmd.Stdin = strings.NewReader("42\n")
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("command: %w", err)
	}
	if !bytes.Equal(out, []byte("got 42\n")) {
		return fmt.Errorf("command output %q, want %q", out, "got 42\n")
	}
	return nil
}

func checkProcessQueue() error {
	q, err := multiproc.NewQueue(0)
	if err != nil {
		return err
	}
	defer q.Close()
	p, err := multiproc.NewProcess("greeter", []byte("go"),
		&multiproc.ProcessOptions{Handles: []multiproc.Handle{q}})
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.Start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msg, err := q.Get(ctx)
	if err != nil {
		return fmt.Errorf("queue get: %w", err)
	}
	if string(msg) != "hello go" {
		return fmt.Errorf("queue message %q, want %q", msg, "hello go")
	}
	if err := p.Join(ctx); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	code, err := p.ExitCode()
	if err != nil || code != childExit {
		return fmt.Errorf("child exit code %d (%v), want %d", code, err, childExit)
	}
	return nil
}

func main() {
	if err := multiproc.Register("greeter", greeter); err != nil {
		fmt.Fprintln(os.Stderr, "consumer-go:", err)
		os.Exit(1)
	}
	multiproc.Main() // in the child: runs greeter and exits
	for _, check := range []func() error{checkCommand, checkProcessQueue} {
		if err := check(); err != nil {
			fmt.Fprintln(os.Stderr, "consumer-go:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("consumer-go: ok (multiproc %s)\n", multiproc.Version())
}
