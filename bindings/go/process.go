package multiproc

import (
	"context"
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
	// Handles are passed to the child, which opens Handles[i] with the
	// Open function of its type and index i (OpenQueue(0), ...).
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
// Errors: ErrNotFound (no target of that name), ErrInvalid.
func NewProcess(target string, arg []byte, opts *ProcessOptions) (*Process, error) {
	if opts == nil {
		opts = &ProcessOptions{}
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

func configure(p capi.Process, opts *ProcessOptions) error {
	spawn := capi.Enum_SS_mp_start_method(1) // MP_START_SPAWN: Go never forks
	if err := check("process start method", func() int { return capi.Mp_process_set_start_method(p, spawn) }); err != nil {
		return err
	}
	if opts.Name != "" {
		if err := check("process name", func() int { return capi.Mp_process_set_name(p, opts.Name) }); err != nil {
			return err
		}
	}
	if opts.Daemon {
		if err := check("process daemon", func() int { return capi.Mp_process_set_daemon(p, 1) }); err != nil {
			return err
		}
	}
	for _, h := range opts.Handles {
		if err := passFd(p, h); err != nil {
			return err
		}
	}
	return nil
}

func passFd(p capi.Process, h Handle) error {
	fd, err := h.fileno()
	if err != nil {
		return err
	}
	return check("process pass", func() int { return capi.Mp_process_pass_fd(p, fd) })
}

// Pass hands one more object to the not yet started child and returns the
// index the child opens it with.
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

// Start starts the process. Errors: ErrState (already started, or Main
// was not called).
func (p *Process) Start() error {
	hp, err := p.h.use("process start")
	if err != nil {
		return err
	}
	defer p.h.done()
	return check("process start", func() int { return capi.Mp_process_start(capi.Process(hp)) })
}

// Join waits until the process has ended, or ctx is done (Python's
// join). Errors: ErrState (not started), ErrTimeout (ctx's deadline),
// ErrCanceled (ctx canceled).
func (p *Process) Join(ctx context.Context) error { return p.join(ctx, forever) }

// JoinTimeout waits up to d for the process to end; ErrTimeout if it
// still runs. A d <= 0 has already expired: the call tries once without waiting
// (see Timeouts in the package documentation).
func (p *Process) JoinTimeout(d time.Duration) error { return p.join(nil, timeoutOf(d)) }

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

// Signal sends sig to the child (a no-op once it has ended).
func (p *Process) Signal(sig syscall.Signal) error {
	return p.signal("process signal", func(hp capi.Process) int { return capi.Mp_process_signal(hp, int(sig), 0) })
}

// Terminate sends SIGTERM (Python's terminate).
func (p *Process) Terminate() error {
	return p.signal("process terminate", capi.Mp_process_terminate)
}

// Kill sends SIGKILL (Python's kill).
func (p *Process) Kill() error { return p.signal("process kill", capi.Mp_process_kill) }

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
	p.h.close()
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
	p.h.close()
}

// released is what a released process remembers, nil if it was not.
func (p *Process) released() *endedProcess {
	p.h.mu.RLock()
	defer p.h.mu.RUnlock()
	return p.ended
}

// exitError is the error of an ended process: nil for exit code 0.
func (p *Process) exitError() error {
	code, err := p.ExitCode()
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitError{ExitCode: code}
	}
	return nil
}
