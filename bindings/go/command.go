package multiproc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"multiproc.dev/multiproc/internal/capi"
)

// Cmd is an external command to run (Python's subprocess.Popen
// arguments), shaped like os/exec's Cmd: the same fields, methods, error
// values and texts, with the differences listed in README.md. The
// program is started with an argv, never through a shell.
type Cmd struct {
	// Path is the program. Command resolves a name without '/' with
	// LookPath; a Path without '/' set by hand is looked up in the PATH
	// of the child's environment at Start (the C library's rule).
	Path string
	Args []string // argv, including argv[0] (Command sets it to the name)
	// Env holds "KEY=value" entries (the last of a key wins; an entry with
	// a NUL byte fails Start). nil: this process's environment, with PWD
	// set to Dir when Dir is set.
	Env []string
	Dir string // working directory; "": this process's

	// Standard streams. nil connects the stream to the null device; an
	// *os.File is given to the child as it is; any other reader or writer
	// is served through a pipe by a goroutine of this process. When
	// Stderr is the same writer as Stdout, both go through one pipe in
	// the order the child writes.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// ExtraFiles are given to the child as descriptors 3, 4, … (entry i
	// becomes 3+i; a nil entry is closed in the child). Any *os.File.
	ExtraFiles []*os.File

	// SysProcAttr: the subset multiproc can do is Setpgid (with Pgid 0:
	// as NewGroup), Setsid (a new session: setsid in the child) and
	// Pdeathsig (SIGKILL only: as Daemon). Any other field set makes Start fail with
	// ErrNotSupported (see README.md for why).
	SysProcAttr *syscall.SysProcAttr

	// NewGroup starts the child in a new process group of its own. The
	// Process's Signal, Terminate, Kill and Stop, and the kill of a done
	// CommandContext, then reach the whole group: everything the command
	// started that did not leave it.
	NewGroup bool
	Daemon   bool // the child is killed when this process ends, however it ends

	// Cancel is called when the context of CommandContext is done before
	// the command ended; CommandContext sets it to kill the Process. nil:
	// nothing is done then (WaitDelay, if set, still kills the child).
	// When Cancel returned nil and the command then succeeds, Wait returns
	// the context's error; an error of Cancel other than os.ErrProcessDone
	// is returned wrapped ("exec: canceling Cmd: ..."). Setting Cancel
	// without CommandContext makes Start fail.
	Cancel func() error

	// WaitDelay, as in os/exec (Go 1.20), bounds two waits: for the child
	// to end after the context is done (then it is killed), and for the
	// streams served by goroutines once the child has ended or the
	// context is done (then their pipes are closed; what arrives later is
	// lost). When the pipes had to be closed, no Cancel ran and the command
	// otherwise succeeded, Wait returns ErrWaitDelay. A negative WaitDelay
	// has expired at once. 0 differs from os/exec: the streams are still
	// cut after 250 ms (the bound of Communicate), without an error, so
	// that a grandchild holding a pipe never holds up Wait; set a long
	// WaitDelay to wait longer. 0 does not kill a child that outlives its
	// context's Cancel.
	WaitDelay time.Duration

	// Process is the running child, set by Start.
	Process *Process
	// ProcessState is how the child ended, set by Wait (and Run, Output,
	// CombinedOutput, a Communicate that saw the child end); nil before.
	ProcessState *ProcessState

	// Err is the error of Command's LookPath, which Start returns. Clear
	// it to run a program found relative to the current directory
	// (errors.Is(cmd.Err, exec.ErrDot)), as with os/exec.
	Err error

	ctx     context.Context
	pass    []passed
	pipes   [3]bool // Communicate's streams: pipes of the C library
	started bool    // Start got as far as the spawn, whether it worked or not
	waited  bool

	childFiles  []*os.File     // the child's ends of our pipes: closed after the spawn
	parentFiles []*os.File     // our ends: closed when Wait is done or cuts the copy
	copiers     []func() error // the goroutines serving streams, started by Start
	copyDone    chan error     // the first copier error, once all copiers returned
	waitDone    chan struct{}  // closed when Wait has seen the child end
	ctxResult   chan ctxResult // the context watcher's result
}

type passed struct {
	name string
	h    Handle
}

// Command returns the Cmd to run name with args. A name without '/' is
// resolved with LookPath now; its failure is kept in Err (and returned by
// Start), the Path then stays the name.
func Command(name string, args ...string) *Cmd {
	c := &Cmd{Path: name, Args: append([]string{name}, args...)}
	if name != "" && !strings.Contains(name, "/") {
		lp, err := LookPath(name)
		if lp != "" {
			c.Path = lp
		}
		c.Err = err
	}
	return c
}

// CommandContext is Command with a context: when ctx is done before the
// command ends, its Cancel runs at once (by default: the Process is
// killed) and Wait reports how the child ended (an *ExitError for the
// kill).
func CommandContext(ctx context.Context, name string, args ...string) *Cmd {
	mustContext(ctx)
	c := Command(name, args...)
	c.ctx = ctx
	c.Cancel = c.killForCancel
	return c
}

