package multiproc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
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

func (c *Cmd) environ() ([]string, error) {
	env := c.Env
	if env == nil {
		env = os.Environ()
		if pwd, ok := c.pwd(); ok {
			env = append(env, "PWD="+pwd)
		}
	}
	return dedupEnv(env)
}

// pwd is the PWD of a child with Dir and an inherited environment.
func (c *Cmd) pwd() (string, bool) {
	if c.Env != nil || c.Dir == "" {
		return "", false
	}
	if strings.HasPrefix(c.Dir, "/") {
		return c.Dir, true
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	return wd + "/" + c.Dir, true
}

var errEnvNUL = &execError{"exec: environment variable contains NUL", ErrInvalid}

// dedupEnv keeps the last entry of each key, in the order of those, and
// drops entries with a NUL byte (the C library takes C strings: "A=b\x00c"
// would run with "A=b"), reporting errEnvNUL.
func dedupEnv(env []string) ([]string, error) {
	var err error
	seen := make(map[string]bool, len(env))
	out := make([]string, 0, len(env))
	for i := len(env) - 1; i >= 0; i-- {
		kv := env[i]
		if strings.IndexByte(kv, 0) >= 0 {
			err = errEnvNUL
			continue
		}
		k, _, _ := strings.Cut(kv, "=")
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, kv)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
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
	sys, err := c.sysAttrs()
	if err != nil {
		return err
	}
	env, err := c.envSteps(cmd)
	if err != nil {
		return err
	}
	steps := append(c.argSteps(cmd), env...)
	if c.Dir != "" {
		steps = append(steps, func() int { return capi.Mp_cmd_set_cwd(cmd, c.Dir) })
	}
	steps = append(steps, sys.steps(cmd)...)
	steps = append(steps, c.extraFileSteps(cmd)...)
	steps = append(steps, c.passSteps(cmd)...)
	for _, f := range steps {
		if err := check("command", f); err != nil {
			return err
		}
	}
	return c.configureStdio(cmd)
}

func (c *Cmd) argSteps(cmd capi.Cmd) []func() int {
	var steps []func() int
	if len(c.Args) > 0 && c.Args[0] != c.Path {
		arg0 := c.Args[0]
		steps = append(steps, func() int { return capi.Mp_cmd_set_arg0(cmd, arg0) })
	}
	for _, a := range argsAfter0(c.Args) {
		a := a
		steps = append(steps, func() int { return capi.Mp_cmd_add_arg(cmd, a) })
	}
	return steps
}

// envSteps sets Env (or PWD on the inherited environment). An entry
// without '=' cannot be given through the C call and is left out.
func (c *Cmd) envSteps(cmd capi.Cmd) ([]func() int, error) {
	var steps []func() int
	if pwd, ok := c.pwd(); ok {
		steps = append(steps, func() int { return capi.Mp_cmd_env_set(cmd, "PWD", pwd) })
	}
	if c.Env == nil {
		return steps, nil
	}
	env, err := dedupEnv(c.Env)
	if err != nil {
		return nil, err
	}
	steps = append(steps, func() int { return capi.Mp_cmd_env_clear(cmd) })
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			steps = append(steps, func() int { return capi.Mp_cmd_env_set(cmd, k, v) })
		}
	}
	return steps, nil
}

// extraFileSteps gives ExtraFiles[i] to the child as descriptor 3+i.
func (c *Cmd) extraFileSteps(cmd capi.Cmd) []func() int {
	var steps []func() int
	for i, f := range c.ExtraFiles {
		if f == nil {
			continue // closed in the child, as os/exec's nil entry
		}
		fd, at := int(f.Fd()), 3+i
		steps = append(steps, func() int { return capi.Mp_cmd_pass_fd_at(cmd, fd, at) })
	}
	return steps
}

func (c *Cmd) passSteps(cmd capi.Cmd) []func() int {
	var steps []func() int
	for _, p := range c.pass {
		p := p
		switch h := p.h.(type) {
		case *Queue:
			steps = append(steps, func() int {
				return withHandle(&h.h, func(q uintptr) int { return capi.Mp_cmd_pass_queue(cmd, p.name, capi.Queue(q)) })
			})
		case *Conn:
			steps = append(steps, func() int {
				return withHandle(&h.h, func(x uintptr) int { return capi.Mp_cmd_pass_conn(cmd, p.name, capi.Conn(x)) })
			})
		default:
			steps = append(steps, passToCommand(cmd, p.name, h))
		}
	}
	return steps
}

// sysAttrs are the process attributes of NewGroup, Daemon and the
// supported subset of SysProcAttr.
type sysAttrs struct{ group, session, daemon bool }

func (s sysAttrs) steps(cmd capi.Cmd) []func() int {
	return []func() int{
		func() int { return capi.Mp_cmd_set_new_group(cmd, boolInt(s.group)) },
		func() int { return capi.Mp_cmd_set_new_session(cmd, boolInt(s.session)) },
		func() int { return capi.Mp_cmd_set_daemon(cmd, boolInt(s.daemon)) },
	}
}

