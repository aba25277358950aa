"""A run's steps choose their BLAS thread count by the size of their largest product (run.threads)."""

import numpy as np
from threadpoolctl import threadpool_info

from dnncli.engine import ArraySource, FastTrainer, Network, Settings, Trainer, encode_labels, initialize
from dnncli.run.threads import ONE_THREAD_BELOW, step_threads, threads_for


def blas_threads():
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_small_steps_run_on_one_thread_and_give_the_threads_back():
    before = blas_threads()
    with step_threads(ONE_THREAD_BELOW - 1) as threads:
        assert threads == 1 and blas_threads() == [1] * len(before)
    assert blas_threads() == before


def test_large_steps_keep_blas_own_count():
    before = blas_threads()
    with step_threads(ONE_THREAD_BELOW) as threads:
        assert threads is None and blas_threads() == before
    assert threads_for(10**9) is None and threads_for(10) == 1


def test_each_path_says_its_largest_product():
    """The general path's is the first layer on the batch (n1 n B); the fast path's, n1 m B."""
    net = Network((50, 6, 3, 1), ("relu", "relu"))
    rng = np.random.default_rng(0)
    rows = rng.random((40, 50))
    source = ArraySource(rows, encode_labels(net, rng.integers(0, 2, 40)))
    for batch_size, examples in ((None, 40), (8, 8), (100, 40)):
        settings = Settings(0.1, batch_size=batch_size)
        assert Trainer(net, initialize(net.layers, "he", 1), settings, source).largest_product == 6 * 50 * examples
        assert FastTrainer(net, initialize(net.layers, "he", 1), settings, source).largest_product == 6 * 40 * examples
