package multiproc

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// grandchildHolding returns a shell script prefix that starts a
// grandchild holding the command's stdin, stdout and stderr open for 30 s, and
// the cleanup that kills it (its pid goes through a file, so that the
// command's output stays the test's).
func grandchildHolding(t *testing.T) string {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Cleanup(func() {
		b, err := os.ReadFile(pidFile)
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	// An asynchronous list's stdin is /dev/null before its redirections:
	// the shell's stdin goes to it through descriptor 3.
	return "exec 3<&0; sleep 30 <&3 3<&- & echo $! > " + pidFile + "; exec 3<&-; "
}

// quick runs f and fails if it took longer than limit.
func quick(t *testing.T, what string, limit time.Duration, f func()) {
	t.Helper()
	start := time.Now()
	f()
	if took := time.Since(start); took > limit {
		t.Errorf("%s took %v (limit %v)", what, took, limit)
	}
}

func TestOutputDoesNotWaitForAGrandchild(t *testing.T) {
	var out []byte
	var err error
	quick(t, "Output", 2*time.Second, func() {
		out, err = Command("sh", "-c", grandchildHolding(t)+"echo hi").Output()
	})
	if err != nil || string(out) != "hi\n" {
		t.Fatalf("Output: %q %v", out, err)
	}
	quick(t, "CombinedOutput", 2*time.Second, func() {
		out, err = Command("sh", "-c", grandchildHolding(t)+"echo hi; echo ho >&2").CombinedOutput()
	})
	if err != nil || string(out) != "hi\nho\n" {
		t.Fatalf("CombinedOutput: %q %v", out, err)
	}
	var buf bytes.Buffer
	quick(t, "Run with a buffer", 2*time.Second, func() {
		c := Command("sh", "-c", grandchildHolding(t)+"echo hi; exit 3")
		c.Stdout = &buf
		err = c.Run()
	})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || buf.String() != "hi\n" {
		t.Fatalf("Run: %q %v", buf.String(), err)
	}
}

// The stdin feeder stops too: a grandchild holding stdin without reading
// it does not keep Run waiting for a write that never completes.
func TestRunDoesNotWaitForAGrandchildHoldingStdin(t *testing.T) {
	var err error
	quick(t, "Run with a large Stdin", 2*time.Second, func() {
		c := Command("sh", "-c", grandchildHolding(t)+"exit 0")
		c.Stdin = bytes.NewReader(make([]byte, 4<<20))
		err = c.Run()
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestCommandContextDeadlineBoundsOutput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var err error
	quick(t, "Output with a 200ms context", 1500*time.Millisecond, func() {
		_, err = CommandContext(ctx, "sh", "-c", grandchildHolding(t)+"echo hi; sleep 30").Output()
	})
	var ee *ExitError
	if !errors.As(err, &ee) || !killedBy(ee, syscall.SIGKILL) || ctx.Err() == nil {
		t.Fatalf("Output: %v", err)
	}
}

// Within WaitDelay, what a grandchild writes is still copied.
func TestWaitDelayKeepsCopying(t *testing.T) {
	c := Command("sh", "-c", "(sleep 0.3; echo late) & echo hi")
	c.WaitDelay = 20 * time.Second
	out, err := c.Output()
	if err != nil || string(out) != "hi\nlate\n" {
		t.Fatalf("Output with WaitDelay 20s: %q %v", out, err)
	}
}
