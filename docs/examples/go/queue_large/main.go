// A large message through a small queue (Python: q.put(data) of a big
// object, q.get()): 16 MiB streamed through a 64 KiB ring in pieces.
// Port of docs/examples/c/example_queue_large.c; same output.
package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"

	"multiproc.dev/multiproc"
)

const (
	ringBytes    = 65536
	messageBytes = 16 << 20
)

// makeData is deterministic test data (a 32-bit LCG), as in the C port.
func makeData(n int) []byte {
	buf := make([]byte, n)
	x := uint32(12345)
	for i := range buf {
		x = x*1664525 + 1013904223
		buf[i] = byte(x >> 24)
	}
	return buf
}

func checksum(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// producer is def producer(q).
func producer([]byte) int {
	q, err := multiproc.OpenQueue(0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer q.Close()
	data := makeData(messageBytes)
	fmt.Printf("child: put %d bytes, checksum %016x\n", len(data), checksum(data))
	if err := q.Put(context.Background(), data); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := q.Put(context.Background(), []byte("end")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func main() {
	multiproc.Register("producer", producer)
	multiproc.Main()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	q, err := multiproc.NewQueueWith(multiproc.QueueOptions{MaxBytes: ringBytes})
	if err != nil {
		return err
	}
	defer q.Close()
	defer q.Shutdown() // on a failure, a producer blocked in put returns
	fmt.Printf("main: queue of %d bytes\n", ringBytes)
	p, err := multiproc.NewProcess("producer", nil, &multiproc.ProcessOptions{Handles: []multiproc.Handle{q}})
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.Start(); err != nil {
		return err
	}
	// Too small a buffer: the message stays queued, the size comes back.
	small := make([]byte, 4096)
	n, err := q.GetInto(ctx, small)
	var e *multiproc.Error
	if !errors.As(err, &e) || e.Code != multiproc.ErrNoSpace {
		return fmt.Errorf("get into a small buffer: %v", err)
	}
	fmt.Printf("main: get_into a %d-byte buffer -> %s, needs %d bytes\n", len(small), e.Code.Name(), n)
	data, err := q.Get(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("main: got %d bytes, checksum %016x\n", len(data), checksum(data))
	end, err := q.Get(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("main: then got %q\n", end)
	if err := p.Join(ctx); err != nil {
		return err
	}
	code, err := p.ExitCode()
	if err != nil {
		return err
	}
	fmt.Printf("main: %s exited with %d\n", p.Name(), code)
	if code != 0 {
		return errors.New("producer failed")
	}
	return nil
}
