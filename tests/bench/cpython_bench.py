#!/usr/bin/env python3
"""The process workloads of bench_process.c in CPython's standard library.

    cpython_bench.py [--time SEC] [--batches N] [--iters N] [--quick]
                     [--list] NAME...

Prints `BENCH <name> cpython <value> <unit>` per workload: the median of
the batch means, measured exactly as bench_process and bench_ipc do (a
warm-up of 10 % of the budget, then --batches batches sized to --time
seconds in all). Lines starting with '#' are details. MP_BENCH_BIGHEAP_MB
sets the touched heap of run_true_bigheap (default 1024 MiB; 64 with
--quick).

Workloads (us per iteration):
  spawn_fork        get_context('fork').Process(target=noop): start + join
  spawn_spawn       the same with get_context('spawn')
  spawn_forkserver  the same with get_context('forkserver')
  run_true          subprocess.run(['/bin/true'])
  run_true_bigheap  the same from a process holding a touched bytearray
  pingpong_64B      Pipe(duplex=True), a 'fork' child echoes with
                    recv_bytes/send_bytes; send_bytes(64 B) + recv_bytes;
                    every 16th round trip the echo writes its CPU
                    (sched_getcpu through ctypes) into a shared page and
                    the parent compares its own: `PLACE <name> cpython
                    <same> <other>` (warm-up included)
  pingpong_64B_samecpu  the same with this process pinned
                    (os.sched_setaffinity) to its CPU before the echo forks
Queue workloads, as in bench_ipc.c (value: messages per second, or MB/s =
10^6 bytes per second): a batch starts the producers and consumers
('fork' context; not timed), a Barrier lets them go, and the time runs
from the first put to the end of the last get. Each producer puts its share
of one bytes object, then a None pill; a consumer gets until a None and
checks each message's length; the total is checked at the end.
  queue_64B_1to1    multiprocessing.Queue(), 64-byte bytes, 1 -> 1
  queue_64B_2to2    the same, 2 producers -> 2 consumers
  queue_1MiB        1 MiB bytes, 1 -> 1
Synchronisation workloads, as in bench_sync.c (a batch function loops n
operations; ns per operation, or operations per second):
  lock_uncontended  multiprocessing.Lock(): acquire() + release(), ns
  lock_contended    the same, 2 'fork' processes hammering one Lock (started
                    outside the timed part, let go by a Barrier); ns = (the
                    last end - the first start) / the operations of both
  dict_incr         Manager().dict(): `with lock: d['count'] += 1` under a
                    multiprocessing.Lock, as the tutorial's counter does
                    (d[k] += 1 is a get and a set: two round trips to the
                    manager process, not atomic without the lock), ops/s
Pool workloads, as in bench_pool.c: get_context('fork').Pool(2), created
outside the timed part; echo returns its argument; the arguments are 10000
distinct 16-byte bytes objects (1000 with --quick); an iteration is one
round of them, us/task = the iteration's time / the tasks:
  pool_map_chunk1   pool.map(echo, args, 1)
  pool_map_auto     pool.map(echo, args) (the default chunksize)
  pool_apply_async  [pool.apply_async(echo, (a,)) ...], then get() of each
  pool_startup      us: Pool(2), apply(echo), close(), join()
  pool_worker_rss   KiB: VmRSS of the larger idle pool worker minus that of
                    a plain 'fork' Process sleeping in its target (started
                    just before the pool), median over --batches pools
  pool_map_chunk1_threads, pool_apply_async_threads
                    the same on multiprocessing.pool.ThreadPool(2)
"""
import argparse
import ctypes
import mmap
import multiprocessing
import multiprocessing.pool
import os
import statistics
import subprocess
import sys
import time

TRUE_PATH = '/bin/true'
WATCHDOG_S = 30.0  # seconds a queue batch may take before it counts as hung


def noop():
    pass


def _start_join(ctx):
    p = ctx.Process(target=noop)
    p.start()
    p.join()
    if p.exitcode != 0:
        raise RuntimeError('child exit code %r' % p.exitcode)


def _run_true():
    subprocess.run([TRUE_PATH], check=True)


def bigheap_bytes(quick):
    env = os.environ.get('MP_BENCH_BIGHEAP_MB', '')
    if not env:
        return (64 if quick else 1024) << 20
    if not env.isdigit():
        sys.exit('cpython_bench.py: MP_BENCH_BIGHEAP_MB=%s: not a size in MiB'
                 % env)
    mb = int(env)
    return mb << 20


