package multiproc

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"time"

	"multiproc.dev/multiproc/internal/capi"
)

// Process is a child process: one running a registered target
// (NewProcess) or a command (Cmd.Start). Its methods may be called from
// several goroutines.
type Process struct {
	h      handle
	daemon bool
	group  bool // a command started with Cmd.NewGroup: signals reach its group
	// After release: what the ended process was, so that its methods still
	// answer once the C handle is gone. Read and written under h.mu.
	ended *endedProcess
}

// endedProcess is what a released Process remembers.
type endedProcess struct {
	pid  int
	name string
	code int
}

func newProcess(p capi.Process, daemon bool) *Process {
	proc := &Process{daemon: daemon}
	proc.h = handle{p: uintptr(p), free: func(p uintptr) { capi.Mp_process_free(capi.Process(p)) }}
	setFinalizer(proc)
	return proc
}

// ProcessOptions are the settings of a process that runs a target.
type ProcessOptions struct {
	Name   string // the child's name (CurrentName there); default "Process-N"
	Daemon bool   // killed when this process ends, however it ends
	// StartMethod is StartSpawn or StartForkserver; the zero value
	// (StartFork, which Go never uses) means the process-wide default
	// (SetStartMethod), spawn unless that is StartForkserver.
	StartMethod StartMethod
	// Pass hands objects to the child by name (the rule; see PassNamed):
	// it opens each with the Inherit function of its type.
	Pass map[string]Handle
	// Handles are passed to the child by index: it opens Handles[i] with
	// the Open function of its type and index i (OpenQueue(0), ...).
	// Prefer Pass: names read better and survive reordering.
	Handles []Handle
}

// Handle is an object that can be passed to a child: *Queue, *Conn,
// *Lock, *Semaphore, *Event, *Condition, *Barrier, *Value,
// *SharedMemory, *Dict.
type Handle interface {
	fileno() (int, error)
}

// NewProcess creates (but does not start) a process that will run the
// target registered under name with a copy of arg (Python's
// Process(target, args)). The child is a new execution of this program
// (the spawn start method), so Main must be called at the top of main.
// Errors: ErrNotFound (no target of that name), ErrState (the target was
// registered after Main: the child would not find it), ErrInvalid.
func NewProcess(target string, arg []byte, opts *ProcessOptions) (*Process, error) {
	if opts == nil {
		opts = &ProcessOptions{}
	}
	if err := errLateTarget("process new", target); err != nil {
		return nil, err
	}
	var p capi.Process
	if err := check("process new", func() int { return capi.Mp_process_new(&p, target, arg) }); err != nil {
		return nil, err
	}
	err := configure(p, opts)
	if err != nil {
		capi.Mp_process_free(p)
		return nil, err
	}
	return newProcess(p, opts.Daemon), nil
}

// goStartMethod is the start method of a Go child or worker: m, or for
// the zero value the process-wide default; never fork (a forked Go
// runtime is not safe; forkserver forks before the runtime started).
func goStartMethod(m StartMethod) StartMethod {
	if m == StartFork {
		m = GetStartMethod()
	}
	if m == StartFork {
		return StartSpawn
	}
	return m
}

func configure(p capi.Process, opts *ProcessOptions) error {
	m := goStartMethod(opts.StartMethod)
	if err := check("process start method", func() int { return capi.Mp_process_set_start_method(p, cMethod(m)) }); err != nil {
		return err
	}
	if opts.Name != "" {
		if err := check("process name", func() int { return capi.Mp_process_set_name(p, opts.Name) }); err != nil {
			return err
		}
	}
	if opts.Daemon {
		if err := check("process daemon", func() int { return capi.Mp_process_set_daemon(p, boolInt(true)) }); err != nil {
			return err
		}
	}
	for _, h := range opts.Handles {
		if err := passFd(p, h); err != nil {
			return err
		}
	}
	for _, step := range processByName(p).namedSteps(opts.Pass) {
		if err := check("process pass", step); err != nil {
			return err
		}
	}
	return nil
}

func processByName(p capi.Process) byName {
	return byName{
		queue: func(name string, q capi.Queue) int { return capi.Mp_process_pass_queue(p, name, q) },
		conn:  func(name string, c capi.Conn) int { return capi.Mp_process_pass_conn(p, name, c) },
		fd:    func(name string, fd int) int { return capi.Mp_process_pass_fd2(p, name, fd) },
	}
}

