"""How many BLAS threads a run's steps use, chosen by the size of their products.

Two BLAS threads split a product between the two cores; on a small product they
spend more time handing work to each other than multiplying, and when another
process holds a core, each hand-over waits for the scheduler: the cat job's fast
path took 4 to 12 times its quiet time beside two busy loops (docs/performance/busy-machine.md).
Steps whose largest product is under ``ONE_THREAD_BELOW`` multiply-adds run on one
thread; larger ones keep BLAS's own choice. The limit covers mini-batch steps of mid-sized
networks too (a table's [57, 256, 128, 1] on batches of 256: 8.4 million; the cat network
on 64: 15.7 million): on this machine, busy with other work, two threads took 5 to 20 times
as long a step as one (docs/performance/tables.md). The limit is set here, around the
trainer's steps, so the engine stays NumPy only; threadpoolctl sets it at run time
for whichever BLAS NumPy loaded, and gives the threads back afterwards.
"""

from contextlib import contextmanager

from threadpoolctl import threadpool_limits

ONE_THREAD_BELOW = 16_000_000  # multiply-adds: about 4 ms of float64 work on one core here


def threads_for(multiply_adds):
    """1 for a step whose largest product is small, None (BLAS's own count) otherwise."""
    return 1 if multiply_adds < ONE_THREAD_BELOW else None


@contextmanager
def step_threads(multiply_adds):
    """``with step_threads(trainer.largest_product):`` the BLAS thread count for those steps."""
    threads = threads_for(multiply_adds)
    if threads is None:
        yield None
        return
    with threadpool_limits(threads, user_api="blas"):
        yield threads
