"""pymicrograd.optim: torch's defaults, a model trained step by step, the C calls, state.

The trajectories of SGD (momentum 0, 1 and between), Adam and AdamW against torch.optim,
step by step with a learning rate that changes every step, are checks of the suite
(pymicrograd.testing._suite, area "optim"), run by tests/test_checks.py.
"""

from __future__ import annotations

import gc
from typing import Any, Callable

import pytest
from c_calls import CountingLib
from lazy_torch import assert_close, torch

from pymicrograd import Tensor, live_nodes, optim
from pymicrograd.losses import sse_loss
from pymicrograd.nn import MLP
from pymicrograd.optim import SGD, Adam, AdamW


@pytest.mark.needs_torch
def test_defaults_are_torchs() -> None:
    p = [Tensor(1.0)]
    for ours, theirs in ((Adam(p), torch.optim.Adam), (AdamW(p), torch.optim.AdamW)):
        defaults = theirs([torch.zeros(1, requires_grad=True)]).defaults
        assert ours.lr == defaults["lr"]
        assert ours.betas == defaults["betas"]
        assert ours.eps == defaults["eps"]
        assert ours.weight_decay == defaults["weight_decay"]
    sgd = SGD(p, 0.1)
    assert (sgd.momentum, sgd.weight_decay) == (0.0, 0.0)


@pytest.mark.needs_torch
def test_training_a_model_matches_torch() -> None:
    """Adam on a model's real gradients, step by step, against torch.optim.Adam."""
    model = MLP(2, [3, 1], seed=0)
    params = model.parameters()
    t_params = [torch.tensor(p.value, dtype=torch.float64, requires_grad=True) for p in params]
    opt, t_opt = Adam(params, lr=0.05), torch.optim.Adam(t_params, lr=0.05)
    X, y = [[1.0, -1.0], [0.5, 2.0], [-1.0, 0.0]], [1.0, -1.0, 0.5]
    for _ in range(5):
        opt.zero_grad()
        sse_loss(model.forward_batch(X), y).backward()
        for p, t in zip(params, t_params):
            t.grad = torch.tensor(p.gradient, dtype=torch.float64)
        opt.step()
        t_opt.step()
        assert_close(torch.tensor([p.value for p in params], dtype=torch.float64),
                     torch.stack([t.detach() for t in t_params]))


def test_step_and_zero_grad_are_one_c_call(monkeypatch: pytest.MonkeyPatch) -> None:
    params = [Tensor(float(i)) for i in range(50)]
    opts = [SGD(params, 0.1, momentum=0.9), Adam(params), AdamW(params)]
    counting = CountingLib(optim.lib)
    monkeypatch.setattr(optim, "lib", counting)
    for opt in opts:
        counting.calls.clear()
        opt.step()
        opt.zero_grad()
        assert counting.calls == ["mg_optimizer_step", "mg_optimizer_zero_grad"]


def test_zero_grad_and_lr() -> None:
    params = [Tensor(1.0), Tensor(2.0)]
    opt = SGD(params, lr=0.5)
    for p in params:
        p.gradient = 3.0
    opt.step()
    assert [p.value for p in params] == [-0.5, 0.5]
    opt.zero_grad()
    assert [p.gradient for p in params] == [0.0, 0.0]
    opt.lr = 0.25
    assert opt.lr == 0.25
    opt.lr = 1  # an int is fine
    assert opt.lr == 1.0 and isinstance(opt.lr, float)
    with pytest.raises(ValueError, match="lr must be in"):
        opt.lr = -0.1
    with pytest.raises(TypeError, match="lr must be an int or float"):
        opt.lr = "0.1"  # type: ignore[assignment]
    assert opt.lr == 1.0
    assert opt.params == tuple(params)
    assert repr(opt) == "SGD(2 parameters, lr=1.0, momentum=0.0, weight_decay=0.0)"
    assert repr(Adam(params)).startswith("Adam(2 parameters, lr=0.001, betas=(0.9, 0.999)")


def test_the_optimizer_keeps_its_parameters_and_frees_them() -> None:
    gc.collect()
    base = live_nodes()
    params = [Tensor(1.0), Tensor(2.0)]
    opt = Adam(params, lr=0.1)
    params[0].gradient = params[1].gradient = 1.0
    del params
    opt.step()  # the C optimizer holds its own references
    assert [p.value for p in opt.params] == pytest.approx([0.9, 1.9])
    assert live_nodes() == base + 2
    del opt
    assert live_nodes() == base


@pytest.mark.parametrize("make, error, message", [
    (lambda: SGD([], 0.1), ValueError, "params must not be empty"),
    (lambda: SGD([Tensor(1.0), 2.0], 0.1), TypeError, r"params\[1\] must be a Tensor"),
    (lambda: SGD(Tensor(1.0), 0.1), None, None),
    (lambda: SGD([X := Tensor(1.0), X], 0.1), ValueError, "more than once"),
    (lambda: SGD([Tensor(1.0)], -1.0), ValueError, "lr must be in"),
    (lambda: SGD([Tensor(1.0)], 0.1, momentum=-0.5), ValueError, "momentum must be in"),
    (lambda: SGD([Tensor(1.0)], 0.1, weight_decay=-1), ValueError, "weight_decay must be in"),
    (lambda: Adam([Tensor(1.0)], betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be in"),
    (lambda: Adam([Tensor(1.0)], betas=(-0.1, 0.9)), ValueError, r"betas\[0\] must be in"),
    (lambda: Adam([Tensor(1.0)], betas=0.9), ValueError, "betas must be a pair"),
    (lambda: AdamW([Tensor(1.0)], eps=-1e-8), ValueError, "eps must be in"),
    (lambda: Adam([Tensor(1.0)], lr=float("nan")), ValueError, "lr must be in"),
])
def test_bad_arguments(make: Callable[[], Any], error: type[Exception] | None,
                       message: str | None) -> None:
    if error is None:
        make()
        return
    with pytest.raises(error, match=message):
        make()