// PassNamed hands an object to the not yet started child under name
// (letters, digits, '_'; at most 64 objects in all): the child opens it
// with the Inherit function of its type (InheritQueue(name),
// InheritConn(name, flags), InheritLock(name), ...; in C mp_*_inherit, in
// Ruby Multiproc::Queue.inherit), as a command's program does. Only that
// child sees the name. The object may be closed after the call.
// Errors: ErrInvalid (bad name, closed object), ErrExist (name already
// passed), ErrState (already started), ErrNoSpace (too many).
func (p *Process) PassNamed(name string, h Handle) error {
	hp, err := p.h.use("process pass")
	if err != nil {
		return err
	}
	defer p.h.done()
	return check("process pass", processByName(capi.Process(hp)).step(name, h))
}

func passFd(p capi.Process, h Handle) error {
	fd, err := h.fileno()
	if err != nil {
		return err
	}
	return check("process pass", func() int { return capi.Mp_process_pass_fd(p, fd) })
}

// Pass hands one more object to the not yet started child and returns the
// index the child opens it with (by index; prefer PassNamed).
func (p *Process) Pass(h Handle) (int, error) {
	hp, err := p.h.use("process pass")
	if err != nil {
		return 0, err
	}
	defer p.h.done()
	fd, err := h.fileno()
	if err != nil {
		return 0, err
	}
	return call("process pass", func() int { return capi.Mp_process_pass_fd(capi.Process(hp), fd) })
}

// StartMethod is how the library starts a child that runs a target.
type StartMethod int

const (
	// StartFork copies the process; never used by Go's own processes and
	// pools (a forked Go runtime is not safe), only by C code in the program.
	StartFork StartMethod = 0 // mp_start_method's values (TestSetStartMethod)
	// StartSpawn executes the program again; Main runs the target.
	StartSpawn StartMethod = 1
	// StartForkserver: a server, this program executed once more, forks
	// the children before its Go runtime started (from the C library's
	// constructor); each child then starts its runtime and Main runs the
	// target. Faster than StartSpawn (no exec, no dynamic loading); the
	// guarantees are the same (C's MP_START_FORKSERVER, process.h).
	StartForkserver StartMethod = 2
)

// SetStartMethod sets the process-wide default start method (Python's
// multiprocessing.set_start_method): every later process and pool that
// does not choose its own uses it. It is fixed once set or once the first
// process or pool used it: a later call fails with ErrState unless force
// is true, as Python raises unless force=True. Go's NewProcess and NewPool
// use it when their options leave StartMethod zero (StartForkserver, or
// else StartSpawn); StartFork is refused with ErrInvalid: Go never forks.
func SetStartMethod(m StartMethod, force bool) error {
	if m == StartFork {
		return &Error{Code: ErrInvalid, Op: "set start method", Msg: "Go never forks: a forked Go runtime is not safe"}
	}
	return check("set start method", func() int { return capi.Mp_set_start_method(cMethod(m), boolInt(force)) })
}

// GetStartMethod is the process-wide default start method (Python's
// get_start_method); asking does not fix it.
func GetStartMethod() StartMethod { return StartMethod(capi.Mp_get_start_method()) }

// Start starts the process. Errors: ErrState (already started, or Main
// was not called).
func (p *Process) Start() error {
	if !mainDone() {
		return errNoMain("process start")
	}
	hp, err := p.h.use("process start")
	if err != nil {
		return err
	}
	err = check("process start", func() int { return capi.Mp_process_start(capi.Process(hp)) })
	p.h.done()
	if err == nil {
		registerStarted(p) // for ActiveChildren
	}
	return err
}

// Join waits until the process has ended, or ctx is done (Python's
// join). Errors: ErrState (not started), ErrTimeout (ctx's deadline),
// ErrCanceled (ctx canceled).
func (p *Process) Join(ctx context.Context) error {
	mustContext(ctx)
	return p.join(ctx, forever)
}

// JoinTimeout waits up to d for the process to end; ErrTimeout if it
// still runs. A d <= 0 has already expired: the call tries once without waiting
// (see Timeouts in the package documentation).
//
// Deprecated: use Join with a context from context.WithTimeout, the one
// form of every blocking call (see the package documentation); JoinTimeout
// stays for the callers of 0.1.
func (p *Process) JoinTimeout(d time.Duration) error {
	return p.join(context.Background(), timeoutOf(d))
}

func (p *Process) join(ctx context.Context, limit int64) error {
	if p.released() != nil {
		return nil
	}
	hp, err := p.h.use("process join")
	if err != nil {
		return err
	}
	defer p.h.done()
	_, err = blocking(ctx, "process join", limit, func(ms int64) int {
		return capi.Mp_process_join(capi.Process(hp), ms)
	})
	return err
}