func (c *Cmd) sysAttrs() (sysAttrs, error) {
	s := sysAttrs{group: c.NewGroup, daemon: c.Daemon}
	a := c.SysProcAttr
	if a == nil {
		return s, nil
	}
	rest := *a
	if a.Setpgid && a.Pgid == 0 {
		s.group, rest.Setpgid = true, false
	}
	if a.Setsid {
		s.session, rest.Setsid = true, false
	}
	if a.Pdeathsig == syscall.SIGKILL {
		s.daemon, rest.Pdeathsig = true, 0
	}
	if name := firstSetField(rest); name != "" {
		return s, &Error{Code: ErrNotSupported, Op: "command start",
			Msg: "SysProcAttr." + name + " is not supported (Setpgid with Pgid 0, Setsid, Pdeathsig SIGKILL are)"}
	}
	return s, nil
}

// firstSetField names the first field of a that is not its zero value.
func firstSetField(a syscall.SysProcAttr) string {
	v := reflect.ValueOf(a)
	for i := 0; i < v.NumField(); i++ {
		if !v.Field(i).IsZero() {
			return v.Type().Field(i).Name
		}
	}
	return ""
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
	for i := streamIn; i <= streamErr; i++ {
		mode, f, err := c.childStream(i)
		if err != nil {
			return err
		}
		if err := check("command stdio", func() int {
			if f != nil {
				return capi.Mp_cmd_set_stdio_fd(cmd, cStreams[i], int(f.Fd()))
			}
			return capi.Mp_cmd_set_stdio(cmd, cStreams[i], mode)
		}); err != nil {
			return err
		}
	}
	return nil
}

// childStream is what the child's stream i is: a C stdio mode, or a file
// (f != nil). A reader or writer gets a pipe of ours and a copier.
func (c *Cmd) childStream(i int) (mode cStdio, f *os.File, err error) {
	s := [3]interface{}{c.Stdin, c.Stdout, c.Stderr}[i]
	switch {
	case c.pipes[i]:
		return capi.MP_STDIO_PIPE, nil, nil
	case i == streamErr && s != nil && interfaceEqual(s, c.Stdout):
		return capi.MP_STDIO_STDOUT, nil, nil // the child's stderr is its stdout
	case s == nil || isNil(s):
		return capi.MP_STDIO_NULL, nil, nil
	case isFile(s):
		return 0, s.(*os.File), nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, nil, &Error{Code: ErrSystem, Op: "command stdio", Msg: err.Error()}
	}
	if i == streamIn {
		c.keepPipe(pr, pw)
		c.copiers = append(c.copiers, func() error { return feed(pw, c.Stdin) })
		return 0, pr, nil
	}
	c.keepPipe(pw, pr)
	w := s.(io.Writer)
	c.copiers = append(c.copiers, func() error { return drain(w, pr) })
	return 0, pw, nil
}

// keepPipe records a pipe: the child's end is closed after the spawn,
// ours when Wait is done.
func (c *Cmd) keepPipe(child, parent *os.File) {
	c.childFiles = append(c.childFiles, child)
	c.parentFiles = append(c.parentFiles, parent)
}

// interfaceEqual is a == b, false for values that cannot be compared.
func interfaceEqual(a, b interface{}) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return a == b
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

// drain copies the child's output pipe r to w. When w fails it closes r
// at once, so that a child writing more gets EPIPE instead of blocking
// on a full pipe, and Wait returns (os/exec's TestClosePipeOnCopyError).
func drain(w io.Writer, r *os.File) error {
	_, err := io.Copy(w, r)
	r.Close()
	return err
}

