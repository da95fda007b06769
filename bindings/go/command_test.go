package multiproc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCommandRunReportsExitStatus(t *testing.T) {
	if err := Command("true").Run(); err != nil {
		t.Fatalf("true: %v", err)
	}
	err := Command("sh", "-c", "exit 3").Run()
	var ee *ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit 3: %v", err)
	}
}

// openFDs is the number of descriptors this process has open.
func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(entries)
}

// Wait releases a command's process (its pidfd among others) at once, as
// os/exec's Wait does, not when the garbage collector runs the finalizer:
// 300 commands with the collector off leave no descriptor behind, and the
// waited Process still answers Pid, ExitCode, IsAlive and Kill.
func TestCommandWaitReleasesTheProcess(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	if err := Command("true").Run(); err != nil { // the library's own descriptors
		t.Fatal(err)
	}
	before := openFDs(t)
	for i := 0; i < 300; i++ {
		if err := Command("true").Run(); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := Command("cat").Communicate(context.Background(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	// the runtime thread closes a reaped child's watch a moment later
	for end := time.Now().Add(2 * time.Second); openFDs(t) > before+2 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if after := openFDs(t); after > before+2 {
		t.Fatalf("%d descriptors open before 301 commands, %d after", before, after)
	}
	c := Command("sh", "-c", "exit 4")
	var ee *ExitError
	if err := c.Run(); !errors.As(err, &ee) || ee.ExitCode() != 4 {
		t.Fatalf("exit 4: %v", err)
	}
	if code, err := c.Process.ExitCode(); err != nil || code != 4 {
		t.Fatalf("ExitCode after Wait: %d, %v", code, err)
	}
	if c.Process.Pid() <= 0 || c.Process.IsAlive() || c.Process.Kill() != nil || c.Process.Join(context.Background()) != nil {
		t.Fatalf("a waited process: pid %d, alive %v", c.Process.Pid(), c.Process.IsAlive())
	}
	if c.Process.Name() == "" {
		t.Fatal("a waited process lost its name")
	}
}

func TestCommandMissingProgramFailsAtStart(t *testing.T) {
	err := Command("/no/such/program").Start()
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing program: %v", err)
	}
	c := Command("true")
	c.Dir = "/no/such/dir"
	if err := c.Run(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing dir: %v", err)
	}
}

func TestCommandOutputAndEnv(t *testing.T) {
	c := Command("sh", "-c", `printf "%s" "$GREETING"; echo oops >&2; exit 1`)
	c.Env = []string{"GREETING=hello", "PATH=/usr/bin:/bin"}
	out, err := c.Output()
	var ee *ExitError
	if string(out) != "hello" || !errors.As(err, &ee) || string(ee.Stderr) != "oops\n" {
		t.Fatalf("output %q, err %v", out, err)
	}
}

func TestCommandStreamsThroughReadersAndWriters(t *testing.T) {
	var out, errb bytes.Buffer
	c := Command("sh", "-c", "tr a-z A-Z; echo done >&2")
	c.Stdin = strings.NewReader(strings.Repeat("abc", 100000))
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	if out.String() != strings.Repeat("ABC", 100000) || errb.String() != "done\n" {
		t.Fatalf("stdout %d bytes, stderr %q", out.Len(), errb.String())
	}
	both, err := Command("sh", "-c", "echo 1; echo 2 >&2; echo 3").CombinedOutput()
	if err != nil || string(both) != "1\n2\n3\n" {
		t.Fatalf("combined %q, %v", both, err)
	}
}

func TestCommandCommunicate(t *testing.T) {
	c := Command("sort")
	out, errOut, err := c.Communicate(context.Background(), []byte("b\nc\na\n"))
	if err != nil || string(out) != "a\nb\nc\n" || len(errOut) != 0 {
		t.Fatalf("sort: %q %q %v", out, errOut, err)
	}
	if code, _ := c.Process.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	// Large output on both streams never deadlocks.
	c = Command("sh", "-c", "head -c 3000000 /dev/zero; head -c 2000000 /dev/zero >&2")
	out, errOut, err = c.Communicate(context.Background(), nil)
	if err != nil || len(out) != 3000000 || len(errOut) != 2000000 {
		t.Fatalf("large: %d %d %v", len(out), len(errOut), err)
	}
}

func TestCommandCommunicateTimeoutLeavesChildRunning(t *testing.T) {
	c := Command("sleep", "30")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err := c.Communicate(ctx, nil)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("communicate: %v", err)
	}
	if !c.Process.IsAlive() {
		t.Fatal("child died on communicate timeout")
	}
	c.Process.Kill()
	err = c.Wait()
	var ee *ExitError
	if !errors.As(err, &ee) || !killedBy(ee, syscall.SIGKILL) {
		t.Fatalf("wait after kill: %v", err)
	}
}

// A done context kills the child and Wait reports the kill, as os/exec's
// (TestContext): an *ExitError "signal: killed", the context's error in
// ctx.Err().
func TestCommandContextKillsOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	err := CommandContext(ctx, "sleep", "30").Run()
	var ee *ExitError
	if !errors.As(err, &ee) || !killedBy(ee, syscall.SIGKILL) || err.Error() != "signal: killed" ||
		ctx.Err() != context.DeadlineExceeded || time.Since(begin) > 10*time.Second {
		t.Fatalf("run: %v after %v", err, time.Since(begin))
	}
}

// killedBy reports whether ee is the death of a signal sig, as os/exec
// shows it: ExitCode -1, the signal in Sys's WaitStatus.
func killedBy(ee *ExitError, sig syscall.Signal) bool {
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ee.ExitCode() == -1 && !ee.Exited() && ok && ws.Signaled() && ws.Signal() == sig && ee.Signal() == sig
}

func TestCommandPipes(t *testing.T) {
	c := Command("cat")
	w, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "through the pipe")
	w.Close()
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "through the pipe" {
		t.Fatalf("read %q, %v", got, err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestCommandKilledChildIsReported(t *testing.T) {
	c := Command("sleep", "30")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if c.Process.Pid() <= 0 {
		t.Fatal("no pid")
	}
	c.Process.Kill()
	var ee *ExitError
	if err := c.Wait(); !errors.As(err, &ee) || !killedBy(ee, syscall.SIGKILL) {
		t.Fatalf("wait: %v", err)
	}
}
