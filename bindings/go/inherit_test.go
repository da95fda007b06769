package multiproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

// The test binary run as a command by TestPassSharedObjectsToCommand
// (MP_GO_TEST_INHERIT=1): it opens what the parent passed by name and
// exits with 0 when everything behaved.
func init() {
	if os.Getenv("MP_GO_TEST_INHERIT") == "1" {
		if err := inheritChild(); err != nil {
			fmt.Fprintln(os.Stderr, "inherit child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

func inheritChild() error {
	lock, err := InheritLock("lock")
	if err != nil {
		return err
	}
	defer lock.Close()
	dict, err := InheritDict("dict")
	if err != nil {
		return err
	}
	defer dict.Close()
	seen, err := InheritEvent("held_seen")
	if err != nil {
		return err
	}
	defer seen.Close()
	if _, err := InheritLock("nothing_here"); !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("InheritLock of an unknown name: %v, want ErrNotFound", err)
	}
	if _, err := InheritEvent("lock"); !errors.Is(err, ErrInvalid) {
		return fmt.Errorf("InheritEvent of a lock: %v, want ErrInvalid", err)
	}
	// The parent holds the lock until the event is set.
	if ok, err := lock.TryAcquire(); ok || err != nil {
		return fmt.Errorf("TryAcquire of the parent's lock = %v, %v; want false", ok, err)
	}
	if err := seen.Set(); err != nil {
		return err
	}
	if err := lock.AcquireTimeout(30 * time.Second); err != nil {
		return err
	}
	defer lock.Release()
	_, err = dict.Incr([]byte("n"), 1)
	return err
}

// A lock, an event and a dict reach a command by name (Cmd.Pass); the
// command sees the lock held by the parent and counts in the dict.
func TestPassSharedObjectsToCommand(t *testing.T) {
	lock, err := NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	dict, err := NewDict(16, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer dict.Close()
	seen, err := NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	defer seen.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := Command(exe)
	c.Env = append(os.Environ(), "MP_GO_TEST_INHERIT=1")
	c.Stderr = os.Stderr
	c.Pass("lock", lock)
	c.Pass("dict", dict)
	c.Pass("held_seen", seen)
	if err := lock.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if err := seen.WaitTimeout(30 * time.Second); err != nil {
		t.Fatalf("the command never saw the lock held: %v", err)
	}
	if err := lock.Release(); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("command: %v", err)
	}
	if n, err := dict.Incr([]byte("n"), 0); err != nil || n != 1 {
		t.Fatalf("dict n = %d, %v; want 1", n, err)
	}
}

func TestPassErrors(t *testing.T) {
	if _, err := InheritDict("not_passed"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("InheritDict without a pass: %v, want ErrNotFound", err)
	}
	if _, err := InheritLock("a b"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("InheritLock of a bad name: %v, want ErrInvalid", err)
	}
	lock, err := NewLock()
	if err != nil {
		t.Fatal(err)
	}
	lock.Close()
	c := Command("/bin/true")
	c.Pass("lock", lock)
	if err := c.Run(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run with a closed lock passed: %v, want ErrClosed", err)
	}
	c = Command("/bin/true")
	c.Pass("bad-name", mustEvent(t))
	if err := c.Run(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Run with a bad pass name: %v, want ErrInvalid", err)
	}
}

func mustEvent(t *testing.T) *Event {
	e, err := NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
