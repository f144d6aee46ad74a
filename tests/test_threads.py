"""Threads: cffi releases the GIL around every C call, so the core runs concurrently.

Every gradient contribution here is a small integer or a half, and every total stays far
below 2**53, so floating-point addition is exact in any order: concurrent results must
equal the sequential ones bit for bit, and any lost or doubled update shows.
"""

from __future__ import annotations

import gc
import sys
import threading
from contextlib import contextmanager

from pymicrograd import Tensor, live_nodes

N_THREADS = 4
K = 8  # shared parameters


@contextmanager
def _fast_switching():
    """Switch Python threads every 10 us so their C calls interleave densely."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def _run_threads(targets):
    """Start all targets together; re-raise the first exception any of them raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(targets))

    def wrap(fn):
        def run():
            try:
                barrier.wait()
                fn()
            except BaseException as e:  # reported in the main thread below
                errors.append(e)

        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    with _fast_switching():
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]


def _params():
    """Shared leaves with values 1..K: relu inputs below stay positive."""
    return [Tensor(float(k + 1)) for k in range(K)]


def _loss(params, inputs, repeats):
    """~7 * K * repeats nodes over the shared params, with reuse and a diamond.

    Per repeat, d/dW[k] = 0.5 * (x[k] + 2 W[k]) - 1: a multiple of 1/2.
    """
    acc = None
    for _ in range(repeats):
        for w, x in zip(params, inputs):
            h = w * x + w * w  # w used twice, then h feeds relu
            term = h.relu() * 0.5 - w
            acc = term if acc is None else acc + term
    return acc


def _inputs(thread):
    return [Tensor(float((thread + k) % 3 + 1)) for k in range(K)]


def _expected_param_grads(threads, calls, repeats):
    """Closed form: per call and repeat, thread t adds 0.5 * (x[k] + 2 W[k]) - 1."""
    return [
        calls * repeats * sum(0.5 * (((t + k) % 3 + 1) + 2 * (k + 1)) - 1 for t in threads)
        for k in range(K)
    ]


def test_concurrent_backward_on_shared_params_equals_sequential():
    """4 threads build ~2,800-node graphs on shared params and backprop 40 times each: the params'
    gradients equal the sequential run's exactly, and every node is freed afterwards."""
    iterations, repeats = 40, 50
    gc.collect()
    base = live_nodes()

    def worker(params, thread):
        inputs = _inputs(thread)

        def run():
            for _ in range(iterations):
                loss = _loss(params, inputs, repeats)
                loss.backward()
                assert loss.gradient == 1.0
            for k, x in enumerate(inputs):  # each thread's own leaves: W[k] / 2 per use
                assert x.gradient == iterations * repeats * 0.5 * (k + 1)

        return run

    sequential = _params()
    for t in range(N_THREADS):
        worker(sequential, t)()
    concurrent = _params()
    _run_threads([worker(concurrent, t) for t in range(N_THREADS)])

    assert [p.gradient for p in concurrent] == [p.gradient for p in sequential]
    assert [p.gradient for p in concurrent] == _expected_param_grads(
        range(N_THREADS), iterations, repeats
    )
    assert [p.value for p in concurrent] == [float(k + 1) for k in range(K)]
    assert live_nodes() == base + 2 * K
    del sequential, concurrent
    assert live_nodes() == base


def test_concurrent_backward_on_one_shared_root():
    """4 threads call backward() 200 times each on the same root: 800 calls' worth."""
    gc.collect()
    base = live_nodes()
    params = _params()
    inputs = _inputs(0)
    root = _loss(params, inputs, repeats=200)  # ~11,000 nodes
    calls = 200

    def run():
        for _ in range(calls):
            root.backward()

    _run_threads([run] * N_THREADS)
    total = N_THREADS * calls
    assert root.gradient == float(total)
    assert [p.gradient for p in params] == _expected_param_grads([0], total, 200)
    root = params = inputs = None  # closures see the cells: this drops the Tensors
    assert live_nodes() == base


def test_builders_and_droppers_alongside_a_backward_thread():
    """2 threads build, read and drop graphs on shared params while a third backprops.

    The builders never call backward, so the params end with exactly the backward
    thread's contributions; the builders' forward values stay exact throughout.
    """
    gc.collect()
    base = live_nodes()
    params = _params()
    calls = 300
    stop = threading.Event()

    def backprop():
        inputs = _inputs(1)
        loss = _loss(params, inputs, repeats=1000)  # ~56,000 nodes: long C calls
        try:
            for _ in range(calls):
                loss.backward()
        finally:
            stop.set()

    def build_and_drop(seed):
        def run():
            rounds = 0
            while not stop.is_set() or rounds < 20:
                x = Tensor(float(seed))
                g = _loss(params, [x] * K, repeats=3)
                # sum over k of 0.5 * (W x + W^2) - W, times 3, with W = k+1
                expected = 3 * sum(
                    0.5 * ((k + 1) * seed + (k + 1) ** 2) - (k + 1) for k in range(K)
                )
                assert g.value == expected
                kids = g.children  # retain/release shared nodes concurrently
                assert len(kids) == 2
                del g, kids, x
                rounds += 1

        return run

    _run_threads([backprop, build_and_drop(2), build_and_drop(3)])
    assert [p.gradient for p in params] == _expected_param_grads([1], calls, 1000)
    assert live_nodes() == base + K
    params = None  # (a closure holds this cell, so rebind rather than del)
    assert live_nodes() == base


def test_concurrent_retain_release_of_shared_nodes():
    """4 threads take and drop .children wrappers of one graph 5,000 times each: the
    atomic reference counts come back exact (nothing freed early, nothing leaked)."""
    gc.collect()
    base = live_nodes()
    x, y = Tensor(2.0), Tensor(3.0)
    root = (x * y + x).tanh()
    size = live_nodes() - base
    assert size == 5

    def run():
        for _ in range(5000):
            (inner,) = root.children
            mul, x_node = inner.children
            assert x_node == x
            assert mul.value == 6.0
            a, b = mul.children
            assert (a.value, b.value) == (2.0, 3.0)
            del inner, mul, x_node, a, b

    _run_threads([run] * N_THREADS)
    assert live_nodes() == base + size
    x = y = None  # (closures hold these cells, so rebind rather than del)
    assert live_nodes() == base + size
    root = None
    assert live_nodes() == base


def test_concurrent_drop_of_graphs_sharing_an_intermediate():
    """Threads build on one shared intermediate node and drop their graphs at once: the
    shared node survives with its value, and everything else is freed."""
    gc.collect()
    base = live_nodes()
    w = Tensor(1.5)
    shared = (w * w).exp()
    value = shared.value

    def run():
        for i in range(1000):
            g = shared
            for _ in range(20):
                g = g * 0.5 + shared
            if i % 3 == 0:
                g.backward()
            del g

    _run_threads([run] * N_THREADS)
    assert shared.value == value
    assert live_nodes() == base + 3
    w = shared = None  # (a closure holds this cell, so rebind rather than del)
    assert live_nodes() == base
