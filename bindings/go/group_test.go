package multiproc

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A shell whose child (the test's grandchild) sleeps; the shell prints the
// grandchild's pid and waits for it.
const grandchildScript = "sleep 60 & echo $!; wait"

// alive reports whether pid is a live process (a zombie is dead).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// startWithGrandchild starts c (sh -c grandchildScript) and returns the
// grandchild's pid; the test's cleanup kills it if it still lives.
func startWithGrandchild(t *testing.T, c *Cmd) int {
	t.Helper()
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the grandchild's pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		t.Fatalf("grandchild pid %q", line)
	}
	t.Cleanup(func() {
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		c.Process.Kill()
		c.Process.Join(context.Background())
	})
	return pid
}

// expectDead waits (generously) for pid to end.
func expectDead(t *testing.T, what string, pid int) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if !alive(pid) {
			return
		}
	}
	t.Errorf("%s: the grandchild %d still lives 5 s later", what, pid)
}

func TestNewGroupSignalReachesTheGrandchild(t *testing.T) {
	c := Command("sh", "-c", grandchildScript)
	c.NewGroup = true
	gc := startWithGrandchild(t, c)
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	expectDead(t, "Signal", gc)
	if err := c.Process.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.Process.ExitCode(); code != -int(syscall.SIGTERM) {
		t.Errorf("exit code %d, want %d", code, -int(syscall.SIGTERM))
	}
}

func TestNewGroupKillReachesTheGrandchild(t *testing.T) {
	c := Command("sh", "-c", grandchildScript)
	c.NewGroup = true
	gc := startWithGrandchild(t, c)
	if err := c.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	expectDead(t, "Kill", gc)
	if err := c.Process.Terminate(); err != nil { // the group is gone: a no-op
		t.Fatalf("terminate after the group ended: %v", err)
	}
}

func TestNewGroupContextCancelReachesTheGrandchild(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := CommandContext(ctx, "sh", "-c", grandchildScript)
	c.NewGroup = true
	gc := startWithGrandchild(t, c)
	cancel()
	var ee *ExitError
	if err := c.Wait(); !errors.As(err, &ee) || !killedBy(ee, syscall.SIGKILL) {
		t.Fatalf("Wait after cancel: %v", err)
	}
	expectDead(t, "context cancel", gc)
}

// Without NewGroup a signal reaches the child only (os/exec's behaviour).
func TestWithoutNewGroupSignalReachesTheChildOnly(t *testing.T) {
	c := Command("sh", "-c", grandchildScript)
	gc := startWithGrandchild(t, c)
	if err := c.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.Process.Join(context.Background())
	if !alive(gc) {
		t.Fatal("the grandchild died with its parent, without NewGroup")
	}
}

func TestStopTerminatesTheGroup(t *testing.T) {
	c := Command("sh", "-c", grandchildScript)
	c.NewGroup = true
	gc := startWithGrandchild(t, c)
	if err := c.Process.Stop(&StopOptions{Grace: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if c.Process.IsAlive() {
		t.Fatal("alive after Stop")
	}
	if code, _ := c.Process.ExitCode(); code != -int(syscall.SIGTERM) {
		t.Errorf("exit code %d, want %d", code, -int(syscall.SIGTERM))
	}
	expectDead(t, "Stop", gc)
}

// A child that ignores SIGTERM is killed once the grace period passed.
func TestStopKillsAfterTheGracePeriod(t *testing.T) {
	c := Command("sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done")
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Process.Kill()
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Process.Stop(&StopOptions{Grace: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 200*time.Millisecond || took > 5*time.Second {
		t.Errorf("Stop took %v with a grace of 200ms", took)
	}
	if code, _ := c.Process.ExitCode(); code != -int(syscall.SIGKILL) {
		t.Errorf("exit code %d, want %d", code, -int(syscall.SIGKILL))
	}
	// Stopping an ended process does nothing.
	if err := c.Process.Stop(nil); err != nil {
		t.Fatalf("Stop of an ended process: %v", err)
	}
}

func TestStopOptionsErrors(t *testing.T) {
	c := Command("sleep", "60")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Kill(); c.Process.Join(context.Background()) }()
	if err := c.Process.Stop(&StopOptions{Signal: syscall.SIGUSR1}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Stop with SIGUSR1: %v", err)
	}
	if err := c.Process.Stop(&StopOptions{Signal: syscall.SIGINT, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.Process.ExitCode(); code != -int(syscall.SIGINT) {
		t.Errorf("exit code %d, want %d", code, -int(syscall.SIGINT))
	}
}
