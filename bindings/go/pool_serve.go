package multiproc

// A pool across hosts (issue 16): Serve offers a pool's workers to other
// hosts through a redis server; OpenPoolAt of the same redis:// address
// submits to them. SetRetries asks for tasks to run again after a worker
// died.

import (
	"context"

	"multiproc.dev/multiproc/internal/capi"
)

// Serve also runs, on this pool's workers, the tasks that any program
// submits to address ("redis://[user@]host[:port][/db]#name") through
// OpenPoolAt: tasks are looked up by name (RegisterTask in this program),
// arguments and results are the same bytes as locally, so a Ruby or C
// client's task can run here. Any number of hosts may serve one address.
// A worker's death fails its task with ErrWorkerDied unless the client
// asked for retries; a host that vanishes is noticed within
// MULTIPROC_REDIS_LEASE_MS (default 10 s) and its tasks are retried or
// failed; a host cut off from redis cannot publish a stale result
// (fencing). Serving goes on in the background until Shutdown (the tasks
// taken are finished; Join waits for them), Terminate or Close (they go
// back to the server for other hosts). ctx bounds the registration only.
// Errors: ErrInvalid (not a redis:// address with a name, an opened
// pool), ErrNotSupported (no redis backend), ErrState (closed, or serving
// already), ErrConnRefused and the other errors of the server.
func (p *Pool) Serve(ctx context.Context, address string) error {
	pp, err := p.h.use("pool serve")
	if err != nil {
		return err
	}
	defer p.h.done()
	return openAt(ctx, "pool serve", address, func(ms int64) int { return capi.Mp_pool_serve(capi.Pool(pp), address, ms) })
}

// SetRetries makes a task whose worker died (or, on a pool opened at a
// redis:// address, whose serving host vanished) run again up to n times
// (0 to 1000; default 0: it fails with ErrWorkerDied) before it fails.
// It applies to tasks submitted afterwards. A retried task may have run
// partly before: make it idempotent. Errors: ErrInvalid, ErrNotSupported
// (a pool opened through a broker: its owner decides), ErrClosed.
func (p *Pool) SetRetries(n uint) error {
	_, err := p.h.do("pool set retries", func(pp uintptr) int { return capi.Mp_pool_set_retries(capi.Pool(pp), n) })
	return err
}
