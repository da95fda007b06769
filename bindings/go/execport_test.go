package multiproc

// Cases of Go's os/exec tests (src/os/exec/exec_test.go, example_test.go,
// dot_test.go, exec_posix_test.go of Go 1.19-1.21) ported to Cmd; each
// names the upstream test it follows. They use sh, cat, yes and sleep
// where the upstream ones run the test binary as a helper.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExitStatus, TestExitCode: the texts and codes of os/exec.
func TestExecExitErrorAsOsExec(t *testing.T) {
	err := Command("sh", "-c", "exit 42").Run()
	var ee *ExitError
	if !errors.As(err, &ee) || err.Error() != "exit status 42" || ee.ExitCode() != 42 || !ee.Exited() {
		t.Fatalf("exit 42: %v", err)
	}
	c := Command("sh", "-c", "kill -9 $$")
	err = c.Run()
	if !errors.As(err, &ee) || err.Error() != "signal: killed" || !killedBy(ee, syscall.SIGKILL) {
		t.Fatalf("kill -9: %v", err)
	}
	if c.ProcessState.ExitCode() != -1 || c.ProcessState.Success() {
		t.Fatalf("ProcessState of a killed child: %v", c.ProcessState)
	}
}

// ProcessState is nil before Wait and os.ProcessState-like after it.
func TestExecProcessState(t *testing.T) {
	c := Command("sh", "-c", "exit 3")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if c.ProcessState != nil || c.Process.Pid() <= 0 {
		t.Fatalf("before Wait: state %v pid %d", c.ProcessState, c.Process.Pid())
	}
	pid := c.Process.Pid()
	c.Wait()
	s := c.ProcessState
	if s == nil || s.ExitCode() != 3 || s.Success() || !s.Exited() || s.String() != "exit status 3" || s.Pid() != pid {
		t.Fatalf("after Wait: %+v", s)
	}
	if ws := s.Sys().(syscall.WaitStatus); !ws.Exited() || ws.ExitStatus() != 3 {
		t.Fatalf("Sys: %v", ws)
	}
	if err := Command("true").Run(); err != nil {
		t.Fatal(err)
	}
}

// TestNoPath.
func TestExecNoCommand(t *testing.T) {
	err := new(Cmd).Start()
	if err == nil || err.Error() != "exec: no command" {
		t.Fatalf("new(Cmd).Start() = %v", err)
	}
}

// TestDoubleStartLeavesPipesOpen; and a failed Start cannot be retried.
func TestExecDoubleStart(t *testing.T) {
	c := Command("cat")
	in, _ := c.StdinPipe()
	out, _ := c.StdoutPipe()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err == nil || err.Error() != "exec: already started" || !errors.Is(err, ErrState) {
		t.Fatalf("second Start: %v", err)
	}
	io.WriteString(in, "O:Hello, pipe!\n")
	in.Close()
	if b, err := io.ReadAll(out); err != nil || string(b) != "O:Hello, pipe!\n" {
		t.Fatalf("read %q, %v", b, err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err == nil || err.Error() != "exec: Wait was already called" {
		t.Fatalf("second Wait: %v", err)
	}
	failed := Command("/no/such/program")
	if err := failed.Start(); !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing program: %v", err)
	}
	if err := failed.Start(); err == nil || err.Error() != "exec: already started" {
		t.Fatalf("Start after a failed Start: %v", err)
	}
	if err := new(Cmd).Wait(); err == nil || err.Error() != "exec: not started" {
		t.Fatalf("Wait before Start: %v", err)
	}
}

// TestNoExistExecutable, TestStringPathNotResolved: a name not in PATH.
func TestExecNotFoundIsExecError(t *testing.T) {
	c := Command("makemeasandwich", "-lettuce")
	var xe *exec.Error
	if !errors.As(c.Err, &xe) || xe.Name != "makemeasandwich" || !errors.Is(c.Err, exec.ErrNotFound) {
		t.Fatalf("Command's Err: %#v", c.Err)
	}
	if got := c.String(); got != "makemeasandwich -lettuce" {
		t.Fatalf("String: %q", got)
	}
	err := c.Run()
	if err != c.Err || !errors.Is(err, ErrNotFound) {
		t.Fatalf("Run: %v", err)
	}
	if want := `exec: "makemeasandwich": executable file not found in $PATH`; err.Error() != want {
		t.Fatalf("text %q, want %q", err.Error(), want)
	}
	// A Cmd made by hand leaves the lookup to the spawn: the same error.
	err = (&Cmd{Path: "makemeasandwich"}).Run()
	var me *Error
	if !errors.As(err, &xe) || !errors.Is(err, exec.ErrNotFound) || !errors.As(err, &me) || me.Msg == "" {
		t.Fatalf("spawn's lookup: %v", err)
	}
}

// TestString.
func TestExecString(t *testing.T) {
	echo, err := LookPath("echo")
	if err != nil {
		t.Skip(err)
	}
	if got := Command("echo", "a", "b").String(); got != echo+" a b" {
		t.Fatalf("String = %q, want %q", got, echo+" a b")
	}
	if xp, err := exec.LookPath("echo"); err != nil || xp != echo {
		t.Fatalf("LookPath %q, os/exec's %q (%v)", echo, xp, err)
	}
}

// inDir runs f in directory dir.
func inDir(t *testing.T, dir string, f func()) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	f()
}