// ExitCode is the exit code of the ended process in Python's
// convention: the exit status, or -N if signal N killed it.
// Errors: ErrState (not started, or still running).
func (p *Process) ExitCode() (int, error) {
	if e := p.released(); e != nil {
		return e.code, nil
	}
	hp, err := p.h.use("process exitcode")
	if err != nil {
		return 0, err
	}
	defer p.h.done()
	var code int
	err = check("process exitcode", func() int { return capi.Mp_process_exitcode(&code, capi.Process(hp)) })
	return code, err
}

// IsAlive reports whether the process runs (started and not ended).
func (p *Process) IsAlive() bool {
	if p.released() != nil {
		return false
	}
	hp, err := p.h.use("process is alive")
	if err != nil {
		return false
	}
	defer p.h.done()
	return capi.Mp_process_is_alive(capi.Process(hp)) == 1
}

// Pid is the child's process id, or 0 before Start.
func (p *Process) Pid() int {
	if e := p.released(); e != nil {
		return e.pid
	}
	hp, err := p.h.use("process pid")
	if err != nil {
		return 0
	}
	defer p.h.done()
	if pid := capi.Mp_process_pid(capi.Process(hp)); pid > 0 {
		return pid
	}
	return 0
}

// Name is the process's name (a command's program).
func (p *Process) Name() string {
	if e := p.released(); e != nil {
		return e.name
	}
	hp, err := p.h.use("process name")
	if err != nil {
		return ""
	}
	defer p.h.done()
	return capi.Mp_process_name(capi.Process(hp))
}

// Daemon reports whether the process was created as a daemon.
func (p *Process) Daemon() bool { return p.daemon }

// Signal sends sig to the child (a no-op once it has ended). For a
// command started with Cmd.NewGroup it goes to the child's whole process
// group, so that it reaches everything the command started (while any
// member lives). Otherwise it reaches the child only, as os/exec's.
// sig is a syscall.Signal (os.Interrupt and os.Kill are).
func (p *Process) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return &Error{Code: ErrInvalid, Op: "process signal", Msg: "not a syscall.Signal"}
	}
	return p.send("process signal", s)
}

// Terminate sends SIGTERM (Python's terminate), to the group as Signal.
func (p *Process) Terminate() error { return p.send("process terminate", syscall.SIGTERM) }

// Kill sends SIGKILL (Python's kill), to the group as Signal.
func (p *Process) Kill() error { return p.send("process kill", syscall.SIGKILL) }

func (p *Process) send(op string, sig syscall.Signal) error {
	return p.signal(op, func(hp capi.Process) int { return capi.Mp_process_signal(hp, int(sig), p.signalFlags()) })
}

// signalFlags is MP_SIGNAL_GROUP for a command started in a new group.
func (p *Process) signalFlags() int {
	if p.group {
		return capi.MP_SIGNAL_GROUP
	}
	return 0
}

// StopOptions are the settings of Stop.
type StopOptions struct {
	// Signal is the first signal: syscall.SIGTERM (the default, 0) or
	// syscall.SIGINT.
	Signal syscall.Signal
	// Grace is how long the child has to end after Signal before it is
	// sent SIGKILL. 0: 3 s; a negative Grace has already expired (SIGKILL
	// right after Signal).
	Grace time.Duration
}

// defaultGrace is Stop's grace period (mp_process_stop's default).
const defaultGrace = 3 * time.Second

// Stop stops the child and waits until it has ended: it sends SIGTERM
// (opts.Signal), waits up to opts.Grace (default 3 s) for the child to
// end, then sends SIGKILL and waits. opts may be nil. For a command
// started with Cmd.NewGroup both signals go to the whole process group.
// Its exit code is then available (ExitCode). Stopping an ended process
// does nothing. Errors: ErrInvalid (a Signal other than SIGTERM or
// SIGINT), ErrState (not started). Blocking: up to Grace, then until the
// killed child is reaped.
func (p *Process) Stop(opts *StopOptions) error {
	if opts == nil {
		opts = &StopOptions{}
	}
	first, err := stopAction(opts.Signal)
	if err != nil {
		return err
	}
	grace := opts.Grace
	if grace == 0 {
		grace = defaultGrace
	}
	return p.signal("process stop", func(hp capi.Process) int {
		return stopSteps(hp, first, timeoutOf(grace), p.signalFlags())
	})
}

