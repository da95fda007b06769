// Pipes (Python: Pipe() duplex send/recv, recv() until EOFError, "close
// the ends you do not use"). Port of docs/examples/c/example_pipe.c;
// same output.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"multiproc.dev/multiproc"
)

const nMessages = 3

var ctx = context.Background()

// codeName is the C name of err's code ("ECLOSED"), or err's text.
func codeName(err error) string {
	var e *multiproc.Error
	if errors.As(err, &e) {
		return e.Code.Name()
	}
	if err == nil {
		return "OK"
	}
	return err.Error()
}

// greeter is def f(conn): send 'hello', print what comes back.
func greeter([]byte) int {
	conn, err := multiproc.OpenConn(0, multiproc.Readable|multiproc.Writable)
	if err != nil {
		return 1
	}
	defer conn.Close() // conn.close()
	if err := conn.Send(ctx, []byte("hello")); err != nil {
		return 1
	}
	msg, err := conn.Recv(ctx)
	if err != nil {
		return 1
	}
	fmt.Printf("child received: %s\n", msg)
	return 0
}

// sender sends nMessages messages, then closes its end.
func sender([]byte) int {
	conn, err := multiproc.OpenConn(0, multiproc.Readable|multiproc.Writable)
	if err != nil {
		return 1
	}
	defer conn.Close()
	fmt.Printf("child: sending %d messages, then closing its end\n", nMessages)
	for i := 0; i < nMessages; i++ {
		if err := conn.Send(ctx, []byte(fmt.Sprintf("message %d", i))); err != nil {
			return 1
		}
	}
	return 0
}

func startWithEnd(target string, end *multiproc.Conn) (*multiproc.Process, error) {
	p, err := multiproc.NewProcess(target, nil, &multiproc.ProcessOptions{Handles: []multiproc.Handle{end}})
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
	if err := p.Join(ctx); err != nil {
		return err
	}
	if code, _ := p.ExitCode(); code != 0 {
		return fmt.Errorf("%s exited with %d", p.Name(), code)
	}
	return nil
}

// Part 1: hello / world over one duplex pipe.
func partHelloWorld() error {
	fmt.Println("-- part 1: a duplex pipe")
	parentConn, childConn, err := multiproc.Pipe(true)
	if err != nil {
		return err
	}
	defer parentConn.Close()
	p, err := startWithEnd("greeter", childConn)
	childConn.Close() // the child has its copy; close ours
	if err != nil {
		return err
	}
	defer p.Close()
	msg, err := parentConn.Recv(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("main received: %s\n", msg)
	if err := parentConn.Send(ctx, []byte("world")); err != nil {
		return err
	}
	return joinOK(p)
}

// recvLoop prints messages until a receive fails (end of stream or a
// wait longer than d; d == 0: no limit) and returns that error.
func recvLoop(conn *multiproc.Conn, d time.Duration) error {
	for {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if d != 0 {
			ctx, cancel = context.WithTimeout(ctx, d)
		}
		msg, err := conn.Recv(ctx)
		cancel()
		if err != nil {
			return err
		}
		fmt.Printf("main received: %s\n", msg)
	}
}

// recvWithin is recv with a timeout (Python's poll(d) then recv()).
func recvWithin(conn *multiproc.Conn, d time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return conn.Recv(ctx)
}

// Parts 2 and 3: the child sends, closes its end and exits; the parent
// sees the end of the stream only once its own copy is closed too.
func partEOF(keepCopy bool) error {
	if keepCopy {
		fmt.Println("-- part 3: the parent forgets to close its copy of the child's end")
	} else {
		fmt.Println("-- part 2: the child closes its end: EOF")
	}
	parentConn, childConn, err := multiproc.Pipe(true)
	if err != nil {
		return err
	}
	defer parentConn.Close()
	defer childConn.Close()
	p, err := startWithEnd("sender", childConn)
	if err != nil {
		return err
	}
	defer p.Close()
	if !keepCopy {
		childConn.Close() // close the end we do not use
		err := recvLoop(parentConn, 0)
		if !errors.Is(err, multiproc.ErrClosed) {
			return fmt.Errorf("recv: %v", err)
		}
		fmt.Printf("main: recv -> %s (Python's EOFError)\n", codeName(err))
		if err := joinOK(p); err != nil {
			return err
		}
		err = parentConn.Send(ctx, []byte("anyone?"))
		fmt.Printf("main: send -> %s (Python's BrokenPipeError)\n", codeName(err))
		if !errors.Is(err, multiproc.ErrBrokenPipe) {
			return fmt.Errorf("send: %v", err)
		}
		return nil
	}
	// Python's recv() would now block for ever; wait 1 s.
	err = recvLoop(parentConn, time.Second)
	if !errors.Is(err, multiproc.ErrTimeout) {
		return fmt.Errorf("recv (expected ETIMEDOUT): %v", err)
	}
	fmt.Printf("main: recv -> %s: no EOF\n", codeName(err))
	if err := joinOK(p); err != nil {
		return err
	}
	_, err = recvWithin(parentConn, 100*time.Millisecond)
	fmt.Printf("main: the child has exited, still recv -> %s: our own copy of the child's end keeps the pipe open\n", codeName(err))
	if !errors.Is(err, multiproc.ErrTimeout) {
		return err
	}
	childConn.Close() // the close that was missing
	_, err = recvWithin(parentConn, 5*time.Second)
	fmt.Printf("main: closed our copy; recv -> %s\n", codeName(err))
	if !errors.Is(err, multiproc.ErrClosed) {
		return err
	}
	return nil
}

func main() {
	multiproc.Register("greeter", greeter)
	multiproc.Register("sender", sender)
	multiproc.Main()
	for _, part := range []func() error{partHelloWorld, func() error { return partEOF(false) }, func() error { return partEOF(true) }} {
		if err := part(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