// TestLookPath of dot_test.go: a program found through a relative PATH
// entry is refused with ErrDot, unless the caller clears cmd.Err.
func TestExecLookPathDot(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "mp-dot-prog")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\necho ran from dot\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", ".:/usr/bin:/bin")
	inDir(t, dir, func() {
		lp, err := LookPath("mp-dot-prog")
		if lp != "./mp-dot-prog" || !errors.Is(err, exec.ErrDot) || !errors.Is(err, ErrAccess) {
			t.Fatalf("LookPath: %q %v", lp, err)
		}
		c := Command("mp-dot-prog")
		if err := c.Run(); !errors.Is(err, exec.ErrDot) {
			t.Fatalf("Run: %v", err)
		}
		c = Command("mp-dot-prog")
		if errors.Is(c.Err, exec.ErrDot) {
			c.Err = nil // the caller's explicit opt-in, as with os/exec
		}
		if out, err := c.Output(); err != nil || string(out) != "ran from dot\n" {
			t.Fatalf("after clearing Err: %q %v", out, err)
		}
	})
	// An empty entry is the current directory too (PATH=":").
	t.Setenv("PATH", "/usr/bin:")
	inDir(t, dir, func() {
		if _, err := LookPath("mp-dot-prog"); !errors.Is(err, exec.ErrDot) {
			t.Fatalf("empty entry: %v", err)
		}
		// A Cmd made by hand leaves the lookup to the spawn: same error.
		err := (&Cmd{Path: "mp-dot-prog"}).Run()
		var xe *exec.Error
		if !errors.Is(err, exec.ErrDot) || !errors.As(err, &xe) || !errors.Is(err, ErrAccess) {
			t.Fatalf("spawn's lookup: %v", err)
		}
	})
}

// The C rule where os/exec differs: an absolute entry after a relative
// one is still searched (os/exec's LookPath stops with ErrDot).
func TestExecLookPathSkipsRelativeEntries(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sh"), []byte("#!/bin/sh\necho fake\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", ".:/usr/bin:/bin")
	inDir(t, dir, func() {
		lp, err := LookPath("sh")
		if err != nil || !strings.HasPrefix(lp, "/") {
			t.Fatalf("LookPath: %q %v", lp, err)
		}
		if out, err := (&Cmd{Path: "sh", Args: []string{"sh", "-c", "echo real"}}).Output(); err != nil || string(out) != "real\n" {
			t.Fatalf("spawn's lookup ran %q, %v", out, err)
		}
	})
}

// TestLookPathUnixEmptyPath differs on purpose: with PATH empty the C
// library's default path is searched (os/exec finds nothing).
func TestExecLookPathEmptyPathIsTheDefault(t *testing.T) {
	t.Setenv("PATH", "")
	if lp, err := LookPath("sh"); err != nil || !strings.HasSuffix(lp, "/sh") {
		t.Fatalf("LookPath(sh) with PATH empty: %q %v", lp, err)
	}
}

// TestEnvNULCharacter: refused, never truncated.
func TestExecEnvNUL(t *testing.T) {
	c := Command("sh", "-c", `printf "%s" "$FOO"`)
	c.Env = append(c.Environ(), "FOO=foo\x00BAR=bar")
	out, err := c.CombinedOutput()
	if err == nil || err.Error() != "exec: environment variable contains NUL" || !errors.Is(err, ErrInvalid) {
		t.Fatalf("output %q, err %v", out, err)
	}
	if err := Command("echo", "a\x00b").Run(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("argument with NUL: %v", err)
	}
}

// TestDedupEnvEcho.
func TestExecDedupEnv(t *testing.T) {
	c := Command("sh", "-c", `printf "%s" "$FOO"`)
	c.Env = append(c.Environ(), "FOO=bad", "FOO=good")
	if out, err := c.CombinedOutput(); err != nil || string(out) != "good" {
		t.Fatalf("%q %v", out, err)
	}
}

