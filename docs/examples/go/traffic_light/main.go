// A traffic light: cars wait on an Event that a light process sets
// (green) and clears (red). Python's light never stops and its cars come
// at random times; here 4 cars arrive at red and wait, the light changes
// 5 times (green, red, green, red, green) and stays green, and 2 late
// cars drive straight through. A Barrier makes the light start changing
// only once every early car has looked.
// Port of docs/examples/c/example_traffic_light.c; same output.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"multiproc.dev/multiproc"
)

const (
	firstCars = 4
	lateCars  = 2
	changes   = 5 // green, red, green, red, green
	interval  = 150 * time.Millisecond
	wait      = 10 * time.Second // longer means a bug: fail instead of hanging
	// stats' elements: cars that waited at red, cars that passed.
	waited, passed = 0, 1
)

// crossing is what a car or the light works with; handles are passed in
// this order.
type crossing struct {
	green   *multiproc.Event // set: green, clear: red
	arrived *multiproc.Barrier
	stats   *multiproc.Value
}

func (c *crossing) handles() []multiproc.Handle {
	return []multiproc.Handle{c.green, c.arrived, c.stats}
}

// Close releases what was opened (a nil field was not).
func (c *crossing) Close() {
	if c.green != nil {
		c.green.Close()
	}
	if c.arrived != nil {
		c.arrived.Close()
	}
	if c.stats != nil {
		c.stats.Close()
	}
}

// openCrossing opens, in a child, what the parent passed.
func openCrossing() (*crossing, error) {
	c := &crossing{}
	var err error
	if c.green, err = multiproc.OpenEvent(0); err != nil {
		return c, err
	}
	if c.arrived, err = multiproc.OpenBarrier(1); err != nil {
		return c, err
	}
	c.stats, err = multiproc.OpenValue(2)
	return c, err
}

// meet waits at the barrier until every early car and the light are there.
func (c *crossing) meet() error {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := c.arrived.Wait(ctx)
	return err
}

// waitWithin is e.wait() with the example's bound on every wait.
func waitWithin(e *multiproc.Event, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return e.Wait(ctx)
}

// drive is def car(e, n).
func (c *crossing) drive(n int) error {
	if c.green.IsSet() {
		fmt.Printf("car%d: green light, drives straight through\n", n)
	} else {
		fmt.Printf("car%d: red light, waits\n", n)
		if _, err := c.stats.Add(waited, 1); err != nil {
			return err
		}
		if err := c.meet(); err != nil { // this car has looked
			return err
		}
		if err := waitWithin(c.green, wait); err != nil { // e.wait()
			return err
		}
		fmt.Printf("car%d: green light, drives off\n", n)
	}
	_, err := c.stats.Add(passed, 1)
	return err
}

// changeLights is def traffic_lights(e, interval), changes times, then
// green for good.
func (c *crossing) changeLights() error {
	if err := c.meet(); err != nil { // every car has looked
		return err
	}
	for i := 1; i <= changes; i++ {
		time.Sleep(interval)
		if c.green.IsSet() {
			if err := c.green.Clear(); err != nil { // e.clear()
				return err
			}
			fmt.Println("light: red")
			continue
		}
		if err := c.green.Set(); err != nil { // e.set()
			return err
		}
		if i == changes {
			fmt.Println("light: green, out of service, stays green")
		} else {
			fmt.Println("light: green")
		}
	}
	return nil
}

// child runs f on the crossing the parent passed: exit code 0 or 1.
func child(f func(c *crossing) error) int {
	c, err := openCrossing()
	defer c.Close()
	if err == nil {
		err = f(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func car(arg []byte) int {
	n, err := strconv.Atoi(string(arg))
	if err != nil {
		return 2
	}
	return child(func(c *crossing) error { return c.drive(n) })
}

func trafficLights([]byte) int {
	return child((*crossing).changeLights)
}

func main() {
	multiproc.Register("car", car)
	multiproc.Register("traffic_lights", trafficLights)
	multiproc.Main()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func newCrossing() (*crossing, error) {
	c := &crossing{}
	var err error
	if c.green, err = multiproc.NewEvent(); err != nil { // e = Event(): clear, red
		return c, err
	}
	if c.arrived, err = multiproc.NewBarrier(firstCars + 1); err != nil { // the cars and the light
		return c, err
	}
	c.stats, err = multiproc.NewValue(multiproc.Int64, 2, false)
	return c, err
}

// start creates and starts one child of target with the crossing's handles.
func start(c *crossing, target string, arg []byte) (*multiproc.Process, error) {
	p, err := multiproc.NewProcess(target, arg, &multiproc.ProcessOptions{Handles: c.handles()})
	if err != nil {
		return nil, err
	}
	if err := p.Start(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// joinAll joins the children and requires exit code 0 of each.
func joinAll(procs []*multiproc.Process) error {
	for _, p := range procs {
		if err := p.Join(context.Background()); err != nil {
			return err
		}
		if code, _ := p.ExitCode(); code != 0 {
			return fmt.Errorf("%s exited with %d", p.Name(), code)
		}
	}
	return nil
}

// arrive starts cars number first to last, then the light if asked, and
// joins them all. After a failure, children still running end through
// their timeouts.
func arrive(c *crossing, first, last int, light bool) error {
	var procs []*multiproc.Process
	defer func() {
		for _, p := range procs {
			p.Close()
		}
	}()
	for n := first; n <= last; n++ {
		p, err := start(c, "car", []byte(strconv.Itoa(n)))
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}
	if light {
		p, err := start(c, "traffic_lights", nil)
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}
	return joinAll(procs)
}

func run() error {
	c, err := newCrossing()
	defer c.Close()
	if err != nil {
		return err
	}
	fmt.Printf("main: the light is red, %d cars arrive\n", firstCars)
	if err := arrive(c, 1, firstCars, true); err != nil {
		return err
	}
	color := "red"
	if c.green.IsSet() {
		color = "green"
	}
	fmt.Printf("main: the light process ended; the light is %s\n", color)
	fmt.Printf("main: %d more cars arrive\n", lateCars)
	if err := arrive(c, firstCars+1, firstCars+lateCars, false); err != nil {
		return err
	}
	nWaited, err := c.stats.Int(waited)
	if err != nil {
		return err
	}
	nPassed, err := c.stats.Int(passed)
	if err != nil {
		return err
	}
	fmt.Printf("main: %d cars passed, %d of them after waiting at red\n", nPassed, nWaited)
	if nPassed != firstCars+lateCars || nWaited != firstCars {
		return fmt.Errorf("the cars did not pass as expected")
	}
	return nil
}
