"""An exception from a signal handler (Ctrl-C's KeyboardInterrupt) can land between any
two steps of Python code. Wherever it lands in pymicrograd, it leaks no node and is
never swallowed.

A timer fires every few tens of microseconds while a training loop runs; its handler
raises. Before the fix, an interrupt at the start of ``Tensor.__del__`` leaked the
node (and was printed as "Exception ignored" instead of reaching the caller), and one
between a C call and the wrapping of its result leaked the result.
"""

from __future__ import annotations

import copy
import gc
import signal
import time

import pytest

from pymicrograd import Tensor, live_nodes, losses, nn, optim

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")


class Interrupt(BaseException):
    """What the handler raises: a BaseException, as KeyboardInterrupt is."""


def workload(model, opt, x):
    """Every kind of call that makes or drops nodes: scalar ops, forward passes (single,
    batched, with Tensor inputs), losses, backward, optimizer steps, copies."""
    a, b = Tensor(0.5), Tensor(-1.5)
    c = (a * b + 2.0).tanh() - a / (b ** 2) + (-a).exp().log().relu().sigmoid()
    c.backward()
    out = model.forward_batch(x)
    loss = losses.mse_loss(out, [1.0, -1.0, 0.5]) + losses.l2_penalty(model, 1e-3)
    loss = loss + losses.hinge_loss(model([a, b]), [1.0])
    opt.zero_grad()
    loss.backward()
    opt.step()
    copy.deepcopy(a)
    return c.children, model.layers[0]([1.0, 2.0])


def test_interrupts_anywhere_leak_nothing_and_are_never_swallowed(capfd):
    model = nn.MLP(2, [4, 1], seed=0)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x = [[1.0, 2.0], [-1.0, 0.5], [0.0, -2.0]]
    gc.collect()
    baseline = live_nodes()
    state = {"armed": False, "raised": 0}

    def handler(signum, frame):
        if state["armed"]:
            state["armed"] = False   # one at a time: the except below re-arms
            state["raised"] += 1
            raise Interrupt

    caught = 0
    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 3e-5, 3e-5)
    try:
        for _ in range(3000):
            try:
                state["armed"] = True
                workload(model, opt, x)
                state["armed"] = False
            except Interrupt:
                caught += 1
    finally:
        state["armed"] = False
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        # A signal already on its way is handled by our (disarmed) handler during the
        # sleep: restored at once, the old one would see it and Python would report
        # "Signal 14 ignored due to race condition" from wherever it ran next.
        time.sleep(0.01)
        signal.signal(signal.SIGALRM, old)
    gc.collect()
    assert state["raised"] > 200, "the timer should have interrupted the loop often"
    assert caught == state["raised"], "an interrupt was swallowed"
    assert "Exception ignored" not in capfd.readouterr().err
    assert live_nodes() == baseline