def measure(fn, budget, batches, fixed_iters, quick):
    """Median of batch means, in microseconds, plus details."""
    t0 = time.perf_counter()
    n = 0
    min_iters = 1 if quick else 3
    while True:
        fn()
        n += 1
        t = time.perf_counter()
        if n >= min_iters and t - t0 >= budget * 0.1:
            break
    per = (t - t0) / n
    iters = fixed_iters or max(1, min(10_000_000, int(budget / (batches * per))))
    means = []
    for _ in range(batches):
        b0 = time.perf_counter()
        for _ in range(iters):
            fn()
        means.append((time.perf_counter() - b0) / iters * 1e6)
    return statistics.median(means), min(means), max(means), iters


def measure_rate(batch, scale, first_n, budget, batches, fixed_n):
    """As bench_common.c: batch(n) does n units and returns its seconds.
    Warm up with growing batches for 10 % of the budget, size the batches
    from the last one, return the median of the batch rates (units per
    second x scale) plus details."""
    n, spent = first_n, 0.0
    while True:
        s = batch(n)
        spent += s
        per = max(s, 1e-9) / n
        if spent >= budget * 0.1:
            break
        want = (budget * 0.1 - spent) / per
        n = max(n * 2, min(n * 16, int(want)))
    units = fixed_n or max(1, min(1_000_000_000, int(budget / (batches * per))))
    rates = [units * scale / max(batch(units), 1e-9) for _ in range(batches)]
    return statistics.median(rates), min(rates), max(rates), units


def measure_cost(batch, first_n, budget, batches, fixed_n):
    """As bench_sync.c: batch(n) does n operations and returns its
    seconds; the same warm-up and sizing as measure_rate; the median of the
    batch means in nanoseconds per operation, plus details."""
    n, spent = first_n, 0.0
    while True:
        s = batch(n)
        spent += s
        per = max(s, 1e-9) / n
        if spent >= budget * 0.1:
            break
        want = (budget * 0.1 - spent) / per
        n = max(n * 2, min(n * 16, int(want)))
    units = fixed_n or max(1, min(1_000_000_000, int(budget / (batches * per))))
    means = [batch(units) / units * 1e9 for _ in range(batches)]
    return statistics.median(means), min(means), max(means), units


# ---------------------------------------------------------------- locks, dict

CONTENDERS = 2


def lock_uncontended():
    lock = multiprocessing.Lock()
    acquire, release = lock.acquire, lock.release

    def batch(n):
        t0 = time.perf_counter()
        for _ in range(n):
            acquire()
            release()
        return time.perf_counter() - t0
    return batch


def _hammer(lock, barrier, times, idx, n):
    acquire, release = lock.acquire, lock.release
    barrier.wait()
    t0 = time.monotonic()
    for _ in range(n):
        acquire()
        release()
    times[2 * idx + 1] = time.monotonic()
    times[2 * idx] = t0


def lock_contended():
    ctx = multiprocessing.get_context('fork')
    lock = ctx.Lock()

    def batch(n):
        barrier = ctx.Barrier(CONTENDERS + 1)
        times = ctx.RawArray('d', 2 * CONTENDERS)
        shares = [n // CONTENDERS + (n % CONTENDERS if i == 0 else 0)
                  for i in range(CONTENDERS)]
        procs = [ctx.Process(target=_hammer,
                             args=(lock, barrier, times, i, shares[i]))
                 for i in range(CONTENDERS)]
        for p in procs:
            p.start()
        barrier.wait(WATCHDOG_S)
        end = time.monotonic() + WATCHDOG_S
        for p in procs:
            p.join(max(0.0, end - time.monotonic()))
        if any(p.exitcode is None for p in procs):
            for p in procs:
                p.kill()
                p.join()
            raise RuntimeError('lock_contended batch hung for %g s' % WATCHDOG_S)
        bad = [p.exitcode for p in procs if p.exitcode != 0]
        if bad:
            raise RuntimeError('lock_contended child exit codes %r' % bad)
        return max(times[1::2]) - min(times[0::2])
    return batch


def dict_incr(teardown):
    ctx = multiprocessing.get_context('fork')
    manager = ctx.Manager()
    d = manager.dict({'count': 0})
    lock = ctx.Lock()
    teardown.append(manager.shutdown)

    def batch(n):
        before = d['count']
        t0 = time.perf_counter()
        for _ in range(n):
            with lock:
                d['count'] += 1
        t = time.perf_counter() - t0
        if d['count'] != before + n:
            raise RuntimeError('dict_incr: count %d after %d increments from %d'
                               % (d['count'], n, before))
        return t
    return batch