// TestImplicitPWD, TestExplicitPWD of exec_posix_test.go.
func TestExecPWD(t *testing.T) {
	dir := t.TempDir()
	c := Command("printenv", "PWD") // not sh: a shell resets PWD itself
	c.Dir = dir
	if out, err := c.Output(); err != nil || string(out) != dir+"\n" {
		t.Fatalf("implicit PWD %q, want %q (%v)", out, dir, err)
	}
	if env := c.Environ(); env[len(env)-1] != "PWD="+dir {
		t.Fatalf("Environ ends with %q", env[len(env)-1])
	}
	c = Command("printenv", "PWD")
	c.Dir = dir
	c.Env = []string{"PWD=/explicit", "PATH=/usr/bin:/bin"}
	if out, err := c.Output(); err != nil || string(out) != "/explicit\n" {
		t.Fatalf("explicit PWD %q (%v)", out, err)
	}
}

// ExampleCmd_StdinPipe: the pipe is written by a goroutine that may run
// before Start (it hung 17 of 20 runs when the pipe needed Start).
func TestExecExampleStdinPipe(t *testing.T) {
	for i := 0; i < 20; i++ {
		c := Command("cat")
		stdin, err := c.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer stdin.Close()
			io.WriteString(stdin, "values written to stdin are passed to cmd's standard input")
		}()
		var out []byte
		quick(t, "CombinedOutput", 10*time.Second, func() { out, err = c.CombinedOutput() })
		if err != nil || string(out) != "values written to stdin are passed to cmd's standard input" {
			t.Fatalf("run %d: %q %v", i, out, err)
		}
	}
}

// The pipe rules: each pipe once, none after Start, not with Output.
func TestExecPipeRules(t *testing.T) {
	c := Command("cat")
	w, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := w.(interface{ Fd() uintptr }); !ok || int(f.Fd()) < 0 {
		t.Fatal("StdinPipe has no Fd")
	}
	if _, err := c.StdinPipe(); err == nil || err.Error() != "exec: Stdin already set" {
		t.Fatalf("StdinPipe twice: %v", err)
	}
	if _, err := c.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StdoutPipe(); err == nil || err.Error() != "exec: Stdout already set" {
		t.Fatalf("StdoutPipe twice: %v", err)
	}
	if _, err := c.Output(); err == nil || err.Error() != "exec: Stdout already set" {
		t.Fatalf("Output after StdoutPipe: %v", err)
	}
	c = Command("true")
	c.Stderr = io.Discard
	if _, err := c.CombinedOutput(); err == nil || err.Error() != "exec: Stderr already set" {
		t.Fatalf("CombinedOutput with Stderr: %v", err)
	}
	c = Command("true")
	c.Run()
	if _, err := c.StderrPipe(); err == nil || err.Error() != "exec: StderrPipe after process started" {
		t.Fatalf("StderrPipe after Start: %v", err)
	}
}

type badWriter struct{}

func (badWriter) Write([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// TestClosePipeOnCopyError: a failing Stdout writer ends the copy and
// closes the pipe, so that Run returns. The same for a StdoutPipe reader
// closed early.
func TestExecClosePipeOnCopyError(t *testing.T) {
	var err error
	quick(t, "Run with a failing writer", 10*time.Second, func() {
		c := Command("yes")
		c.Stdout = badWriter{}
		err = c.Run()
	})
	if err == nil {
		t.Fatal("yes completed successfully")
	}
	c := Command("yes")
	r, _ := c.StdoutPipe()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	io.ReadFull(r, make([]byte, 10))
	r.Close()
	var ee *ExitError
	quick(t, "Wait after closing StdoutPipe", 10*time.Second, func() { err = c.Wait() })
	if !errors.As(err, &ee) || !killedBy(ee, syscall.SIGPIPE) {
		t.Fatalf("Wait: %v", err)
	}
}

// TestContextCancel: once the context is done the child dies then, not
// at Wait: writes to its stdin soon fail.
func TestExecContextCancelKillsAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := CommandContext(ctx, "cat")
	stdin, _ := c.StdinPipe()
	defer stdin.Close()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(stdin, "echo"); err != nil {
		t.Fatal(err)
	}
	cancel()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := io.WriteString(stdin, "echo"); err != nil {
			break
		}
		if time.Now().After(end) {
			t.Fatal("writes still succeed 10 s after cancel")
		}
	}
	var ee *ExitError
	if err := c.Wait(); !errors.As(err, &ee) || err.Error() != "signal: killed" {
		t.Fatalf("Wait: %v", err)
	}
}

// trapTERM is a script that exits 0 on SIGTERM once it is ready.
const trapTERM = `trap "exit 0" TERM; echo ready; while :; do sleep 0.05; done`

// startReady starts c and waits for the script's "ready" line.
func startReady(t *testing.T, c *Cmd) {
	t.Helper()
	out, _ := c.StdoutPipe()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(out, make([]byte, 6)); err != nil {
		t.Fatal(err)
	}
}

