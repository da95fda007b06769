package multiproc

/*
#include <stdint.h>
#include <stdlib.h>

int mp_go_apply_async(uintptr_t *out, uintptr_t pool, const char *task, const void *arg,
                      size_t arg_len, uintptr_t handle);
*/
import "C"

import (
	"context"
	"runtime"
	"runtime/cgo"
	"sync"
	"unsafe"

	"multiproc.dev/multiproc/internal/capi"
)

// Pool is a pool of worker processes running registered tasks
// (multiprocessing.Pool). Workers are new executions of this program
// (Main must be called at the top of main) and daemons: they die with
// this process. A worker that dies fails only its running task, with
// ErrWorkerDied, and is replaced; the pool never hangs.
type Pool struct {
	h handle

	pubMu sync.Mutex
	pubs  []publication // brokers this pool is published on (Broker.PublishPool)
}

// PoolOptions are the settings of a pool; the zero value means defaults.
type PoolOptions struct {
	Workers           int    // number of workers; 0: CPUCount()
	MaxTasksPerWorker int    // tasks a worker runs before it is replaced; 0: never
	Initializer       string // a registered task each worker runs once at start
	InitArg           []byte // the initializer's argument
	Threads           bool   // run tasks on threads of this process (multiprocessing.dummy)
	// StartMethod of the workers: StartSpawn or StartForkserver; the zero
	// value means the process-wide default, as ProcessOptions.StartMethod.
	StartMethod StartMethod
	// Pass hands objects to every worker by name, replacements included
	// (Python's initargs with a Queue or Lock): the initializer, or any
	// task, opens each with the Inherit function of its type
	// (InheritQueue(name), InheritLock(name), ...). Not with Threads
	// (ErrInvalid): a thread's initializer shares this process's objects.
	Pass map[string]Handle
}

// NewPool starts a pool; opts nil means the defaults. Errors: ErrState
// (Main was not called: the workers are new executions of this program,
// unless Threads is set).
func NewPool(opts *PoolOptions) (*Pool, error) {
	if opts == nil {
		opts = &PoolOptions{}
	}
	if !opts.Threads && !mainDone() {
		return nil, errNoMain("pool new")
	}
	var o capi.PoolOpts
	if err := check("pool options", func() int { return capi.Mp_pool_opts_new(&o) }); err != nil {
		return nil, err
	}
	defer capi.Mp_pool_opts_free(o)
	steps := []func() int{
		func() int { return capi.Mp_pool_opts_set_start_method(o, cMethod(goStartMethod(opts.StartMethod))) },
		func() int { return capi.Mp_pool_opts_set_max_tasks_per_worker(o, uint(opts.MaxTasksPerWorker)) },
		func() int { return capi.Mp_pool_opts_set_threads(o, boolInt(opts.Threads)) },
	}
	if opts.Workers != 0 {
		steps = append(steps, func() int { return capi.Mp_pool_opts_set_workers(o, uint(opts.Workers)) })
	}
	if opts.Initializer != "" {
		steps = append(steps, func() int { return capi.Mp_pool_opts_set_initializer(o, opts.Initializer, opts.InitArg) })
	}
	steps = append(steps, byName{
		queue: func(name string, q capi.Queue) int { return capi.Mp_pool_opts_pass_queue(o, name, q) },
		conn:  func(name string, c capi.Conn) int { return capi.Mp_pool_opts_pass_conn(o, name, c) },
		fd:    func(name string, fd int) int { return capi.Mp_pool_opts_pass_fd(o, name, fd) },
	}.namedSteps(opts.Pass)...)
	for _, f := range steps {
		if err := check("pool options", f); err != nil {
			return nil, err
		}
	}
	var p capi.Pool
	if err := check("pool new", func() int { return capi.Mp_pool_new(&p, o) }); err != nil {
		return nil, err
	}
	return newPool(p), nil
}

func newPool(p capi.Pool) *Pool {
	pool := &Pool{h: handle{p: uintptr(p), free: func(p uintptr) { capi.Mp_pool_free(capi.Pool(p)) }}}
	setFinalizer(pool)
	return pool
}

