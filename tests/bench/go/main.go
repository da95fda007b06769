// The Go benchmarks of multiproc, beside the C ones of tests/bench:
//
//	multiproc-go-bench [--quick] [NAME...]
//
// prints `BENCH <name> <impl> <value> <unit>` for each NAME (default all),
// the median of the batches:
//
//	queue_64B_1to1 go        msg/s: one producer process (a spawned
//	                         child) puts N 64-byte messages and an empty
//	                         end message; one consumer (this process)
//	                         gets into its own buffer; timed from the
//	                         first put to the last get, as bench_ipc.c
//	queue_64B_1to1 go_many   msg/s: the same with Queue.PutMany of 256
//	                         messages and Queue.GetMany into one buffer
//	                         (up to 256 per call), as bench_ipc.c's
//	                         multiproc_many
//	queue_64B_1to1 go_typed_json
//	                         msg/s: the same through TypedQueue[benchItem]
//	                         with the default JSON codec (a struct of
//	                         five fields, 64 bytes of JSON): Put encodes,
//	                         Get takes a fresh []byte and decodes; its
//	                         ratio to go is the typed path's cost
//	pool_map_chunk1 go       us/task: Pool.Map of an echo task over 10000
//	                         16-byte arguments, chunksize 1, 2 workers
//	run_true go / go_exec    us: run /bin/true and wait, with multiproc's
//	                         Command and with os/exec
//	spawn_forkserver go / go_spawn
//	                         us: NewProcess + Start + Join of a no-op
//	                         target, StartForkserver / StartSpawn
//
// tests/bench/run runs it (its BINDINGS table) when the build has it
// (-Dgo=enabled) and shows these figures beside the C ones, with the
// targets: queue go >= 1/2 of C's multiproc, run_true go <= 1.1x go_exec.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"time"

	"multiproc.dev/multiproc"
)

const msgSize = 64

var quick bool

func main() {
	multiproc.Register("bench_producer", producer)
	multiproc.Register("bench_producer_many", producerMany)
	multiproc.Register("bench_producer_typed", producerTyped)
	multiproc.RegisterTask("bench_echo", func(arg []byte) ([]byte, error) { return arg, nil })
	multiproc.Register("bench_noop", func([]byte) int { return 0 })
	multiproc.Main()

	names := []string{}
	for _, a := range os.Args[1:] {
		if a == "--quick" {
			quick = true
		} else {
			names = append(names, a)
		}
	}
	if len(names) == 0 {
		names = []string{"queue_64B_1to1", "pool_map_chunk1", "run_true", "spawn_forkserver"}
	}
	for _, name := range names {
		var err error
		switch name {
		case "queue_64B_1to1":
			err = benchQueue()
		case "pool_map_chunk1":
			err = benchPoolMap()
		case "run_true":
			err = benchRunTrue()
		case "spawn_forkserver":
			err = benchStartJoin()
		default:
			err = fmt.Errorf("unknown benchmark %q", name)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "multiproc-go-bench:", name+":", err)
			os.Exit(1)
		}
	}
}

func batches() int {
	if quick {
		return 3
	}
	return 5
}

func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}

// producer is the child of queue_64B_1to1: handles queue 0, event 1 (go)
// and value 2 (the start time, ns); arg is the message count.
func producer(arg []byte) int {
	msg := bytes.Repeat([]byte{'x'}, msgSize)
	return produce(arg, func(q *multiproc.Queue, n int) error {
		for i := 0; i < n; i++ {
			if err := q.Put(context.Background(), msg); err != nil {
				return err
			}
		}
		return nil
	})
}

// manyBatch is the batch size of go_many (bench_ipc.c's MANY).
const manyBatch = 256

// producerMany is producer with PutMany of manyBatch messages at a time.
func producerMany(arg []byte) int {
	batch := make([][]byte, manyBatch)
	for i := range batch {
		batch[i] = bytes.Repeat([]byte{'x'}, msgSize)
	}
	return produce(arg, func(q *multiproc.Queue, n int) error {
		for i := 0; i < n; i += manyBatch {
			if _, err := q.PutMany(context.Background(), batch[:min(manyBatch, n-i)]); err != nil {
				return err
			}
		}
		return nil
	})
}

// produce opens a producer's handles, waits for the go event, records the
// start time, puts the arg's count of messages with put, then the empty
// end message. Its result is the child's exit status.
func produce(arg []byte, put func(q *multiproc.Queue, n int) error) int {
	return produceEnd(arg, put, true)
}

