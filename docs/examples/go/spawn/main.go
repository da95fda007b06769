// The `if __name__ == '__main__'` guard and the spawn start method: a
// child is a new execution of the program and does not see the parent's
// state. In Go every child is spawned; Main is the guard.
// Port of docs/examples/c/example_spawn.c; same output.
package main

import (
	"context"
	"fmt"
	"os"

	"multiproc.dev/multiproc"
)

var parentState int // set by the parent only: a spawned child sees 0

func runProc(arg []byte) int {
	fmt.Printf("Run child process %s (%s): is_child=%d g_parent_state=%d parent_pid_ok=%d\n",
		arg, multiproc.CurrentName(), b2i(multiproc.IsChild()), parentState,
		b2i(multiproc.ParentPid() == os.Getppid()))
	return 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func main() {
	// ---- the `if __name__ == '__main__'` guard ----
	multiproc.Register("run_proc", runProc)
	multiproc.Main() // a spawned child never returns from here
	// ---- from here on: only the parent ----
	parentState = 42
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	names := []string{"alpha", "beta", "gamma"}
	fmt.Printf("Parent process %s: is_child=%d g_parent_state=%d\n",
		multiproc.CurrentName(), b2i(multiproc.IsChild()), parentState)
	fmt.Println("Process will start.")
	var record []*multiproc.Process
	for _, name := range names {
		p, err := multiproc.NewProcess("run_proc", []byte(name), nil)
		if err != nil {
			return err
		}
		defer p.Close()
		if err := p.Start(); err != nil {
			return err
		}
		record = append(record, p)
	}
	// Join every child before reporting, so that the children's lines
	// come first (a spawned child starts later than a forked one).
	for _, p := range record {
		if err := p.Join(context.Background()); err != nil {
			return err
		}
	}
	for i, p := range record {
		code, err := p.ExitCode()
		if err != nil {
			return err
		}
		fmt.Printf("%s (%s) exited with %d\n", p.Name(), names[i], code)
		if code != 0 {
			return fmt.Errorf("%s failed", p.Name())
		}
	}
	fmt.Println("Process end.")
	return nil
}
