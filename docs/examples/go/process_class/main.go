// A process "class" (Python: class ClockProcess(Process) with __init__
// state and run()); the child's changes stay in the child.
// Port of docs/examples/c/example_process_class.c; same output.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"multiproc.dev/multiproc"
)

// ClockProcess is the instance state, copied to the child as JSON.
type ClockProcess struct {
	Person   string
	Interval time.Duration
	Rounds   int
	Ticks    int
}

// Run is ClockProcess.run in the child; the exit code carries the ticks.
func (c *ClockProcess) Run() int {
	for n := 0; n < c.Rounds; n++ {
		time.Sleep(c.Interval)
		c.Ticks++
		fmt.Printf("ClockProcess(%s) in %s: tick %d\n", c.Person, multiproc.CurrentName(), c.Ticks)
	}
	return c.Ticks
}

func main() {
	multiproc.Register("ClockProcess.run", func(arg []byte) int {
		var c ClockProcess
		if json.Unmarshal(arg, &c) != nil {
			return 255
		}
		return c.Run()
	})
	multiproc.Main()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	people := []string{"Jedan", "Taibai"}
	var objs []*ClockProcess
	var procs []*multiproc.Process
	for _, person := range people {
		obj := &ClockProcess{Person: person, Interval: 50 * time.Millisecond, Rounds: 3}
		arg, _ := json.Marshal(obj)
		p, err := multiproc.NewProcess("ClockProcess.run", arg, &multiproc.ProcessOptions{Name: person})
		if err != nil {
			return err
		}
		defer p.Close()
		if err := p.Start(); err != nil {
			return err
		}
		objs = append(objs, obj)
		procs = append(procs, p)
	}
	// Join both before reporting: the ticks of a slower child come first.
	for _, p := range procs {
		if err := p.Join(context.Background()); err != nil {
			return err
		}
	}
	for i, p := range procs {
		code, err := p.ExitCode()
		if err != nil {
			return err
		}
		fmt.Printf("%s: child counted %d ticks, parent's copy still has %d\n", p.Name(), code, objs[i].Ticks)
		if code != objs[i].Rounds {
			return fmt.Errorf("%s counted %d", p.Name(), code)
		}
	}
	return nil
}
