// Pool.apply (synchronous, one task at a time) against Pool.apply_async
// (asynchronous, every worker busy at once), then close() and join(),
// then get() of each result. 4 tasks sleep 250 ms each on a pool of 4
// workers: apply takes at least 1 s, apply_async about 250 ms; only
// whether apply_async took less than 3/4 of apply's time is printed (the
// times go to stderr).
// Port of docs/examples/c/example_pool_apply.c; same output.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"multiproc.dev/multiproc"
)

const (
	workers = 4
	tasks   = 4
	sleep   = 250 * time.Millisecond
)

// fn is def func(msg), in a worker process: the result is the message.
func fn(msg []byte) ([]byte, error) {
	fmt.Printf("msg: %s\n", msg)
	time.Sleep(sleep)
	return msg, nil
}

func message(i int) []byte { return []byte(fmt.Sprintf("hello %d", i)) }

func errName(err error) string {
	var e *multiproc.Error
	if errors.As(err, &e) {
		return e.Code.Name()
	}
	if err == nil {
		return "OK"
	}
	return err.Error()
}

// runApply is: for i in range(tasks): res_l.append(pool.apply(func, (msg,)))
func runApply(pool *multiproc.Pool) (time.Duration, error) {
	fmt.Printf("Pool(%d): apply, one task at a time\n", workers)
	begin := time.Now()
	var results []string
	for i := 0; i < tasks; i++ {
		res, err := pool.Apply(context.Background(), "func", message(i))
		if err != nil {
			return 0, err
		}
		results = append(results, string(res))
		fmt.Printf("main: apply returned %s\n", res)
	}
	elapsed := time.Since(begin)
	fmt.Println("=====> (apply: every result is already here)")
	fmt.Printf("main: results: %s\n", strings.Join(results, ", "))
	return elapsed, nil
}

// runApplyAsync is: res_l = [pool.apply_async(func, (msg,)) ...]; close;
// join; get.
func runApplyAsync(pool *multiproc.Pool) (time.Duration, error) {
	fmt.Printf("Pool(%d): apply_async, every task at once\n", workers)
	begin := time.Now()
	var resL []*multiproc.AsyncResult
	defer func() {
		for _, r := range resL {
			r.Close()
		}
	}()
	for i := 0; i < tasks; i++ {
		r, err := pool.ApplyAsync("func", message(i), nil)
		if err != nil {
			return 0, err
		}
		resL = append(resL, r)
	}
	fmt.Printf("=====> (apply_async: %d tasks submitted, none waited for)\n", tasks)

	// The time the tasks took: until the last result is ready (res.wait());
	// shutting the workers down in join is not part of it.
	for _, r := range resL {
		if err := r.Wait(context.Background()); err != nil {
			return 0, err
		}
	}
	elapsed := time.Since(begin)

	if err := pool.Shutdown(); err != nil { // no more tasks ...
		return 0, err
	}
	if err := pool.Join(context.Background()); err != nil { // ... and wait for the queued ones
		return 0, err
	}
	fmt.Println("main: pool closed and joined")

	var results []string
	for _, r := range resL {
		res, err := r.Get(context.Background()) // done: no wait
		if err != nil {
			return 0, err
		}
		results = append(results, string(res))
	}
	fmt.Printf("main: results: %s\n", strings.Join(results, ", "))

	// After close, the pool refuses work (Python: "Pool not running").
	late, err := pool.ApplyAsync("func", []byte("late"), nil)
	fmt.Printf("main: apply_async after close -> %s\n", errName(err))
	if err == nil {
		late.Close()
	}
	if !errors.Is(err, multiproc.ErrState) {
		return 0, errors.New("apply_async after close: expected ESTATE")
	}
	return elapsed, nil
}

func main() {
	multiproc.RegisterTask("func", fn)
	multiproc.Main()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	pool, err := multiproc.NewPool(&multiproc.PoolOptions{Workers: workers}) // Pool(processes=4)
	if err != nil {
		return err
	}
	defer pool.Close()

	// join before close is refused (the tutorial's "先调用close").
	// (it is refused at once; the timeout only turns a bug into a failure)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err = pool.Join(ctx)
	cancel()
	fmt.Printf("main: join before close -> %s\n", errName(err))
	if !errors.Is(err, multiproc.ErrState) {
		return errors.New("join before close: expected ESTATE")
	}

	tApply, err := runApply(pool)
	if err != nil {
		return err
	}
	tAsync, err := runApplyAsync(pool)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "apply: %d ms, apply_async: %d ms\n", tApply.Milliseconds(), tAsync.Milliseconds())
	faster := tAsync*4 < tApply*3
	yes := map[bool]string{true: "yes", false: "no"}
	fmt.Printf("apply_async took less than 3/4 of apply's time: %s\n", yes[faster])
	if !faster {
		return errors.New("apply_async was not faster")
	}
	return nil
}
