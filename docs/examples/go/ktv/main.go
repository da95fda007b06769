// A Semaphore(3): 10 guests, at most 3 in the KTV rooms at once; the
// maximum is measured with a shared counter. Port of
// docs/examples/c/example_ktv.c; same output.
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
	rooms  = 3
	guests = 10
	// room's elements: the guests inside now, the most ever inside.
	inside, maxInside = 0, 1
	wait              = 30 * time.Second
)

// raiseMax raises room[maxInside] to at least n.
func raiseMax(room *multiproc.Value, n int64) error {
	seen, err := room.Int(maxInside)
	for err == nil && seen < n {
		var ok bool
		ok, seen, err = room.CompareAndSwap(maxInside, seen, n)
		if ok {
			break
		}
	}
	return err
}

// sing is the time in the room, once the house has been full.
func sing(room *multiproc.Value, full *multiproc.Event, guest int) error {
	n, err := room.Add(inside, 1)
	if err != nil {
		return err
	}
	if err := raiseMax(room, n); err != nil {
		return err
	}
	if n == rooms {
		if err := full.Set(); err != nil {
			return err
		}
	}
	fmt.Printf("user%d got a KTV room\n", guest)
	fullCtx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := full.Wait(fullCtx); err != nil {
		return err
	}
	time.Sleep(time.Duration(10+10*(guest%3)) * time.Millisecond) // guests stay for different times
	_, err = room.Add(inside, -1)
	return err
}

// goKTV is def go_ktv(sem, user).
func goKTV(arg []byte) int {
	guest, _ := strconv.Atoi(string(arg))
	sem, err1 := multiproc.OpenSemaphore(0)
	room, err2 := multiproc.OpenValue(1)
	full, err3 := multiproc.OpenEvent(2)
	if err1 != nil || err2 != nil || err3 != nil {
		fmt.Fprintln(os.Stderr, err1, err2, err3)
		return 1
	}
	semCtx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := sem.Acquire(semCtx); err != nil { // sem.acquire()
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	err := sing(room, full, guest)
	sem.Release() // sem.release()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func main() {
	multiproc.Register("go_ktv", goKTV)
	multiproc.Main()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	sem, err := multiproc.NewSemaphore(rooms) // sem = Semaphore(3)
	if err != nil {
		return err
	}
	defer sem.Close()
	room, err := multiproc.NewValue(multiproc.Int64, 2, false)
	if err != nil {
		return err
	}
	defer room.Close()
	full, err := multiproc.NewEvent()
	if err != nil {
		return err
	}
	defer full.Close()
	var procs []*multiproc.Process
	for i := 0; i < guests; i++ {
		p, err := multiproc.NewProcess("go_ktv", []byte(strconv.Itoa(i)),
			&multiproc.ProcessOptions{Handles: []multiproc.Handle{sem, room, full}})
		if err != nil {
			return err
		}
		defer p.Close()
		if err := p.Start(); err != nil {
			return err
		}
		procs = append(procs, p)
	}
	for i, p := range procs {
		if err := p.Join(context.Background()); err != nil {
			return err
		}
		if code, _ := p.ExitCode(); code != 0 {
			return fmt.Errorf("user%d exited with %d", i, code)
		}
	}
	most, _ := room.Int(maxInside)
	now, _ := room.Int(inside)
	free := sem.Value()
	fmt.Printf("max inside: %d\n", most)
	fmt.Printf("inside now: %d, rooms free: %d\n", now, free)
	fmt.Println("=====>")
	if most != rooms || now != 0 || free != rooms {
		return fmt.Errorf("the semaphore did not hold")
	}
	return nil
}
