#!/usr/bin/env python3
"""Python RQ peer of the remote_pool_apply_async row (issue 16), run by
tests/bench/run: tasks/s end to end of a no-op job on Debian's python3-rq,
against the redis-server of MP_BENCH_REDIS=HOST:PORT (database 2, flushed
at the start).

    rq_bench.py [--time SEC] [--batches N] [--iters N] [--quick] remote_pool_apply_async

Two worker processes (this script with --worker: rq.SimpleWorker, which
runs each job in its own process instead of forking per job, RQ's fastest
worker; logging at WARNING) on queue "bench", started before and stopped
(by pid) after the batches. A batch enqueues N jobs rq_job.noop with
Queue.enqueue_many in pipelined slices of 1000 (RQ's bulk path) and is
timed until RQ's own finished-job registry (rq:finished:bench, which RQ
writes for every job anyway: the completion costs the peer nothing extra)
holds all N; a failed job ends the run. Between batches (not timed) the
finished jobs' keys are deleted. Method as bench_common.h: a warm-up sizes
N so that --batches batches take --time (at least 1000 jobs, 100 with
--quick); the figure is the median of the batch rates:

    BENCH remote_pool_apply_async rq <tasks/s> tasks/s
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

from redis import Redis
from rq import Queue, SimpleWorker, Worker
from rq.registry import FailedJobRegistry, FinishedJobRegistry

import rq_job

NAME = 'remote_pool_apply_async'
WORKERS = 2
QUEUE = 'bench'
DB = 2
SLICE = 1000        # jobs per enqueue_many pipeline
POLL_S = 0.001      # how often the client looks at the registry
START_S = 60        # the workers must register within this
BATCH_S = 120       # a batch that takes longer is a hang


def connect(addr):
    host, port = addr.rsplit(':', 1)
    return Redis(host=host, port=int(port), db=DB)


def work(addr):
    conn = connect(addr)
    SimpleWorker([Queue(QUEUE, connection=conn)], connection=conn).work(
        logging_level='WARNING')


class Bench:
    def __init__(self, conn):
        self.conn = conn
        self.queue = Queue(QUEUE, connection=conn)
        self.finished = FinishedJobRegistry(queue=self.queue).key
        self.failed = FailedJobRegistry(queue=self.queue).key
        self.data = [Queue.prepare_data(rq_job.noop) for _ in range(SLICE)]
        self.total = 0

    def batch(self, n):
        """Enqueue n no-op jobs, wait until all are finished: seconds."""
        t0 = time.monotonic()
        left = n
        while left > 0:
            k = min(left, SLICE)
            with self.conn.pipeline() as pipe:
                self.queue.enqueue_many(self.data[:k], pipeline=pipe)
                pipe.execute()
            left -= k
        while self.conn.zcard(self.finished) < n:
            if self.conn.zcard(self.failed):
                sys.exit('rq_bench.py: a job failed (see rq:failed:%s)' % QUEUE)
            if time.monotonic() - t0 > BATCH_S:
                sys.exit('rq_bench.py: %d of %d jobs finished after %d s'
                         % (self.conn.zcard(self.finished), n, BATCH_S))
            time.sleep(POLL_S)
        secs = time.monotonic() - t0
        self.total += n
        self.forget()
        return secs

    def forget(self):
        """Delete the finished jobs' keys (not timed)."""
        ids = [i.decode() for i in self.conn.zrange(self.finished, 0, -1)]
        with self.conn.pipeline() as pipe:
            for i in ids:
                pipe.delete('rq:job:' + i, 'rq:results:' + i)
            pipe.delete(self.finished)
            pipe.execute()


def start_workers(conn, addr):
    procs = [subprocess.Popen([sys.executable, os.path.abspath(__file__), '--worker', addr])
             for _ in range(WORKERS)]
    end = time.monotonic() + START_S
    while Worker.count(connection=conn) < WORKERS:
        if time.monotonic() > end or any(p.poll() is not None for p in procs):
            stop_workers(procs)
            sys.exit('rq_bench.py: the %d SimpleWorker processes did not start' % WORKERS)
        time.sleep(0.05)
    return procs


def stop_workers(procs):
    for p in procs:
        p.terminate()  # by its pid: RQ's warm shutdown
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def measure(bench, opts):
    first = 50 if opts.quick else 200
    per = bench.batch(first) / first  # warm-up
    n = opts.iters or max(100 if opts.quick else 1000, int(opts.time / (opts.batches * per)))
    rates = sorted(n / bench.batch(n) for _ in range(opts.batches))
    print('# %s rq: median of %d batch means, %d jobs/batch, batch means %.2f..%.2f '
          'tasks/s' % (NAME, opts.batches, n, rates[0], rates[-1]))
    print('BENCH %s rq %.2f tasks/s' % (NAME, statistics.median(rates)), flush=True)


def main(argv):
    if len(argv) == 2 and argv[0] == '--worker':
        return work(argv[1])
    ap = argparse.ArgumentParser(prog='rq_bench.py')
    ap.add_argument('--time', type=float, default=1.5)
    ap.add_argument('--batches', type=int, default=5)
    ap.add_argument('--iters', type=int, default=0)
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('names', nargs='*')
    opts = ap.parse_args(argv)
    if any(n != NAME for n in opts.names):
        ap.error('the only workload is ' + NAME)
    addr = os.environ.get('MP_BENCH_REDIS')
    if not addr:
        sys.exit('rq_bench.py: set MP_BENCH_REDIS to HOST:PORT (tests/bench/run does)')
    import rq
    print('# %s rq: RQ %s, %d SimpleWorker processes, redis %s db %d; done = all N in '
          'the finished-job registry' % (NAME, rq.__version__, WORKERS, addr, DB))
    conn = connect(addr)
    conn.flushdb()
    procs = start_workers(conn, addr)
    try:
        measure(Bench(conn), opts)
    finally:
        stop_workers(procs)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