// taskError adds a failed task's own message to its error.
func taskError(err error, detail []byte) error {
	if e, ok := err.(*Error); ok && len(detail) > 0 {
		e.Detail = string(detail)
	}
	return err
}

// Apply runs task with arg on a worker and waits for its result (apply).
// Errors: ErrTaskFailed (Detail holds the task's message), ErrWorkerDied,
// ErrNotFound (no such task), ErrState (the pool was shut down),
// ErrCanceled (ctx, or the pool was terminated).
func (p *Pool) Apply(ctx context.Context, task string, arg []byte) ([]byte, error) {
	mustContext(ctx)
	// apply_async + get rather than mp_pool_apply, whose wait a cancel
	// token does not end (the result wait does).
	res, err := p.ApplyAsync(task, arg, nil)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	return res.Get(ctx)
}

// ApplyAsync submits task with arg and returns at once (apply_async).
// callback, if not nil, runs once when the task has finished, successful
// or not, on the pool's callback goroutine: one callback at a time, in
// completion order; it must not Join, Terminate or Close its own pool.
// The result given to callback is usable there even if the caller has
// closed it meanwhile (Close then takes effect after the callback).
// As in Python, the callback runs before the result is ready to anyone
// else: Get, Wait and Ready report it finished only after the callback
// returned, so they see what it did. The callback must not wait for
// another result of this pool that has a callback (that one runs after it).
func (p *Pool) ApplyAsync(task string, arg []byte, callback func(*AsyncResult)) (*AsyncResult, error) {
	res := &AsyncResult{}
	var h cgo.Handle
	if callback != nil {
		// The task may finish before mp_go_apply_async returns: the
		// callback waits until res holds its C handle.
		ready := make(chan struct{})
		res.callbackPending = true
		h = cgo.NewHandle(func() {
			<-ready
			callback(res)
			res.callbackDone()
		})
		defer close(ready)
	}
	ctask := C.CString(task)
	defer C.free(unsafe.Pointer(ctask))
	var argp unsafe.Pointer
	if len(arg) > 0 {
		argp = unsafe.Pointer(&arg[0])
	}
	var r C.uintptr_t
	_, err := p.h.do("pool apply async", func(pp uintptr) int {
		return int(C.mp_go_apply_async(&r, C.uintptr_t(pp), ctask, argp, C.size_t(len(arg)), C.uintptr_t(h)))
	})
	if err != nil {
		if h != 0 {
			h.Delete()
		}
		return nil, err
	}
	res.init(capi.Result(r))
	return res, nil
}

//export goResultCallback
func goResultCallback(h C.uintptr_t) {
	if h == 0 {
		return
	}
	handle := cgo.Handle(h)
	f := handle.Value().(func())
	handle.Delete()
	f()
}

// MapAsync submits task for each argument, chunksize arguments per
// message (0: automatic), and returns at once (map_async).
func (p *Pool) MapAsync(task string, args [][]byte, chunksize int) (*AsyncResult, error) {
	var r capi.Result
	_, err := p.h.do("pool map", func(pp uintptr) int {
		return capi.Mp_pool_map_async(&r, capi.Pool(pp), task, args, int64(chunksize))
	})
	if err != nil {
		return nil, err
	}
	res := &AsyncResult{}
	res.init(r)
	return res, nil
}

// Map runs task for each argument and returns the results in argument
// order (map). If any item failed, the error is the first failure's and
// the results of the others are still returned (nil for failed items).
func (p *Pool) Map(ctx context.Context, task string, args [][]byte, chunksize int) ([][]byte, error) {
	mustContext(ctx)
	res, err := p.MapAsync(task, args, chunksize)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	return res.Values(ctx)
}

