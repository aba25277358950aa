"""What keeps the general path fast, checked without a clock: a float32 step computes in float32 only,
and an optimizer's update makes no array as large as a weight matrix (docs/performance/general-path.md)."""

import tracemalloc

import numpy as np
import pytest

from conftest import OUTPUT_CASES, random_targets
from dnncli.engine import (
    ACTIVATIONS,
    OPTIMIZERS,
    ArraySource,
    Network,
    Settings,
    Trainer,
    initialize,
)


class Watched(np.ndarray):
    """An array that notes the dtype of every NumPy operation it takes part in, and passes the
    watch on to what comes out of it, so a step's hidden temporaries are seen too."""

    dtypes = []  # (operation, dtype it computed in or produced)

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        inputs = [unwatch(x) for x in inputs]
        if out is not None:
            kwargs["out"] = tuple(unwatch(o) for o in out)
        # the loop's dtype: Python scalars do not widen an array, NumPy scalars do
        computes_in = kwargs.get("dtype") or np.result_type(*inputs)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        Watched.dtypes.append((f"{ufunc.__name__}.{method}", np.dtype(computes_in)))
        return watch(result)

    def __array_function__(self, func, types, args, kwargs):
        result = super().__array_function__(func, types, args, kwargs)
        if isinstance(result, np.ndarray):
            Watched.dtypes.append((func.__name__, result.dtype))
        return watch(result)


def unwatch(x):
    return x.view(np.ndarray) if isinstance(x, Watched) else x


def watch(x):
    if isinstance(x, tuple):
        return tuple(watch(r) for r in x)
    return x.view(Watched) if isinstance(x, np.ndarray) and x.ndim else x


@pytest.mark.parametrize("batch_size", [None, 16])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("output, class_weights", OUTPUT_CASES)
def test_a_float32_step_computes_nothing_in_float64(output, class_weights, optimizer, batch_size):
    """Every activation, L2, dropout, shuffled mini-batches (the last one short), every output and class
    weights: no operation on the network's arrays runs in float64, not even a temporary nobody keeps. (The
    dropout draw itself is float64 on purpose, so masks do not depend on the dtype; it never meets the
    network's arrays.)"""
    hidden = sorted(ACTIVATIONS)
    layers = (30, *[4] * len(hidden), {"softmax": 3, "identity": 2}.get(output, 1))
    net = Network(layers, tuple(hidden), output)
    rng = np.random.default_rng(5)
    params = {name: p.view(Watched) for name, p in initialize(layers, "he", 5, np.float32).items()}
    rows = rng.random((41, layers[0]), dtype=np.float32).view(Watched)
    Y = random_targets(net, rng, 41, np.float32).view(Watched)
    settings = Settings(
        learning_rate=0.05,
        optimizer=optimizer,
        l2=0.3,
        keep_probs=(0.8,) * len(hidden),
        batch_size=batch_size,
        seed=1,
        class_weights=class_weights,
    )
    trainer = Trainer(net, params, settings, ArraySource(rows, Y))
    Watched.dtypes.clear()
    for _ in range(4):
        assert isinstance(trainer.step(), float)
    assert len(Watched.dtypes) > 100  # the watch saw the step
    assert [op for op, dtype in Watched.dtypes if dtype == np.float64] == []


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_an_update_makes_no_array_as_large_as_a_weight_matrix(optimizer, dtype):
    """The update works in place, with the spent gradients as scratch: a fresh array as large as W1
    at every step costs a page fault for every 4 KiB of it."""
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(20, 4000)).astype(dtype), "b1": np.zeros((20, 1), dtype)}
    optimizer = OPTIMIZERS[optimizer]
    state = optimizer.init_state(params)
    for _ in range(2):
        grads = {"d" + name: rng.normal(size=p.shape).astype(dtype) for name, p in params.items()}
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            optimizer.update(params, grads, state, 0.01, **optimizer.defaults)
            made = tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
        assert made < params["W1"].nbytes / 10
