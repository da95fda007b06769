// Processes that run a function (Python: Process(target=run_proc,
// args=(name,)), start(), join(), current_process().name, exitcode).
// Port of docs/examples/c/example_start_join.c; same output.
package main

import (
	"context"
	"fmt"
	"os"

	"multiproc.dev/multiproc"
)

// runProc is the target: def run_proc(name). Its return value is the
// child's exit code.
func runProc(arg []byte) int {
	fmt.Printf("Run child process %s (%s)...\n", arg, multiproc.CurrentName())
	fmt.Printf("process %s is done\n", arg)
	return 0
}

func main() {
	multiproc.Register("run_proc", runProc)
	multiproc.Main() // a child runs its target here and exits
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	names := []string{"alpha", "beta", "gamma"}
	fmt.Printf("Parent process %s.\n", multiproc.CurrentName())
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