// Imap iterates over the results of task for each argument, in argument
// order or, with unordered, as they complete (imap, imap_unordered). At
// most a few chunks per worker are in flight (back-pressure).
func (p *Pool) Imap(task string, args [][]byte, chunksize int, unordered bool) (*Iter, error) {
	var it capi.Iter
	_, err := p.h.do("pool imap", func(pp uintptr) int {
		return capi.Mp_pool_imap(&it, capi.Pool(pp), task, args, int64(chunksize), boolInt(unordered))
	})
	if err != nil {
		return nil, err
	}
	iter := &Iter{h: handle{p: uintptr(it), free: func(p uintptr) { capi.Mp_pool_iter_free(capi.Iter(p)) }}}
	setFinalizer(iter)
	return iter, nil
}

// ImapChan is Imap delivered on a channel, closed after the last item
// or when ctx is done.
func (p *Pool) ImapChan(ctx context.Context, task string, args [][]byte, chunksize int, unordered bool) (<-chan ImapItem, error) {
	mustContext(ctx)
	it, err := p.Imap(task, args, chunksize, unordered)
	if err != nil {
		return nil, err
	}
	ch := make(chan ImapItem)
	go func() {
		defer close(ch)
		defer it.Close()
		for {
			item, ok := it.Next(ctx)
			if !ok {
				return
			}
			select {
			case ch <- item:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// Shutdown refuses new work (Python's close); Join then waits for the
// work submitted before.
func (p *Pool) Shutdown() error {
	_, err := p.h.do("pool close", func(pp uintptr) int { return capi.Mp_pool_close(capi.Pool(pp)) })
	return err
}

// Join waits for the workers to finish every submitted task (and every
// callback) and exit; Shutdown or Terminate first (else ErrState).
func (p *Pool) Join(ctx context.Context) error {
	_, err := p.h.wait(ctx, "pool join", forever, func(pp uintptr, ms int64) int {
		return capi.Mp_pool_join(capi.Pool(pp), ms)
	})
	return err
}

// Terminate kills the workers at once; unfinished tasks fail with
// ErrCanceled and their callbacks still run.
func (p *Pool) Terminate() error {
	_, err := p.h.do("pool terminate", func(pp uintptr) int { return capi.Mp_pool_terminate(capi.Pool(pp)) })
	return err
}

// PoolStats are the pool's counters (a snapshot).
type PoolStats struct {
	Submitted, Running, Done, Failed, WorkersStarted, WorkersReplaced int64
}

// Stats returns the pool's counters.
func (p *Pool) Stats() PoolStats {
	var s PoolStats
	pp, err := p.h.use("pool stats")
	if err != nil {
		return s
	}
	defer p.h.done()
	stat := func(s cPoolStat) int64 { return capi.Mp_pool_stat(capi.Pool(pp), s) }
	return PoolStats{stat(capi.MP_POOL_SUBMITTED), stat(capi.MP_POOL_RUNNING), stat(capi.MP_POOL_DONE),
		stat(capi.MP_POOL_FAILED), stat(capi.MP_POOL_WORKERS_STARTED), stat(capi.MP_POOL_WORKERS_REPLACED)}
}

// Close terminates the pool if needed and frees it: no worker, zombie or
// descriptor is left. Results still held stay valid.
func (p *Pool) Close() error {
	runtime.SetFinalizer(p, nil)
	if pp := p.h.take(); pp != 0 {
		p.withdraw() // no broker may use the pool once it is freed
		p.h.free(pp)
	}
	return nil
}

// AsyncResult is the pending or finished outcome of ApplyAsync or
// MapAsync (AsyncResult).
type AsyncResult struct {
	h handle

	mu              sync.Mutex
	callbackPending bool // ApplyAsync's callback has yet to run
	closeRequested  bool // Close came first: release after the callback
}

// callbackDone ends the callback's claim on r, releasing r if Close was
// called meanwhile.
func (r *AsyncResult) callbackDone() {
	r.mu.Lock()
	r.callbackPending = false
	closeNow := r.closeRequested
	r.mu.Unlock()
	if closeNow {
		closeObject(r, &r.h)
	}
}

func (r *AsyncResult) init(c capi.Result) {
	r.h = handle{p: uintptr(c), free: func(p uintptr) { capi.Mp_result_free(capi.Result(p)) }}
	setFinalizer(r)
}

// Get waits for the result and returns it (get). Errors: the task's
// failure (ErrTaskFailed with Detail, ErrWorkerDied, ErrCanceled), or
// ctx's.
func (r *AsyncResult) Get(ctx context.Context) ([]byte, error) {
	if err := r.Wait(ctx); err != nil {
		return nil, err
	}
	var data []byte
	_, err := r.h.do("result get", func(p uintptr) int { return capi.Mp_result_get(&data, capi.Result(p), 0) })
	if err != nil {
		return nil, taskError(err, data)
	}
	return data, nil
}

// Wait waits until the result is ready.
func (r *AsyncResult) Wait(ctx context.Context) error {
	_, err := r.h.wait(ctx, "result wait", forever, func(p uintptr, ms int64) int {
		return capi.Mp_result_wait(capi.Result(p), ms)
	})
	return err
}

// Ready reports whether the call has finished.
func (r *AsyncResult) Ready() bool {
	n, err := r.h.do("result ready", func(p uintptr) int { return capi.Mp_result_ready(capi.Result(p)) })
	return err == nil && n == 1
}

// Successful reports whether the finished call succeeded (ErrState if
// it has not finished).
func (r *AsyncResult) Successful() (bool, error) {
	n, err := r.h.do("result successful", func(p uintptr) int { return capi.Mp_result_successful(capi.Result(p)) })
	return n == 1, err
}

// Values waits for a MapAsync result and returns every item in argument
// order; the error is the first failed item's.
func (r *AsyncResult) Values(ctx context.Context) ([][]byte, error) {
	if err := r.Wait(ctx); err != nil {
		return nil, err
	}
	n, err := r.h.do("result count", func(p uintptr) int { return capi.Mp_result_count(capi.Result(p)) })
	if err != nil {
		return nil, err
	}
	values := make([][]byte, n)
	var first error
	for i := 0; i < n; i++ {
		var data []byte
		_, err := r.h.do("result item", func(p uintptr) int { return capi.Mp_result_item(&data, capi.Result(p), int64(i)) })
		if err != nil {
			if first == nil {
				first = taskError(err, data)
			}
			continue
		}
		values[i] = data
	}
	return values, first
}

// Close releases the result (the task still runs if not finished). If
// the result's callback has not run yet, the release happens right after
// it, so the callback can still read the result.
func (r *AsyncResult) Close() error {
	r.mu.Lock()
	if r.callbackPending {
		r.closeRequested = true
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	closeObject(r, &r.h)
	return nil
}

// Iter iterates over the results of Imap.
type Iter struct {
	h   handle
	err error
}

// ImapItem is one result of Imap: the argument's index and the task's
// result, or the item's own failure in Err (iteration goes on).
type ImapItem struct {
	Index int
	Value []byte
	Err   error
}

// Next returns the next item, or false after the last one or when ctx is
// done (then Err says why).
func (it *Iter) Next(ctx context.Context) (ImapItem, bool) {
	var idx int64
	var data []byte
	n, err := it.h.wait(ctx, "imap next", forever, func(p uintptr, ms int64) int {
		return capi.Mp_pool_iter_next(&idx, &data, capi.Iter(p), ms)
	})
	switch {
	case err == nil && n == 0: // after the last result
		return ImapItem{}, false
	case err == nil:
		return ImapItem{Index: int(idx), Value: data}, true
	case isCode(err, ErrClosed): // Next after Close
		return ImapItem{}, false
	case isCode(err, ErrTaskFailed) || isCode(err, ErrWorkerDied) || (isCode(err, ErrCanceled) && ctx.Err() == nil):
		return ImapItem{Index: int(idx), Err: taskError(err, data)}, true
	default:
		it.err = err
		return ImapItem{}, false
	}
}

// Err is the error that ended the iteration early, if any.
func (it *Iter) Err() error { return it.err }

// Close frees the iterator (unfinished tasks still run).
func (it *Iter) Close() error {
	closeObject(it, &it.h)
	return nil
}
