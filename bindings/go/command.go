package multiproc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"multiproc.dev/multiproc/internal/capi"
)

// Cmd is an external command to run (Python's subprocess.Popen
// arguments), shaped like os/exec's Cmd. The program is started with an
// argv, never through a shell.
type Cmd struct {
	Path string   // the program; without '/', looked up in PATH at Start
	Args []string // argv, including argv[0] (Command sets it to the name)
	Env  []string // "KEY=value" entries; nil: this process's environment
	Dir  string   // working directory; "": this process's

	// Standard streams. nil connects the stream to the null device; an
	// *os.File is given to the child as it is; any other reader or writer
	// is served through a pipe by a goroutine of this process. When
	// Stderr is the same writer as Stdout, both go through one pipe in
	// the order the child writes.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// NewGroup starts the child in a new process group of its own. The
	// Process's Signal, Terminate, Kill and Stop, and the kill of a done
	// CommandContext, then reach the whole group: everything the command
	// started that did not leave it.
	NewGroup bool
	Daemon   bool // the child is killed when this process ends, however it ends

	// WaitDelay bounds how long Wait (and Run, Output, CombinedOutput)
	// keeps copying the streams served by goroutines (Stdin, Stdout or
	// Stderr that are not *os.File) once the child has ended or the
	// CommandContext is done: a grandchild that inherited a pipe and keeps
	// it open cannot hold the call up longer. What arrives later is not
	// copied, and that alone is no error. 0 means 250 ms (the bound of
	// Communicate); unlike os/exec's 0, never "wait for the pipes without
	// limit" (set a long WaitDelay for that). A negative WaitDelay has
	// expired: copying stops as soon as the child ended.
	WaitDelay time.Duration

	// Process is the running child, set by Start.
	Process *Process

	ctx      context.Context
	pass     []passed
	pipes    [3]bool // StdinPipe/StdoutPipe/StderrPipe asked for
	copiers  sync.WaitGroup
	copying  bool               // startCopiers started at least one copier
	stopCopy context.CancelFunc // cancels the copiers' reads and writes
	copyErr  error
	copyMu   sync.Mutex
	waited   bool
}

type passed struct {
	name string
	h    Handle
}

// Command returns the Cmd to run name with args.
func Command(name string, args ...string) *Cmd {
	return &Cmd{Path: name, Args: append([]string{name}, args...)}
}

// CommandContext is Command with a context: when ctx is done before the
// command ends, Wait (and Run, Output) kills it.
func CommandContext(ctx context.Context, name string, args ...string) *Cmd {
	c := Command(name, args...)
	c.ctx = ctx
	return c
}

// PassQueue hands q to the command under name (letters, digits, '_');
// the program opens it with InheritQueue(name) (or mp_queue_inherit in
// C, Multiproc::Queue.inherit(name) in Ruby). Call before Start.
func (c *Cmd) PassQueue(name string, q *Queue) { c.pass = append(c.pass, passed{name, q}) }

// PassConn hands a connection end to the command under name; the program
// opens it with InheritConn(name).
func (c *Cmd) PassConn(name string, conn *Conn) { c.pass = append(c.pass, passed{name, conn}) }

// The C stream numbers and stdio modes.
const (
	streamIn, streamOut, streamErr = 0, 1, 2
	stdioNull, stdioPipe, stdioOut = 1, 2, 3
)

// build makes the C command; the caller frees it.
func (c *Cmd) build() (capi.Cmd, error) {
	var cmd capi.Cmd
	if err := check("command", func() int { return capi.Mp_cmd_new(&cmd, c.Path) }); err != nil {
		return 0, err
	}
	err := c.configure(cmd)
	if err != nil {
		capi.Mp_cmd_free(cmd)
		return 0, err
	}
	return cmd, nil
}