// stopAction is the MP_STOP_* action of Stop's first signal.
func stopAction(sig syscall.Signal) (cStopAction, error) {
	switch sig {
	case 0, syscall.SIGTERM:
		return capi.MP_STOP_TERMINATE, nil
	case syscall.SIGINT:
		return capi.MP_STOP_INTERRUPT, nil
	}
	return 0, &Error{Code: ErrInvalid, Op: "process stop", Msg: "Signal must be SIGTERM or SIGINT"}
}

// stopSteps runs mp_process_stop with the steps "first, wait graceMS;
// SIGKILL, wait".
func stopSteps(hp capi.Process, first cStopAction, graceMS int64, flags int) int {
	var steps capi.Stop
	if rc := capi.Mp_stop_new(&steps); rc < 0 {
		return rc
	}
	defer capi.Mp_stop_free(steps)
	if rc := capi.Mp_stop_add(steps, first, graceMS); rc < 0 {
		return rc
	}
	if rc := capi.Mp_stop_add(steps, capi.MP_STOP_KILL, forever); rc < 0 {
		return rc
	}
	return capi.Mp_process_stop(hp, steps, flags)
}

func (p *Process) signal(op string, f func(capi.Process) int) error {
	if p.released() != nil {
		return nil // ended: a no-op, as for any ended process
	}
	hp, err := p.h.use(op)
	if err != nil {
		return err
	}
	defer p.h.done()
	return check(op, func() int { return f(capi.Process(hp)) })
}

// Close releases the handle. A child that still runs is not signalled;
// the library still reaps it when it ends.
func (p *Process) Close() error {
	closeObject(p, &p.h)
	return nil
}

// release frees the C handle of an ended process and keeps its pid, name
// and exit code for its methods. Cmd.Wait calls it, as os/exec's Wait
// releases the command's resources: a program that runs many commands
// would otherwise hold each one's pidfd (and the library's record of it)
// until the garbage collector ran the finalizers, and every spawn pays
// for the descriptors its parent has open. A process still running is
// left as it is.
func (p *Process) release() {
	code, err := p.ExitCode()
	if err != nil || p.IsAlive() {
		return
	}
	e := &endedProcess{pid: p.Pid(), name: p.Name(), code: code}
	p.h.mu.Lock()
	p.ended = e
	p.h.mu.Unlock()
	closeObject(p, &p.h)
}

// released is what a released process remembers, nil if it was not.
func (p *Process) released() *endedProcess {
	p.h.mu.RLock()
	defer p.h.mu.RUnlock()
	return p.ended
}

// state is how the ended process ended, nil if it has not (or the
// handle is closed).
func (p *Process) state() *ProcessState {
	code, err := p.ExitCode()
	if err != nil {
		return nil
	}
	return &ProcessState{pid: p.Pid(), code: code}
}

// ProcessState is how a command ended (Cmd.ProcessState, and the
// *ExitError's), shaped like os.ProcessState.
type ProcessState struct {
	pid  int
	code int // Python's convention: the exit status, or -N for signal N
}

// Pid is the process id of the ended child.
func (s *ProcessState) Pid() int { return s.pid }

// Exited reports whether the child exited (rather than died of a signal).
func (s *ProcessState) Exited() bool { return s.code >= 0 }

// Success reports whether the child exited with status 0.
func (s *ProcessState) Success() bool { return s.code == 0 }

// ExitCode is the exit status, or -1 when a signal killed the child (as
// os.ProcessState's; Signal says which).
func (s *ProcessState) ExitCode() int {
	if s == nil || s.code < 0 {
		return -1
	}
	return s.code
}

// Signal is the signal that killed the child, or -1 if it exited.
func (s *ProcessState) Signal() syscall.Signal {
	if s.code < 0 {
		return syscall.Signal(-s.code)
	}
	return -1
}

// Sys is the syscall.WaitStatus of the end (os.ProcessState.Sys's type on
// Linux): Exited/ExitStatus, or Signaled/Signal. Whether a core was
// dumped is not known (CoreDump is false).
func (s *ProcessState) Sys() interface{} {
	if s.code < 0 {
		return syscall.WaitStatus(-s.code)
	}
	return syscall.WaitStatus(s.code << 8)
}

// String is "exit status N" or "signal: NAME" (os.ProcessState's text).
func (s *ProcessState) String() string {
	if s == nil {
		return "<nil>"
	}
	if s.code < 0 {
		return "signal: " + s.Signal().String()
	}
	return "exit status " + strconv.Itoa(s.code)
}