// produceEnd is produce; endMessage false: put sends its own end.
func produceEnd(arg []byte, put func(q *multiproc.Queue, n int) error, endMessage bool) int {
	var n int
	fmt.Sscan(string(arg), &n)
	q, err1 := multiproc.OpenQueue(0)
	ev, err2 := multiproc.OpenEvent(1)
	start, err3 := multiproc.OpenValue(2)
	if err1 != nil || err2 != nil || err3 != nil || ev.Wait(context.Background()) != nil {
		return 2
	}
	start.SetInt(0, time.Now().UnixNano())
	if put(q, n) != nil || endMessage && q.Put(context.Background(), nil) != nil { // nil: the end
		return 3
	}
	return 0
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// benchItem is go_typed_json's message: its JSON (typedItem) is 64 bytes,
// the size of the raw message; ID -1 ends the stream.
type benchItem struct {
	ID   int64   `json:"id"`
	Name string  `json:"name"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	OK   bool    `json:"ok"`
}

var typedItem = benchItem{ID: 12345, Name: "item-000012345", X: 1.5, Y: -2.25, OK: true}

// producerTyped is producer through a TypedQueue (JSON); its end is an
// item with ID -1 (an empty message is not JSON).
func producerTyped(arg []byte) int {
	return produceEnd(arg, func(q *multiproc.Queue, n int) error {
		tq := multiproc.TypedQueueOf[benchItem](q, nil)
		for i := 0; i < n; i++ {
			if err := tq.Put(context.Background(), typedItem); err != nil {
				return err
			}
		}
		return tq.Put(context.Background(), benchItem{ID: -1})
	}, false)
}

// getTyped is the consumer of go_typed_json: TypedQueue.Get per message.
func getTyped(q *multiproc.Queue) (int, error) {
	tq := multiproc.TypedQueueOf[benchItem](q, nil)
	got := 0
	for {
		v, err := tq.Get(context.Background())
		if err != nil {
			return got, err
		}
		if v.ID == -1 {
			return got, nil
		}
		if v != typedItem {
			return got, fmt.Errorf("item %+v", v)
		}
		got++
	}
}

// getOne is the consumer of go: one GetInto per message. It returns the
// number of messages before the end (an empty message).
func getOne(q *multiproc.Queue) (int, error) {
	buf := make([]byte, msgSize)
	got := 0
	for {
		l, err := q.GetInto(context.Background(), buf)
		if err != nil {
			return got, err
		}
		if l == 0 {
			return got, nil
		}
		if l != msgSize {
			return got, fmt.Errorf("message of %d bytes", l)
		}
		got++
	}
}

// getMany is the consumer of go_many: GetMany of up to manyBatch messages.
func getMany(q *multiproc.Queue) (int, error) {
	buf, lens := make([]byte, msgSize*manyBatch), make([]int, manyBatch)
	got := 0
	for {
		n, err := q.GetMany(context.Background(), buf, lens)
		if err != nil {
			return got, err
		}
		for _, l := range lens[:n] {
			if l == 0 {
				return got, nil
			}
			if l != msgSize {
				return got, fmt.Errorf("message of %d bytes", l)
			}
			got++
		}
	}
}

// queueImpl is one impl of queue_64B_1to1: the producer child's
// registered name and the consumer.
type queueImpl struct {
	name, producer string
	consume        func(*multiproc.Queue) (int, error)
}

var queueImpls = []queueImpl{
	{"go", "bench_producer", getOne},
	{"go_many", "bench_producer_many", getMany},
	{"go_typed_json", "bench_producer_typed", getTyped},
}

// queueBatch times one producer -> consumer run of n messages of impl.
func queueBatch(n int, impl queueImpl) (float64, error) {
	q, err := multiproc.NewQueue(0)
	if err != nil {
		return 0, err
	}
	defer q.Close()
	ev, _ := multiproc.NewEvent()
	defer ev.Close()
	start, _ := multiproc.NewValue(multiproc.Int64, 1, false)
	defer start.Close()
	p, err := multiproc.NewProcess(impl.producer, []byte(fmt.Sprint(n)),
		&multiproc.ProcessOptions{Handles: []multiproc.Handle{q, ev, start}})
	if err != nil {
		return 0, err
	}
	defer p.Close()
	if err := p.Start(); err != nil {
		return 0, err
	}
	ev.Set()
	got, err := impl.consume(q)
	if err != nil {
		return 0, err
	}
	end := time.Now().UnixNano()
	if got != n {
		return 0, fmt.Errorf("%d messages, %d expected", got, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Join(ctx); err != nil {
		return 0, err
	}
	t0, _ := start.Int(0)
	return float64(n) / (float64(end-t0) / 1e9), nil
}

// benchQueue measures every queueImpl, batch for batch (their batches
// alternate, so that a change of the machine's load hits them alike).
func benchQueue() error {
	counts := make([]int, len(queueImpls))
	for i, impl := range queueImpls {
		n, err := queueCount(impl)
		if err != nil {
			return fmt.Errorf("%s: %w", impl.name, err)
		}
		counts[i] = n
	}
	rates := make([][]float64, len(queueImpls))
	for b := 0; b < batches(); b++ {
		for i, impl := range queueImpls {
			rate, err := queueBatch(counts[i], impl)
			if err != nil {
				return fmt.Errorf("%s: %w", impl.name, err)
			}
			rates[i] = append(rates[i], rate)
		}
	}
	for i, impl := range queueImpls {
		fmt.Printf("BENCH queue_64B_1to1 %s %.0f msg/s\n", impl.name, median(rates[i]))
	}
	return nil
}

// queueCount is the messages of a batch of impl: about 0.3 s at the rate
// of a first run (100000 with --quick).
func queueCount(impl queueImpl) (int, error) {
	n := 100000
	if quick {
		return n, nil
	}
	rate, err := queueBatch(n, impl)
	if err != nil {
		return 0, err
	}
	return int(rate * 0.3), nil
}

func benchPoolMap() error {
	tasks := 10000
	if quick {
		tasks = 1000
	}
	pool, err := multiproc.NewPool(&multiproc.PoolOptions{Workers: 2})
	if err != nil {
		return err
	}
	defer pool.Close()
	args := make([][]byte, tasks)
	for i := range args {
		args[i] = []byte(fmt.Sprintf("%016d", i))
	}
	if _, err := pool.Map(context.Background(), "bench_echo", args[:10], 1); err != nil { // warm up
		return err
	}
	var v []float64
	for i := 0; i < batches(); i++ {
		begin := time.Now()
		res, err := pool.Map(context.Background(), "bench_echo", args, 1)
		if err != nil {
			return err
		}
		if !bytes.Equal(res[tasks-1], args[tasks-1]) {
			return fmt.Errorf("wrong result %q", res[tasks-1])
		}
		v = append(v, float64(time.Since(begin).Microseconds())/float64(tasks))
	}
	fmt.Printf("BENCH pool_map_chunk1 go %.2f us/task\n", median(v))
	return nil
}

func benchRunTrue() error {
	iters := 300
	if quick {
		iters = 30
	}
	impls := []struct {
		name string
		run  func() error
	}{
		{"go", func() error { return multiproc.Command("/bin/true").Run() }},
		{"go_exec", func() error { return exec.Command("/bin/true").Run() }},
	}
	results := make([][]float64, len(impls))
	for b := 0; b < batches(); b++ { // alternate the implementations' batches
		for i, impl := range impls {
			begin := time.Now()
			for k := 0; k < iters; k++ {
				if err := impl.run(); err != nil {
					return err
				}
			}
			results[i] = append(results[i], float64(time.Since(begin).Nanoseconds())/1e3/float64(iters))
		}
	}
	for i, impl := range impls {
		fmt.Printf("BENCH run_true %s %.1f us\n", impl.name, median(results[i]))
	}
	return nil
}

// startJoin starts and joins one no-op child with method m.
func startJoin(m multiproc.StartMethod) error {
	p, err := multiproc.NewProcess("bench_noop", nil, &multiproc.ProcessOptions{StartMethod: m})
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.Start(); err != nil {
		return err
	}
	if err := p.Join(context.Background()); err != nil {
		return err
	}
	if code, err := p.ExitCode(); err != nil || code != 0 {
		return fmt.Errorf("child exit code %d, %v", code, err)
	}
	return nil
}

func benchStartJoin() error {
	iters := 100
	if quick {
		iters = 10
	}
	impls := []struct {
		name   string
		method multiproc.StartMethod
	}{{"go", multiproc.StartForkserver}, {"go_spawn", multiproc.StartSpawn}}
	if err := startJoin(multiproc.StartForkserver); err != nil { // the server starts
		return err
	}
	results := make([][]float64, len(impls))
	for b := 0; b < batches(); b++ { // alternate the implementations' batches
		for i, impl := range impls {
			begin := time.Now()
			for k := 0; k < iters; k++ {
				if err := startJoin(impl.method); err != nil {
					return err
				}
			}
			results[i] = append(results[i], float64(time.Since(begin).Nanoseconds())/1e3/float64(iters))
		}
	}
	for i, impl := range impls {
		fmt.Printf("BENCH spawn_forkserver %s %.1f us\n", impl.name, median(results[i]))
	}
	return nil
}