func (c *Cmd) configure(cmd capi.Cmd) error {
	var steps []func() int
	add := func(f func() int) { steps = append(steps, f) }
	if len(c.Args) > 0 && c.Args[0] != c.Path {
		arg0 := c.Args[0]
		add(func() int { return capi.Mp_cmd_arg0(cmd, arg0) })
	}
	for _, a := range argsAfter0(c.Args) {
		a := a
		add(func() int { return capi.Mp_cmd_arg(cmd, a) })
	}
	if c.Env != nil {
		add(func() int { return capi.Mp_cmd_env_clear(cmd) })
		for _, kv := range c.Env {
			k, v, _ := strings.Cut(kv, "=")
			add(func() int { return capi.Mp_cmd_env_set(cmd, k, v) })
		}
	}
	if c.Dir != "" {
		add(func() int { return capi.Mp_cmd_cwd(cmd, c.Dir) })
	}
	add(func() int { return capi.Mp_cmd_new_group(cmd, boolInt(c.NewGroup)) })
	add(func() int { return capi.Mp_cmd_daemon(cmd, boolInt(c.Daemon)) })
	for _, p := range c.pass {
		p := p
		switch h := p.h.(type) {
		case *Queue:
			add(func() int {
				return withHandle(&h.h, func(q uintptr) int { return capi.Mp_cmd_pass_queue(cmd, p.name, capi.Queue(q)) })
			})
		case *Conn:
			add(func() int {
				return withHandle(&h.h, func(x uintptr) int { return capi.Mp_cmd_pass_conn(cmd, p.name, capi.Conn(x)) })
			})
		default:
			add(passToCommand(cmd, p.name, h))
		}
	}
	for _, f := range steps {
		if err := check("command", f); err != nil {
			return err
		}
	}
	return c.configureStdio(cmd)
}

func argsAfter0(args []string) []string {
	if len(args) == 0 {
		return nil
	}
	return args[1:]
}

// withHandle runs f with h's C handle, or returns MP_ECLOSED after Close.
func withHandle(h *handle, f func(uintptr) int) int {
	p, err := h.use("")
	if err != nil {
		return int(ErrClosed)
	}
	defer h.done()
	return f(p)
}

