// Ticket grabbing without and with a Lock (Python: every buyer reads the
// count, waits, writes it back one lower; lock.acquire() around get()).
// The count is a shared Value; a Barrier of all buyers forces the race
// every time in the first round (everybody reads before anybody writes).
// Port of docs/examples/c/example_tickets.c; same output.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"multiproc.dev/multiproc"
)

const (
	tickets = 3
	buyers  = 10
	wait    = 10 * time.Second // a buyer that never comes is an error
	// stats' elements (an Array('q', 2), changed with atomic adds).
	sold, refused = 0, 1
)

// shop is what a buyer works with; lock is nil in the round without it.
type shop struct {
	tickets, stats *multiproc.Value
	everybody      *multiproc.Barrier
	lock           *multiproc.Lock
}

func (s *shop) handles() []multiproc.Handle {
	h := []multiproc.Handle{s.tickets, s.stats, s.everybody}
	if s.lock != nil {
		h = append(h, s.lock)
	}
	return h
}

// Close releases what was opened (a nil field was not).
func (s *shop) Close() {
	if s.tickets != nil {
		s.tickets.Close()
	}
	if s.stats != nil {
		s.stats.Close()
	}
	if s.everybody != nil {
		s.everybody.Close()
	}
	if s.lock != nil {
		s.lock.Close()
	}
}

// openShop opens, in a buyer, the handles in the order of handles().
func openShop(withLock bool) (*shop, error) {
	s := &shop{}
	var err error
	if s.tickets, err = multiproc.OpenValue(0); err != nil {
		return s, err
	}
	if s.stats, err = multiproc.OpenValue(1); err != nil {
		return s, err
	}
	if s.everybody, err = multiproc.OpenBarrier(2); err != nil {
		return s, err
	}
	if withLock {
		s.lock, err = multiproc.OpenLock(3)
	}
	return s, err
}

// search is def search(): print the tickets left.
func (s *shop) search() error {
	count, err := s.tickets.Int(0)
	if err == nil {
		fmt.Printf("tickets left: %d\n", count)
	}
	return err
}

// waitForEverybody is the Python's time.sleep(0.1): all buyers meet.
func (s *shop) waitForEverybody() error {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := s.everybody.Wait(ctx)
	return err
}

// get is def get(): read the count, (delay), write it back one lower.
// With race set the delay is the barrier: every buyer reads before
// anyone writes.
func (s *shop) get(race bool) error {
	count, err := s.tickets.Int(0)
	if err != nil {
		return err
	}
	if race {
		if err := s.waitForEverybody(); err != nil {
			return err
		}
	}
	if count <= 0 {
		_, err = s.stats.Add(refused, 1)
		fmt.Println("sorry, sold out")
		return err
	}
	if err := s.tickets.SetInt(0, count-1); err != nil { // json.dump
		return err
	}
	_, err = s.stats.Add(sold, 1)
	fmt.Println("bought a ticket")
	return err
}

// buy is the rest of def task(lock), after search().
func (s *shop) buy() error {
	if s.lock == nil {
		return s.get(true)
	}
	if err := s.waitForEverybody(); err != nil { // everybody has looked
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.lock.Acquire(ctx); err != nil { // lock.acquire()
		return err
	}
	defer s.lock.Release() // lock.release()
	return s.get(false)
}

// task is def task(lock); the argument is "0" (no lock) or "1".
func task(arg []byte) int {
	s, err := openShop(string(arg) == "1")
	defer s.Close()
	if err == nil {
		err = s.search()
	}
	if err == nil {
		err = s.buy()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func main() {
	multiproc.Register("task", task)
	multiproc.Main()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func newShop() (*shop, error) {
	s := &shop{}
	var err error
	if s.tickets, err = multiproc.NewValue(multiproc.Int64, 1, false); err != nil {
		return s, err
	}
	if s.stats, err = multiproc.NewValue(multiproc.Int64, 2, false); err != nil {
		return s, err
	}
	if s.everybody, err = multiproc.NewBarrier(buyers); err != nil {
		return s, err
	}
	s.lock, err = multiproc.NewLock() // lock = Lock()
	return s, err
}

// reset puts the tickets back on sale and zeroes the statistics.
func (s *shop) reset() error {
	for _, set := range []struct {
		v  *multiproc.Value
		i  int
		to int64
	}{{s.tickets, 0, tickets}, {s.stats, sold, 0}, {s.stats, refused, 0}} {
		if err := set.v.SetInt(set.i, set.to); err != nil {
			return err
		}
	}
	return nil
}

// totals reads the count and the statistics after a round.
func (s *shop) totals() (left, nSold, nRefused int64, err error) {
	if left, err = s.tickets.Int(0); err != nil {
		return
	}
	if nSold, err = s.stats.Int(sold); err != nil {
		return
	}
	nRefused, err = s.stats.Int(refused)
	return
}

// runRound starts the buyers of one round, joins them all (also after a
// failure: a buyer waiting at the barrier for one that never came times
// out) and requires exit code 0.
func runRound(s *shop, withLock bool) error {
	round := *s
	arg := "1"
	if !withLock {
		round.lock, arg = nil, "0"
	}
	var started []*multiproc.Process
	var err error
	for i := 0; i < buyers && err == nil; i++ {
		var p *multiproc.Process
		p, err = multiproc.NewProcess("task", []byte(arg),
			&multiproc.ProcessOptions{Handles: round.handles()})
		if err == nil {
			defer p.Close()
			if err = p.Start(); err == nil {
				started = append(started, p)
			}
		}
	}
	for _, p := range started {
		if jerr := p.Join(context.Background()); jerr != nil && err == nil {
			err = jerr
		} else if code, _ := p.ExitCode(); code != 0 && err == nil {
			err = fmt.Errorf("%s exited with %d", p.Name(), code)
		}
	}
	return err
}

func run() error {
	s, err := newShop()
	defer s.Close()
	if err != nil {
		return err
	}

	fmt.Printf("== %d buyers, %d tickets, no lock ==\n", buyers, tickets)
	if err := s.reset(); err != nil {
		return err
	}
	if err := runRound(s, false); err != nil {
		return err
	}
	left, nSold, nRefused, err := s.totals()
	if err != nil {
		return err
	}
	fmt.Printf("no lock: %d sold, %d refused, the count says %d left: oversold by %d\n",
		nSold, nRefused, left, nSold-tickets)
	if nSold != buyers || left != tickets-1 {
		return fmt.Errorf("the race did not happen as forced")
	}

	fmt.Printf("== %d buyers, %d tickets, with a lock ==\n", buyers, tickets)
	if err := s.reset(); err != nil {
		return err
	}
	if err := runRound(s, true); err != nil {
		return err
	}
	if left, nSold, nRefused, err = s.totals(); err != nil {
		return err
	}
	fmt.Printf("with a lock: %d sold, %d refused, %d left\n", nSold, nRefused, left)
	if nSold != tickets || nRefused != buyers-tickets || left != 0 {
		return fmt.Errorf("the lock did not serialise the buyers")
	}
	return nil
}