# ---------------------------------------------------------------- queues

def _q_producer(q, barrier, first, idx, n, size):
    msg = bytes([idx]) * size
    barrier.wait()
    first[idx] = time.monotonic()
    for _ in range(n):
        q.put(msg)
    q.put(None)


def _q_consumer(q, barrier, last, got, idx, size):
    barrier.wait()
    count = 0
    while True:
        m = q.get()
        if m is None:
            break
        if len(m) != size:
            raise RuntimeError('got %d bytes, %d expected' % (len(m), size))
        count += 1
    last[idx] = time.monotonic()
    got[idx] = count


def queue_batch(pairs, size):
    """The batch function of a queue workload: n messages, seconds."""
    ctx = multiprocessing.get_context('fork')

    def batch(n):
        q = ctx.Queue()
        barrier = ctx.Barrier(2 * pairs + 1)
        first = ctx.RawArray('d', pairs)
        last = ctx.RawArray('d', pairs)
        got = ctx.RawArray('q', pairs)
        shares = [n // pairs + (n % pairs if i == 0 else 0) for i in range(pairs)]
        procs = [ctx.Process(target=_q_consumer, args=(q, barrier, last, got, i, size))
                 for i in range(pairs)]
        procs += [ctx.Process(target=_q_producer,
                              args=(q, barrier, first, i, shares[i], size))
                  for i in range(pairs)]
        for p in procs:
            p.start()
        barrier.wait(WATCHDOG_S)
        end = time.monotonic() + WATCHDOG_S
        for p in procs:
            p.join(max(0.0, end - time.monotonic()))
        if any(p.exitcode is None for p in procs):
            for p in procs:
                p.kill()
                p.join()
            raise RuntimeError('queue batch hung for %g s (%d messages got)'
                               % (WATCHDOG_S, sum(got)))
        bad = [p.exitcode for p in procs if p.exitcode != 0]
        if bad:
            raise RuntimeError('queue child exit codes %r' % bad)
        if sum(got) != n:
            raise RuntimeError('the consumers got %d messages, %d were put'
                               % (sum(got), n))
        q.close()
        q.join_thread()
        return max(last) - min(first)
    return batch


# ---------------------------------------------------------------- pingpong

PLACE_EVERY = 16  # round trips per placement sample


def _getcpu():
    """sched_getcpu() of glibc (the os module has no such call)."""
    return ctypes.CDLL(None, use_errno=True).sched_getcpu


def _echo(conn, page):
    getcpu, k = _getcpu(), 0
    while True:
        m = conn.recv_bytes()
        if not m:  # an empty message ends the echo
            break
        if k % PLACE_EVERY == 0:
            page[0:4] = getcpu().to_bytes(4, 'little', signed=True)
        k += 1
        conn.send_bytes(m)


def pingpong(name, teardown, same_cpu=False):
    ctx = multiprocessing.get_context('fork')
    saved = os.sched_getaffinity(0)
    getcpu = _getcpu()
    if same_cpu:
        cpu = getcpu()
        os.sched_setaffinity(0, {cpu})
        print('# %s: every process pinned to CPU %d' % (name, cpu))
    page = mmap.mmap(-1, 4)  # anonymous and shared with the forked echo
    a, b = ctx.Pipe(duplex=True)
    p = ctx.Process(target=_echo, args=(b, page))
    p.start()
    b.close()
    msg = bytes(64)
    count = [0, 0, 0]  # round trips, same CPU, other CPU

    def once():
        a.send_bytes(msg)
        if len(a.recv_bytes()) != 64:
            raise RuntimeError('pingpong: wrong length back')
        if count[0] % PLACE_EVERY == 0:
            other = int.from_bytes(page[0:4], 'little', signed=True)
            count[1 if other == getcpu() else 2] += 1
        count[0] += 1

    def stop():
        a.send_bytes(b'')
        p.join()
        os.sched_setaffinity(0, saved)
        if p.exitcode != 0:
            raise RuntimeError('echo child exit code %r' % p.exitcode)
        print('PLACE %s cpython %d %d' % (name, count[1], count[2]))

    teardown.append(stop)
    return once


# ---------------------------------------------------------------- pools

POOL_WORKERS = 2
POOL_TASKS = 10000
POOL_TASKS_QUICK = 1000


def echo(x):
    return x


def _slow_getpid(_):
    time.sleep(0.01)  # so that a round of them reaches every worker
    return os.getpid()


def _sleeper(conn):
    conn.send_bytes(b'r')
    conn.close()
    while True:
        time.sleep(3600)


def pool_args(quick):
    n = POOL_TASKS_QUICK if quick else POOL_TASKS
    return [b'task%012d' % i for i in range(n)]


def new_pool(threads, teardown):
    if threads:
        pool = multiprocessing.pool.ThreadPool(POOL_WORKERS)
    else:
        pool = multiprocessing.get_context('fork').Pool(POOL_WORKERS)

    def stop():
        pool.close()
        pool.join()
    teardown.append(stop)
    return pool


def pool_map(quick, teardown, chunksize, threads=False):
    """(iteration function, tasks per iteration)"""
    args = pool_args(quick)
    pool = new_pool(threads, teardown)

    def once():
        res = pool.map(echo, args, chunksize)
        if len(res) != len(args) or res[-1] != args[-1]:
            raise RuntimeError('pool map: wrong result')
    return once, len(args)


def pool_apply_async(quick, teardown, threads=False):
    args = pool_args(quick)
    pool = new_pool(threads, teardown)
    apply_async = pool.apply_async

    def once():
        results = [apply_async(echo, (a,)) for a in args]
        for a, r in zip(args, results):
            if r.get(WATCHDOG_S) != a:
                raise RuntimeError('apply_async: wrong result')
    return once, len(args)


def pool_startup():
    ctx = multiprocessing.get_context('fork')
    arg = pool_args(True)[0]

    def once():
        pool = ctx.Pool(POOL_WORKERS)
        if pool.apply(echo, (arg,)) != arg:
            raise RuntimeError('pool_startup: wrong result')
        pool.close()
        pool.join()
    return once


def proc_rss(pid):
    """VmRSS, RssAnon, RssFile, RssShmem of /proc/<pid>/status in KiB."""
    keys = ('VmRSS', 'RssAnon', 'RssFile', 'RssShmem')
    got = dict.fromkeys(keys, -1)
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            if k in got:
                got[k] = int(v.split()[0])
    return tuple(got[k] for k in keys)


def pool_worker_rss():
    """One sample: (worker VmRSS - baseline VmRSS in KiB, detail)."""
    ctx = multiprocessing.get_context('fork')
    r, w = ctx.Pipe(duplex=False)
    base = ctx.Process(target=_sleeper, args=(w,), daemon=True)
    base.start()
    w.close()
    if not r.poll(WATCHDOG_S):
        raise RuntimeError('pool_worker_rss: the baseline child did not start')
    r.recv_bytes()
    r.close()
    pool = ctx.Pool(POOL_WORKERS)
    pids = set()
    for _ in range(20):
        pids.update(pool.map(_slow_getpid, range(4 * POOL_WORKERS), 1))
        if len(pids) >= POOL_WORKERS:
            break
    if len(pids) != POOL_WORKERS:
        raise RuntimeError('pool_worker_rss: workers %r' % sorted(pids))
    time.sleep(0.05)  # idle
    br = proc_rss(base.pid)
    wr = max(proc_rss(p) for p in pids)
    pool.close()
    pool.join()
    base.terminate()
    base.join()
    detail = ('worker VmRSS %d KiB (anon %d, file %d, shmem %d), baseline '
              'child VmRSS %d KiB (anon %d, file %d, shmem %d)' % (wr + br))
    return wr[0] - br[0], detail


def workloads(quick, teardown):
    """name -> (unit, setup, rate) where setup() returns the iteration
    function (rate None: us per iteration) or the batch function of a rate
    workload (rate: (scale, units of the first warm-up batch)). teardown
    collects what to run after the measurement. A new workload is one entry
    here."""
    def fork():
        ctx = multiprocessing.get_context('fork')
        return lambda: _start_join(ctx)

    def spawn():
        ctx = multiprocessing.get_context('spawn')
        return lambda: _start_join(ctx)

    def forkserver():
        ctx = multiprocessing.get_context('forkserver')
        return lambda: _start_join(ctx)

    heap = []

    def bigheap():
        size = bigheap_bytes(quick)
        # bytearray(1) * size is one malloc + memset: every page touched.
        heap.append(bytearray(1) * size)
        print('# run_true_bigheap: parent heap %d MiB touched' % (size >> 20))
        return _run_true

    mib = 1 << 20
    return {
        'spawn_fork': ('us', fork, None),
        'spawn_spawn': ('us', spawn, None),
        'spawn_forkserver': ('us', forkserver, None),
        'run_true': ('us', lambda: _run_true, None),
        'run_true_bigheap': ('us', bigheap, None),
        'queue_64B_1to1': ('msg/s', lambda: queue_batch(1, 64), (1.0, 2000)),
        'queue_64B_2to2': ('msg/s', lambda: queue_batch(2, 64), (1.0, 2000)),
        'queue_1MiB': ('MB/s', lambda: queue_batch(1, mib), (mib / 1e6, 8)),
        'pingpong_64B': ('us', lambda: pingpong('pingpong_64B', teardown), None),
        'pingpong_64B_samecpu': ('us', lambda: pingpong(
            'pingpong_64B_samecpu', teardown, same_cpu=True), None),
        # ns: a batch function too; rate = (unused, first warm-up batch)
        'lock_uncontended': ('ns', lock_uncontended, (1.0, 1000)),
        'lock_contended': ('ns', lock_contended, (1.0, 2000)),
        'dict_incr': ('ops/s', lambda: dict_incr(teardown), (1.0, 100)),
        # us/task: setup returns (iteration function, tasks per iteration)
        'pool_map_chunk1': ('us/task', lambda: pool_map(quick, teardown, 1), None),
        'pool_map_auto': ('us/task', lambda: pool_map(quick, teardown, None), None),
        'pool_apply_async': ('us/task', lambda: pool_apply_async(quick, teardown),
                             None),
        'pool_startup': ('us', pool_startup, None),
        # KiB: setup returns the sample function, one sample per batch
        'pool_worker_rss': ('KiB', lambda: pool_worker_rss, None),
        'pool_map_chunk1_threads': ('us/task', lambda: pool_map(
            quick, teardown, 1, threads=True), None),
        'pool_apply_async_threads': ('us/task', lambda: pool_apply_async(
            quick, teardown, threads=True), None),
    }


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--time', type=float, default=1.5)
    ap.add_argument('--batches', type=int, default=5)
    ap.add_argument('--iters', type=int, default=0)
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--list', action='store_true')
    ap.add_argument('names', nargs='*')
    args = ap.parse_args(argv)
    if args.quick:
        args.time, args.batches = 0.05, 3
    teardown = []
    table = workloads(args.quick, teardown)
    if args.list:
        for name, (unit, _, _) in table.items():
            print(name, unit)
        return 0
    names = args.names or list(table)
    for name in names:
        if name not in table:
            ap.error('unknown workload %s (known: %s)' % (name, ' '.join(table)))
    print('# cpython_bench: Python %s, time budget %g s, %d batches, '
          'value = median of batch means'
          % (sys.version.split()[0], args.time, args.batches))
    for name in names:
        unit, setup, rate = table[name]
        fn = setup()
        if unit == 'KiB':
            samples = [fn() for _ in range(args.batches)]
            values = sorted(v for v, _ in samples)
            med = statistics.median(values)
            mid = min(range(len(samples)), key=lambda i: abs(samples[i][0] - med))
            print('# %s cpython: median of %d batches, %d fork workers, worker - '
                  'baseline %d..%d KiB; batch %d: %s'
                  % (name, args.batches, POOL_WORKERS, values[0], values[-1],
                     mid + 1, samples[mid][1]))
            print('BENCH %s cpython %.2f %s' % (name, med, unit), flush=True)
            continue
        if unit == 'us/task':
            fn, tasks = fn
            med, lo, hi, iters = measure(fn, args.time, args.batches, args.iters,
                                         args.quick)
            med, lo, hi = med / tasks, lo / tasks, hi / tasks
            what = 'iterations of %d tasks' % tasks
        elif rate and unit == 'ns':
            med, lo, hi, iters = measure_cost(fn, rate[1], args.time,
                                              args.batches, args.iters)
            what = 'operations'
        elif rate:
            med, lo, hi, iters = measure_rate(fn, rate[0], rate[1], args.time,
                                              args.batches, args.iters)
            what = 'operations' if unit == 'ops/s' else 'messages'
        else:
            med, lo, hi, iters = measure(fn, args.time, args.batches, args.iters,
                                         args.quick)
            what = 'iterations'
        while teardown:
            teardown.pop()()
        print('# %s cpython: median of %d batch means, %d %s/batch, '
              'batch means %.2f..%.2f %s' % (name, args.batches, iters, what,
                                             lo, hi, unit))
        print('BENCH %s cpython %.2f %s' % (name, med, unit), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