// killForCancel is CommandContext's Cancel: kill the child, or report
// os.ErrProcessDone when it has already ended.
func (c *Cmd) killForCancel() error {
	if !c.Process.IsAlive() {
		return os.ErrProcessDone
	}
	return c.Process.Kill()
}

// String describes the command: the resolved path and the arguments
// (the arguments as given when the lookup failed). For debugging only.
func (c *Cmd) String() string {
	if c.Err != nil || len(c.Args) == 0 {
		if len(c.Args) == 0 {
			return c.Path
		}
		return strings.Join(c.Args, " ")
	}
	return strings.Join(append([]string{c.Path}, c.Args[1:]...), " ")
}

// Environ returns the environment the command would run with as it is now
// configured: Env, or this process's environment with PWD set to Dir,
// the last entry of a key kept, entries with a NUL byte left out.
func (c *Cmd) Environ() []string {
	env, _ := c.environ()
	return env
}

// PassQueue hands q to the command under name (letters, digits, '_');
// the program opens it with InheritQueue(name) (or mp_queue_inherit in
// C, Multiproc::Queue.inherit(name) in Ruby). Call before Start.
func (c *Cmd) PassQueue(name string, q *Queue) { c.pass = append(c.pass, passed{name, q}) }

// PassConn hands a connection end to the command under name; the program
// opens it with InheritConn(name).
func (c *Cmd) PassConn(name string, conn *Conn) { c.pass = append(c.pass, passed{name, conn}) }

// The child's streams, as indexes of Cmd.pipes and of cStreams.
const streamIn, streamOut, streamErr = 0, 1, 2

// cStreams are the C library's names of the streams.
var cStreams = [3]cStream{capi.MP_STDIN, capi.MP_STDOUT, capi.MP_STDERR}

// The errors of os/exec, with its texts (users match them); each also
// matches a multiproc code with errors.Is.
var (
	errAlreadyStarted = &execError{"exec: already started", ErrState}
	errNoCommand      = &execError{"exec: no command", ErrInvalid}
	errNotStarted     = &execError{"exec: not started", ErrState}
	errWaitCalled     = &execError{"exec: Wait was already called", ErrState}
	errCancelNoCtx    = &execError{"exec: command with a non-nil Cancel was not created with CommandContext", ErrInvalid}
)

// ErrWaitDelay is returned by Wait when the command succeeded but its
// streams were still open when an explicit WaitDelay expired (os/exec's
// ErrWaitDelay of Go 1.20; Go 1.19's os/exec has none to reuse).
var ErrWaitDelay = errors.New("exec: WaitDelay expired before I/O complete")

// Start starts the command. A failed Start cannot be retried: the next
// Start is "exec: already started" too. Errors: Err (from Command's
// LookPath: an *exec.Error matching exec.ErrNotFound or exec.ErrDot), an
// *exec.Error matching exec.ErrNotFound and ErrNotFound for a program
// without '/' the spawn did not find in PATH, ErrNotFound (also
// fs.ErrNotExist) for a missing program path or Dir, ErrAccess for a
// program that is not executable, the context's error (an *Error that
// also matches ErrCanceled or ErrTimeout) when it is already done.
func (c *Cmd) Start() error {
	if c.Process != nil || c.started {
		return errAlreadyStarted
	}
	if c.Path == "" && c.Err == nil {
		c.Err = errNoCommand
	}
	if c.Err != nil {
		return c.Err
	}
	if c.Cancel != nil && c.ctx == nil {
		return errCancelNoCtx
	}
	if c.ctx != nil {
		if err := c.ctx.Err(); err != nil {
			return ctxError("command start", err)
		}
	}
	c.started = true
	err := c.spawn()
	closeFiles(c.childFiles)
	c.childFiles = nil
	if err != nil {
		closeFiles(c.parentFiles)
		c.parentFiles, c.copiers = nil, nil
		return err
	}
	c.startCopiers()
	c.watchContext()
	return nil
}

func (c *Cmd) spawn() error {
	if err := c.checkNUL(); err != nil {
		return err
	}
	cmd, err := c.build()
	if err != nil {
		return err
	}
	defer capi.Mp_cmd_free(cmd)
	var p capi.Process
	err = check("command start", func() int { return capi.Mp_process_spawn(&p, cmd) })
	runtime.KeepAlive(c.ExtraFiles) // their descriptors were borrowed until here
	if err != nil {
		return c.startError(err)
	}
	sys, _ := c.sysAttrs()
	c.Process = newProcess(p, sys.daemon)
	c.Process.group = sys.group || sys.session // a session leader leads its group too
	return nil
}

