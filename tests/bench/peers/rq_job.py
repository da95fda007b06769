"""The no-op job of the RQ peer (rq_bench.py): a module of its own, so that
the client and the SimpleWorker processes name it alike (rq_job.noop)."""


def noop():
    return None
