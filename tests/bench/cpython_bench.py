#!/usr/bin/env python3
"""The process workloads of bench_process.c in CPython's standard library.

    cpython_bench.py [--time SEC] [--batches N] [--iters N] [--quick]
                     [--list] NAME...

Prints `BENCH <name> cpython <value> us` per workload: the median of the
batch means, measured exactly as bench_process does (a warm-up of 10 % of
the budget, then --batches batches sized to --time seconds in all). Lines
starting with '#' are details. MP_BENCH_BIGHEAP_MB sets the touched heap of
run_true_bigheap (default 1024 MiB; 64 with --quick).

Workloads:
  spawn_fork        get_context('fork').Process(target=noop): start + join
  spawn_spawn       the same with get_context('spawn')
  run_true          subprocess.run(['/bin/true'])
  run_true_bigheap  the same from a process holding a touched bytearray
"""
import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import time

TRUE_PATH = '/bin/true'


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


def workloads(quick):
    """name -> (unit, setup) where setup() returns the iteration function.
    A new workload is one entry here."""
    def fork():
        ctx = multiprocessing.get_context('fork')
        return lambda: _start_join(ctx)

    def spawn():
        ctx = multiprocessing.get_context('spawn')
        return lambda: _start_join(ctx)

    heap = []

    def bigheap():
        size = bigheap_bytes(quick)
        # bytearray(1) * size is one malloc + memset: every page touched.
        heap.append(bytearray(1) * size)
        print('# run_true_bigheap: parent heap %d MiB touched' % (size >> 20))
        return _run_true

    return {
        'spawn_fork': ('us', fork),
        'spawn_spawn': ('us', spawn),
        'run_true': ('us', lambda: _run_true),
        'run_true_bigheap': ('us', bigheap),
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
    table = workloads(args.quick)
    if args.list:
        for name, (unit, _) in table.items():
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
        unit, setup = table[name]
        fn = setup()
        med, lo, hi, iters = measure(fn, args.time, args.batches, args.iters,
                                     args.quick)
        print('# %s cpython: median of %d batch means, %d iterations/batch, '
              'batch means %.2f..%.2f us' % (name, args.batches, iters, lo, hi))
        print('BENCH %s cpython %.2f %s' % (name, med, unit), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