// startError shapes a failed spawn as os/exec's users match it: a program
// without '/' not found in PATH is an *exec.Error matching
// exec.ErrNotFound (and ErrNotFound); a missing file or directory also
// matches fs.ErrNotExist, a file that is not executable fs.ErrPermission.
func (c *Cmd) startError(err error) error {
	e, ok := err.(*Error)
	if !ok {
		return err
	}
	switch e.Code {
	case ErrNotFound:
		if !strings.Contains(c.Path, "/") && c.dirExists() {
			return lookPathError(c.Path, e, errExecNotFound)
		}
		e.also = os.ErrNotExist
	case ErrAccess:
		if strings.Contains(e.Msg, "found only relative to the current directory") {
			return lookPathError(c.Path, e, errExecDot) // the spawn's PATH rule
		}
		e.also = os.ErrPermission
	}
	return e
}

func (c *Cmd) dirExists() bool {
	if c.Dir == "" {
		return true
	}
	st, err := os.Stat(c.Dir)
	return err == nil && st.IsDir()
}

// ctxResult is what the context watcher tells Wait: the error the
// cancellation gave, and when the copy of the streams must end (zero:
// WaitDelay after the child ended).
type ctxResult struct {
	err      error
	deadline time.Time
}

// watchContext starts the goroutine that runs Cancel as soon as the
// context is done, and kills the child if it has not ended WaitDelay
// later (os/exec's watchCtx).
func (c *Cmd) watchContext() {
	if c.ctx == nil || c.ctx.Done() == nil || (c.Cancel == nil && c.WaitDelay == 0) {
		return
	}
	c.waitDone = make(chan struct{})
	result := make(chan ctxResult, 1)
	c.ctxResult = result
	go func() { result <- c.watch() }()
}

func (c *Cmd) watch() ctxResult {
	select {
	case <-c.waitDone:
		return ctxResult{}
	case <-c.ctx.Done():
	}
	var err error
	if c.Cancel != nil {
		if cerr := c.Cancel(); cerr == nil {
			err = ctxError("command wait", c.ctx.Err())
		} else if !errors.Is(cerr, os.ErrProcessDone) {
			err = &wrappedError{"exec: canceling Cmd", cerr}
		}
	}
	if c.WaitDelay == 0 {
		return ctxResult{err: err}
	}
	deadline := time.Now().Add(c.WaitDelay)
	t := time.NewTimer(c.WaitDelay)
	defer t.Stop()
	select {
	case <-c.waitDone:
	case <-t.C:
		c.Process.Kill() // outlived its Cancel: Wait then cuts the streams at once
	}
	return ctxResult{err: err, deadline: deadline}
}

// Wait waits for the started command to end and for its streams to be
// copied (see WaitDelay), then releases its resources. It returns nil
// for exit status 0, an *ExitError when the child failed or was killed
// (also by a done CommandContext), the context's error when the command
// succeeded after Cancel, ErrWaitDelay, or a copy error. Errors of
// os/exec's text: "exec: not started", "exec: Wait was already called".
func (c *Cmd) Wait() error {
	if c.Process == nil {
		return errNotStarted
	}
	if c.waited {
		return errWaitCalled
	}
	c.waited = true
	return c.finish(c.Process.Join(context.Background()))
}

// finish ends Wait (or Communicate) once the child has ended: its state,
// the context watcher's word, the copiers, then the release.
func (c *Cmd) finish(err error) error {
	if err == nil {
		c.ProcessState = c.Process.state()
		if !c.ProcessState.Success() {
			err = &ExitError{ProcessState: c.ProcessState}
		}
	}
	var deadline time.Time
	if c.ctxResult != nil {
		close(c.waitDone)
		r := <-c.ctxResult
		deadline = r.deadline
		if err == nil {
			err = r.err
		}
	}
	if cerr := c.awaitCopiers(deadline); err == nil {
		err = cerr
	}
	closeFiles(c.parentFiles)
	c.parentFiles = nil
	c.Process.release()
	return err
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
		return nil, errStdoutSet
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

var (
	errStdoutSet = &execError{"exec: Stdout already set", ErrState}
	errStderrSet = &execError{"exec: Stderr already set", ErrState}
	errStdinSet  = &execError{"exec: Stdin already set", ErrState}
)

// CombinedOutput runs the command and returns its stdout and stderr
// interleaved as the child wrote them.
func (c *Cmd) CombinedOutput() ([]byte, error) {
	if c.Stdout != nil {
		return nil, errStdoutSet
	}
	if c.Stderr != nil {
		return nil, errStderrSet
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
// it, as Python's documentation advises, then Wait). A non-zero exit is
// an *ExitError.
func (c *Cmd) Communicate(ctx context.Context, input []byte) (stdout, stderr []byte, err error) {
	mustContext(ctx)
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
	if c.waited {
		return nil, nil, errWaitCalled
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
	err = c.finish(nil)
	var ee *ExitError
	if errors.As(err, &ee) {
		ee.Stderr = stderr
	}
	return stdout, stderr, err
}