// feed copies r to the child's stdin and closes it; a child that stops
// reading early is not an error (as with Python's communicate and
// os/exec).
func feed(w *os.File, r io.Reader) error {
	_, err := io.Copy(w, r)
	if errors.Is(err, syscall.EPIPE) {
		err = nil
	}
	if cerr := w.Close(); err == nil && !errors.Is(cerr, os.ErrClosed) {
		err = cerr
	}
	return err
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

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

// checkNUL refuses a Path, argument or Dir with a NUL byte, which the C
// strings would cut short (os/exec: EINVAL from the system call).
func (c *Cmd) checkNUL() error {
	for _, s := range append([]string{c.Path, c.Dir}, c.Args...) {
		if strings.IndexByte(s, 0) >= 0 {
			return &Error{Code: ErrInvalid, Op: "command start", Msg: "a path or argument contains NUL"}
		}
	}
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

// startCopiers starts the goroutines serving the streams; copyDone gets
// the first error once all of them have returned.
func (c *Cmd) startCopiers() {
	if len(c.copiers) == 0 {
		return
	}
	done := make(chan error, 1)
	c.copyDone = done
	var mu sync.Mutex
	running, first := len(c.copiers), error(nil)
	for _, f := range c.copiers {
		go func(f func() error) {
			err := f()
			mu.Lock()
			defer mu.Unlock()
			if first == nil {
				first = err
			}
			if running--; running == 0 {
				done <- first
			}
		}(f)
	}
	c.copiers = nil
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

// defaultWaitDelay is WaitDelay's 0 for the streams: mp_process_communicate's bound.
const defaultWaitDelay = 250 * time.Millisecond

// awaitCopiers waits for the copiers until deadline (zero: WaitDelay from
// now), then closes our ends of the pipes, which ends them at once. It
// returns the copiers' first error, or ErrWaitDelay when an explicit
// WaitDelay had to cut them.
func (c *Cmd) awaitCopiers(deadline time.Time) error {
	if c.copyDone == nil {
		return nil
	}
	select {
	case err := <-c.copyDone:
		return err
	default:
	}
	if deadline.IsZero() {
		delay := c.WaitDelay
		if delay == 0 {
			delay = defaultWaitDelay
		}
		deadline = time.Now().Add(delay)
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case err := <-c.copyDone:
		return err
	case <-t.C:
	}
	closeFiles(c.parentFiles)
	<-c.copyDone // their errors come from the close
	if c.WaitDelay == 0 {
		return nil // the default bound cuts without an error (see WaitDelay)
	}
	return ErrWaitDelay
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

// StdinPipe returns a pipe to the child's stdin, usable before Start (a
// write blocks once the pipe is full until the child reads). Close it so
// that the child reads the end of input; Wait closes it too.
func (c *Cmd) StdinPipe() (io.WriteCloser, error) {
	if c.Stdin != nil {
		return nil, errStdinSet
	}
	if c.Process != nil {
		return nil, &execError{"exec: StdinPipe after process started", ErrState}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, &Error{Code: ErrSystem, Op: "stdin pipe", Msg: err.Error()}
	}
	c.Stdin = pr
	c.keepPipe(pr, pw)
	return pw, nil
}

// StdoutPipe returns a pipe from the child's stdout, readable after Start.
// Wait closes it once the child has ended: read everything first. Closing
// it early makes the child's writes fail (EPIPE) instead of blocking.
func (c *Cmd) StdoutPipe() (io.ReadCloser, error) {
	if c.Stdout != nil {
		return nil, errStdoutSet
	}
	if c.Process != nil {
		return nil, &execError{"exec: StdoutPipe after process started", ErrState}
	}
	pr, pw, err := c.outPipe()
	if err == nil {
		c.Stdout = pw
	}
	return pr, err
}

// StderrPipe returns a pipe from the child's stderr, as StdoutPipe.
func (c *Cmd) StderrPipe() (io.ReadCloser, error) {
	if c.Stderr != nil {
		return nil, errStderrSet
	}
	if c.Process != nil {
		return nil, &execError{"exec: StderrPipe after process started", ErrState}
	}
	pr, pw, err := c.outPipe()
	if err == nil {
		c.Stderr = pw
	}
	return pr, err
}

func (c *Cmd) outPipe() (io.ReadCloser, *os.File, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, &Error{Code: ErrSystem, Op: "output pipe", Msg: err.Error()}
	}
	c.keepPipe(pw, pr)
	return pr, pw, nil
}

// defaultPath is the search path when PATH is unset or empty: the C
// library's (kDefaultPath of src/process/cmd.cpp).
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// LookPath finds file as the spawn of a command without '/' does (the C
// library's rules): the first regular file with execute permission in
// the absolute directories of this process's PATH, in order (the default
// path when PATH is unset or empty). Relative and empty entries (".",
// "", "../bin") are skipped: when file is found only through one, LookPath
// returns that path ("./prog") with an error matching exec.ErrDot (and
// ErrAccess), as os/exec since Go 1.19 (os/exec stops at such an entry
// even when a later absolute one has the program; the C rule goes on).
// A name with '/' is checked as it is. Errors are *exec.Error values: not
// found matches exec.ErrNotFound (and ErrNotFound); found but not
// executable matches fs.ErrPermission (and ErrAccess).
func LookPath(file string) (string, error) {
	if strings.Contains(file, "/") {
		if err := findExecutable(file); err != nil {
			return "", lookPathError(file, err, err)
		}
		return file, nil
	}
	search := os.Getenv("PATH")
	if search == "" {
		search = defaultPath
	}
	skipped, denied := "", false
	for _, dir := range strings.Split(search, ":") {
		relative := !strings.HasPrefix(dir, "/")
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + file
		err := findExecutable(p)
		switch {
		case err == nil && !relative:
			return p, nil
		case err == nil && skipped == "":
			skipped = p
		case err != nil && !relative && errors.Is(err, os.ErrPermission):
			denied = true
		}
	}
	switch {
	case skipped != "":
		return skipped, lookPathError(file, &Error{Code: ErrAccess, Op: "look path"}, errExecDot)
	case denied:
		return "", lookPathError(file, os.ErrPermission, os.ErrPermission)
	}
	return "", lookPathError(file, &Error{Code: ErrNotFound, Op: "look path"}, errExecNotFound)
}

// findExecutable is nil for a regular file this process may execute.
func findExecutable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || syscall.Access(path, 1 /* X_OK */) != nil {
		return os.ErrPermission
	}
	return nil
}
