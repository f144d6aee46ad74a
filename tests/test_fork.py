"""os.fork() while another thread is inside the C core: the child can use the library.

A child of fork() has only the thread that forked. A lock of the core that another thread
held at that moment (backward() runs under one, freeing a graph under another) used to
stay taken in the child for ever, and the child hung at its first call. The core's fork
handlers (csrc/fork.c) make fork() wait until no thread is inside a locked section.

Each test starts a thread that makes one long C call under a lock, backward() on a large
graph (about 0.1 s) or dropping the last reference to it (about 0.05 s), and forks from
the main thread while that call runs. The child must find the library's state
consistent (the call wholly done, or for the drop possibly not begun), build and
backpropagate a small graph, and exit 0; the parent kills a child still running after
TIMEOUT seconds and fails, so a regression fails instead of hanging the suite. Before
the fix both children hung.

Aiming the fork: backward() first sets the gradients it will compute aside (a leaf's
reads 0 until the pass ends), so the main thread watches a leaf's gradient leave its
starting value and forks then, inside the locked section for certain. A drop shows
nothing outside its lock, so that test forks a few milliseconds after the thread makes
the call, inside it unless the machine stalls that thread. (tests/c/test_fork.c forks
inside both sections every time, with a stalling allocator that Python cannot install.)
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
import traceback

import pytest

from pymicrograd import Tensor, live_nodes, losses
from pymicrograd.nn import Layer

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
    # Python 3.12+ warns that forking a threaded process may deadlock the child: the
    # very thing these tests show does not happen in the core.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

TIMEOUT = 30.0  # seconds a child may take before it counts as hung
WIDTH, DEPTH = 300, 200  # 60,000 neuron nodes and 18 million edges
START = 1.0  # the leaves' gradient before the worker's backward()
AIM_DELAY = 0.005  # seconds into the worker's drop of the graph that the fork comes


def _deep_graph():
    """A layer applied DEPTH times to WIDTH leaves, summed: (leaves, root, layer)."""
    layer = Layer(WIDTH, WIDTH, "tanh", seed=1)
    xs = [Tensor(0.01 * i) for i in range(WIDTH)]
    h = xs
    for _ in range(DEPTH):
        h = layer(h)
    return xs, losses.sse_loss(h, [0.0] * WIDTH), layer


def _small_graph_works():
    """In the child: a new graph builds and backpropagates."""
    x = Tensor(3.0)
    y = x * x + x
    y.backward()
    assert x.gradient == 7.0


def _fork_while(worker, aim, child_checks):
    """Run worker on a thread; fork once aim() returns; check the child.

    The worker calls started.set() just before its long C call; aim() runs in the main
    thread after that and returns when the call is (very likely) inside its lock. The
    child runs child_checks() and _small_graph_works() and exits 0 if both pass.
    """
    started = threading.Event()
    thread = threading.Thread(target=worker, args=(started,))
    thread.start()
    try:
        assert started.wait(TIMEOUT)
        aim()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                child_checks()
                _small_graph_works()
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)
        status = _wait_child(pid)
    finally:
        thread.join()
    assert status == 0, f"the child failed (exit status {status}); its traceback is above"


def _wait_child(pid):
    """The child's exit code (negative: killed by that signal); fails after TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"the child hung: still running after {TIMEOUT} s (killed)")


def test_fork_while_another_thread_runs_backward():
    """The fork comes inside backward(); the child finds it finished (every leaf's gradient
    is START plus what a fresh backward() gives), and can backprop on its own."""
    xs, root, _layer = _deep_graph()
    for x in xs:
        x.gradient = START

    def worker(started):
        started.set()
        root.backward()

    def inside_backward():
        # Reads a gradient that the worker's backward() writes: a data race in C terms,
        # harmless for an aligned double, and only a hint; the checks are the child's.
        deadline = time.monotonic() + TIMEOUT
        while xs[0].gradient == START and time.monotonic() < deadline:
            pass

    def child_checks():
        inherited = [x.gradient for x in xs]
        for x in xs:
            x.gradient = 0.0
        root.backward()  # the inherited graph and backward's work arrays work too
        fresh = [x.gradient for x in xs]
        assert any(fresh)
        assert inherited == [START + g for g in fresh]

    _fork_while(worker, inside_backward, child_checks)


def test_fork_while_another_thread_drops_a_graph():
    """The fork comes (very likely) inside the drop; the child finds the graph wholly
    freed or not yet touched (the live node count is one of the two), and can build
    graphs on its own."""
    gc.collect()  # a failed test's frames may hold graphs
    base = live_nodes()
    xs, root, layer = _deep_graph()
    holder = [root]
    del root
    without_graph = base + WIDTH + WIDTH * (WIDTH + 1)  # the leaves and the parameters
    with_graph = without_graph + DEPTH * WIDTH + WIDTH + 1  # neurons, errors, their sum
    assert live_nodes() == with_graph

    def worker(started):
        root = holder.pop()  # the only reference: dropping it frees DEPTH * WIDTH nodes
        started.set()
        del root

    def child_checks():
        assert live_nodes() in (with_graph, without_graph)

    _fork_while(worker, lambda: time.sleep(AIM_DELAY), child_checks)
    assert live_nodes() == without_graph
    del xs, layer
    assert live_nodes() == base