func (c *Cmd) configureStdio(cmd capi.Cmd) error {
	set := func(stream int, mode int) error {
		return check("command stdio", func() int {
			return capi.Mp_cmd_stdio(cmd, capi.Enum_SS_mp_stream(stream), capi.Enum_SS_mp_stdio(mode))
		})
	}
	setFd := func(stream int, f *os.File) error {
		return check("command stdio", func() int {
			return capi.Mp_cmd_stdio_fd(cmd, capi.Enum_SS_mp_stream(stream), int(f.Fd()))
		})
	}
	streams := [3]interface{}{c.Stdin, c.Stdout, c.Stderr}
	for i, s := range streams {
		var err error
		switch {
		case c.pipes[i]:
			err = set(i, stdioPipe)
		case i == streamErr && s != nil && s == streams[streamOut] && !isFile(s):
			err = set(i, stdioOut)
		case s == nil || isNil(s):
			err = set(i, stdioNull)
		case isFile(s):
			err = setFd(i, s.(*os.File))
		default:
			err = set(i, stdioPipe)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func isFile(s interface{}) bool {
	f, ok := s.(*os.File)
	return ok && f != nil
}

// isNil catches a typed nil in an interface (a nil *bytes.Buffer).
func isNil(s interface{}) bool {
	switch v := s.(type) {
	case *os.File:
		return v == nil
	case *bytes.Buffer:
		return v == nil
	}
	return false
}

// Start starts the command; exec failures come back here (ErrNotFound
// for a missing program or directory, ErrAccess for one not executable).
func (c *Cmd) Start() error {
	if c.Process != nil {
		return &Error{Code: ErrState, Op: "command start", Msg: "already started"}
	}
	if c.ctx != nil {
		if err := c.ctx.Err(); err != nil {
			return ctxError("command start", err)
		}
	}
	cmd, err := c.build()
	if err != nil {
		return err
	}
	defer capi.Mp_cmd_free(cmd)
	var p capi.Process
	if err := check("command start", func() int { return capi.Mp_process_spawn(&p, cmd) }); err != nil {
		return err
	}
	c.Process = newProcess(p, c.Daemon)
	c.Process.group = c.NewGroup
	c.startCopiers()
	return nil
}

// startCopiers serves the streams that are pipes to a reader or writer.
// Their reads and writes end when stopCopy is called (see waitCopiers).
func (c *Cmd) startCopiers() {
	ctx, stop := context.WithCancel(context.Background())
	c.stopCopy = stop
	if r := c.Stdin; r != nil && !c.pipes[streamIn] && !isFile(r) && !isNil(r) {
		c.goCopy(ctx, func() error { return c.feed(ctx, r) })
	}
	out := c.Stdout
	if out != nil && !c.pipes[streamOut] && !isFile(out) && !isNil(out) {
		c.goCopy(ctx, func() error { return c.drain(ctx, out, streamOut) })
	}
	if e := c.Stderr; e != nil && e != out && !c.pipes[streamErr] && !isFile(e) && !isNil(e) {
		c.goCopy(ctx, func() error { return c.drain(ctx, e, streamErr) })
	}
	if !c.copying {
		stop()
		c.stopCopy = nil
	}
}

// goCopy runs the copier f; its error is the command's unless the copy
// was stopped (ctx done), which is no error of the command.
func (c *Cmd) goCopy(ctx context.Context, f func() error) {
	c.copying = true
	c.copiers.Add(1)
	go func() {
		defer c.copiers.Done()
		if err := f(); err != nil && ctx.Err() == nil {
			c.copyMu.Lock()
			if c.copyErr == nil {
				c.copyErr = err
			}
			c.copyMu.Unlock()
		}
	}()
}

// defaultWaitDelay is WaitDelay's 0: mp_process_communicate's bound.
const defaultWaitDelay = 250 * time.Millisecond

// waitCopiers waits for the copiers, once the child has ended or the
// context is done: up to WaitDelay, then it stops them and waits for
// them to return (at once: their C calls are woken by a cancel token).
func (c *Cmd) waitCopiers() {
	if !c.copying {
		return
	}
	defer c.stopCopy() // releases the context once the copiers are done
	done := make(chan struct{})
	go func() {
		c.copiers.Wait()
		close(done)
	}()
	delay := c.WaitDelay
	if delay == 0 {
		delay = defaultWaitDelay
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
	c.stopCopy()
	<-done
}

// drain copies the child's stream to w until its end or ctx is done.
func (c *Cmd) drain(ctx context.Context, w io.Writer, stream int) error {
	_, err := io.Copy(w, &streamReader{p: c.Process, stream: stream, ctx: ctx})
	return err
}

// feed copies r to the child's stdin and closes it; a child that stops
// reading early is not an error (as with Python's communicate).
func (c *Cmd) feed(ctx context.Context, r io.Reader) error {
	w := &stdinWriter{p: c.Process, ctx: ctx}
	_, err := io.Copy(w, r)
	w.Close()
	if errors.Is(err, ErrBrokenPipe) {
		return nil
	}
	return err
}

// Wait waits for the started command to end and for its streams to be
// copied (for at most WaitDelay more). It returns nil for exit status 0,
// an *ExitError otherwise. With CommandContext, a done context kills the
// child (its group with NewGroup) and Wait returns the context's error
// within WaitDelay.
func (c *Cmd) Wait() error {
	if c.Process == nil {
		return &Error{Code: ErrState, Op: "command wait", Msg: "not started"}
	}
	if c.waited {
		return &Error{Code: ErrState, Op: "command wait", Msg: "already waited"}
	}
	c.waited = true
	err := c.Process.Join(c.ctx)
	if err != nil && c.ctx != nil && c.ctx.Err() != nil {
		c.Process.Kill()
		c.Process.Join(nil)
		c.waitCopiers()
		c.Process.release()
		return err
	}
	if err != nil {
		return err
	}
	c.waitCopiers()
	defer c.Process.release()
	if err := c.Process.exitError(); err != nil {
		return err
	}
	return c.copyErr
}

// Run starts the command and waits for it (subprocess.run / call).
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// Output runs the command and returns its stdout (check_output). When
// Stderr is nil, the child's stderr is collected into the *ExitError.
func (c *Cmd) Output() ([]byte, error) {
	if c.Stdout != nil {
		return nil, &Error{Code: ErrState, Op: "command output", Msg: "Stdout already set"}
	}
	var out, stderr bytes.Buffer
	c.Stdout = &out
	captureErr := c.Stderr == nil
	if captureErr {
		c.Stderr = &stderr
	}
	err := c.Run()
	var ee *ExitError
	if captureErr && errors.As(err, &ee) {
		ee.Stderr = stderr.Bytes()
	}
	return out.Bytes(), err
}

// CombinedOutput runs the command and returns its stdout and stderr
// interleaved as the child wrote them.
func (c *Cmd) CombinedOutput() ([]byte, error) {
	if c.Stdout != nil || c.Stderr != nil {
		return nil, &Error{Code: ErrState, Op: "command output", Msg: "Stdout or Stderr already set"}
	}
	var b bytes.Buffer
	c.Stdout, c.Stderr = &b, &b
	err := c.Run()
	return b.Bytes(), err
}

// Communicate starts the command if needed with pipes for the streams
// that are nil (stdin only when input is not nil), feeds input to stdin
// and closes it while collecting stdout and stderr, and waits until the
// child has ended (Popen.communicate). It never deadlocks, whatever the
// sizes. When ctx is done first it returns what was read so far and an
// error matching ErrTimeout or ErrCanceled; the child keeps running (Kill
// it, as Python's documentation advises). A non-zero exit is an
// *ExitError.
func (c *Cmd) Communicate(ctx context.Context, input []byte) (stdout, stderr []byte, err error) {
	if c.Process == nil {
		if c.Stdin == nil && input != nil {
			c.pipes[streamIn] = true
		}
		if c.Stdout == nil {
			c.pipes[streamOut] = true
		}
		if c.Stderr == nil {
			c.pipes[streamErr] = true
		}
		if err := c.Start(); err != nil {
			return nil, nil, err
		}
	}
	hp, err := c.Process.h.use("communicate")
	if err != nil {
		return nil, nil, err
	}
	_, err = blocking(ctx, "communicate", forever, func(ms int64) int {
		return capi.Mp_process_communicate(&stdout, &stderr, capi.Process(hp), input, ms)
	})
	c.Process.h.done()
	if err != nil {
		return stdout, stderr, err
	}
	c.waited = true
	c.waitCopiers()
	defer c.Process.release()
	if err := c.Process.exitError(); err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			ee.Stderr = stderr
		}
		return stdout, stderr, err
	}
	return stdout, stderr, nil
}

// StdinPipe returns a pipe to the child's stdin, usable after Start;
// close it so that the child reads the end of input.
func (c *Cmd) StdinPipe() (io.WriteCloser, error) {
	if c.Stdin != nil || c.Process != nil {
		return nil, &Error{Code: ErrState, Op: "stdin pipe", Msg: "Stdin already set or started"}
	}
	c.pipes[streamIn] = true
	return &stdinWriter{cmd: c}, nil
}

// StdoutPipe returns a pipe from the child's stdout, readable after Start.
func (c *Cmd) StdoutPipe() (io.ReadCloser, error) { return c.outPipe(streamOut, c.Stdout) }

// StderrPipe returns a pipe from the child's stderr, readable after Start.
func (c *Cmd) StderrPipe() (io.ReadCloser, error) { return c.outPipe(streamErr, c.Stderr) }

func (c *Cmd) outPipe(stream int, cur io.Writer) (io.ReadCloser, error) {
	if cur != nil || c.Process != nil {
		return nil, &Error{Code: ErrState, Op: "output pipe", Msg: "stream already set or started"}
	}
	c.pipes[stream] = true
	return &streamReader{cmd: c, stream: stream}, nil
}

// streamReader reads the child's stdout or stderr pipe.
type streamReader struct {
	p      *Process
	stream int
	cmd    *Cmd            // set for StdoutPipe: the process is known after Start
	ctx    context.Context // a copier's: a read ends when it is done; nil: none
}

func (r *streamReader) proc() (*Process, error) {
	if r.p == nil && r.cmd != nil {
		r.p = r.cmd.Process
	}
	if r.p == nil {
		return nil, &Error{Code: ErrState, Op: "read", Msg: "command not started"}
	}
	return r.p, nil
}

func (r *streamReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	p, err := r.proc()
	if err != nil {
		return 0, err
	}
	hp, err := p.h.use("read")
	if err != nil {
		return 0, err
	}
	defer p.h.done()
	var n int64
	_, err = blocking(r.ctx, "read", forever, func(ms int64) int {
		return capi.Mp_process_read(&n, capi.Process(hp), capi.Enum_SS_mp_stream(r.stream), b, ms)
	})
	if errors.Is(err, ErrClosed) {
		return 0, io.EOF
	}
	return int(n), err
}

func (r *streamReader) Close() error { return nil }

// stdinWriter writes the child's stdin pipe.
type stdinWriter struct {
	p   *Process
	cmd *Cmd
	ctx context.Context // the feeder's: a write ends when it is done; nil: none
}

func (w *stdinWriter) proc() (*Process, error) {
	if w.p == nil && w.cmd != nil {
		w.p = w.cmd.Process
	}
	if w.p == nil {
		return nil, &Error{Code: ErrState, Op: "write", Msg: "command not started"}
	}
	return w.p, nil
}

func (w *stdinWriter) Write(b []byte) (int, error) {
	p, err := w.proc()
	if err != nil {
		return 0, err
	}
	hp, err := p.h.use("write")
	if err != nil {
		return 0, err
	}
	defer p.h.done()
	_, err = blocking(w.ctx, "write", forever, func(ms int64) int {
		return capi.Mp_process_write(capi.Process(hp), b, ms)
	})
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

func (w *stdinWriter) Close() error {
	p, err := w.proc()
	if err != nil {
		return err
	}
	hp, err := p.h.use("close stdin")
	if err != nil {
		return err
	}
	defer p.h.done()
	return check("close stdin", func() int { return capi.Mp_process_close_stdin(capi.Process(hp)) })
}