// TestWaitInterrupt (Go 1.20): Cancel and WaitDelay.
func TestExecCancelAndWaitDelay(t *testing.T) {
	t.Run("SIGTERM-handled", func(t *testing.T) {
		// A Cancel that ends the child cleanly: Wait reports the context.
		ctx, cancel := context.WithCancel(context.Background())
		c := CommandContext(ctx, "sh", "-c", trapTERM)
		c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
		startReady(t, c)
		cancel()
		if err := c.Wait(); !errors.Is(err, context.Canceled) || c.ProcessState.ExitCode() != 0 {
			t.Fatalf("Wait: %v", err)
		}
	})
	t.Run("SIGTERM-ignored", func(t *testing.T) {
		// Cancel does not end it: WaitDelay kills it.
		ctx, cancel := context.WithCancel(context.Background())
		c := CommandContext(ctx, "sh", "-c", `trap "" INT; echo ready; sleep 5 & wait`)
		c.Cancel = func() error { return c.Process.Signal(os.Interrupt) }
		c.WaitDelay = 200 * time.Millisecond
		startReady(t, c)
		cancel()
		var err error
		quick(t, "Wait", 10*time.Second, func() { err = c.Wait() })
		var ee *ExitError
		if !errors.As(err, &ee) || !killedBy(ee, syscall.SIGKILL) {
			t.Fatalf("Wait: %v", err)
		}
	})
	t.Run("Cancel-error", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		c := CommandContext(ctx, "sh", "-c", trapTERM)
		failure := errors.New("cannot cancel")
		c.Cancel = func() error { c.Process.Signal(syscall.SIGTERM); return failure }
		startReady(t, c)
		cancel()
		err := c.Wait()
		if !errors.Is(err, failure) || err.Error() != "exec: canceling Cmd: cannot cancel" {
			t.Fatalf("Wait: %v", err)
		}
	})
	t.Run("Exit-hang", func(t *testing.T) {
		// The child succeeds, a grandchild holds its stdout: an explicit
		// WaitDelay cuts the copy and says so.
		c := Command("sh", "-c", grandchildHolding(t)+"echo hi")
		c.WaitDelay = 100 * time.Millisecond
		var out bytes.Buffer
		c.Stdout = &out
		var err error
		quick(t, "Run", 5*time.Second, func() { err = c.Run() })
		if err != ErrWaitDelay || out.String() != "hi\n" {
			t.Fatalf("Run: %q %v", out.String(), err)
		}
	})
	t.Run("Cancel-without-context", func(t *testing.T) {
		c := Command("true")
		c.Cancel = func() error { return nil }
		if err := c.Start(); err == nil || !strings.Contains(err.Error(), "not created with CommandContext") {
			t.Fatalf("Start: %v", err)
		}
	})
}

// TestExtraFiles: entry i is the child's descriptor 3+i, a nil entry is
// closed, any *os.File works.
func TestExecExtraFiles(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := Command("sh", "-c", `echo to-four >&4; if { echo x >&3; } 2>/dev/null; then echo 3 open; fi`)
	c.ExtraFiles = []*os.File{nil, w}
	out, err := c.Output()
	w.Close()
	if err != nil || len(out) != 0 {
		t.Fatalf("Output %q, %v", out, err)
	}
	got, _ := io.ReadAll(r)
	if string(got) != "to-four\n" {
		t.Fatalf("descriptor 4 got %q", got)
	}
}

// SysProcAttr's subset: Setpgid (a group led by the child), Pdeathsig
// SIGKILL; the rest is refused by name.
func TestExecSysProcAttr(t *testing.T) {
	c := Command("sh", "-c", `cut -d" " -f5 /proc/$$/stat`)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := c.Output()
	if err != nil {
		t.Fatal(err)
	}
	if pgid, _ := strconv.Atoi(strings.TrimSpace(string(out))); pgid != c.ProcessState.Pid() {
		t.Fatalf("pgid %q, pid %d", out, c.ProcessState.Pid())
	}
	c = Command("sh", "-c", `cut -d" " -f6 /proc/$$/stat`)
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if out, err = c.Output(); err != nil {
		t.Fatal(err)
	}
	if sid, _ := strconv.Atoi(strings.TrimSpace(string(out))); sid != c.ProcessState.Pid() {
		t.Fatalf("Setsid: sid %q, pid %d", out, c.ProcessState.Pid())
	}
	for _, a := range []*syscall.SysProcAttr{
		{Pdeathsig: syscall.SIGTERM},
		{Credential: &syscall.Credential{Uid: 0}},
		{Setpgid: true, Pgid: 1},
	} {
		c := Command("true")
		c.SysProcAttr = a
		if err := c.Run(); !errors.Is(err, ErrNotSupported) {
			t.Fatalf("%+v: %v", a, err)
		}
	}
}
