"""Optimizers that update every parameter in one C call: `SGD`, `Adam`, `AdamW`.

Each follows the update rule of its ``torch.optim`` namesake (defaults included), so
trajectories match step for step. The learning rate ``lr`` may change between steps
(micrograd's demo decays it):

>>> from pymicrograd import Tensor
>>> p = Tensor(1.0)
>>> opt = SGD([p], lr=0.1)
>>> (p * p).backward()
>>> opt.step()
>>> p.value
0.8
>>> opt.zero_grad()
>>> p.gradient
0.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from . import _nodes
from ._core import ffi, lib
from .engine import Tensor

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]


def _hyper(x: object, name: str, lo: float = 0.0, hi: float = math.inf,
           hi_open: bool = False) -> float:
    """A hyperparameter as a finite float in [lo, hi] (or [lo, hi)), else ValueError."""
    v = _nodes.as_float(x, name)
    if not (lo <= v <= hi) or (hi_open and v == hi) or not math.isfinite(v):
        bound = f"[{lo}, {hi})" if hi_open else f"[{lo}, {hi}]"
        raise ValueError(f"{name} must be in {bound}, got {v!r}")
    return v


class Optimizer:
    """The shared part of the optimizers: parameters, learning rate, step, zero_grad.

    The C optimizer keeps its own references to the parameters and its state (momentum
    buffers, moments); it is freed with this object.
    """

    def __init__(self, params: Iterable[Tensor], lr: float, handle_factory: Any) -> None:
        """Check `params` and `lr`, then make the C optimizer with `handle_factory`.

        `handle_factory(nodes, n)` makes the C optimizer from an ``mg_node *[]``.
        """
        name = type(self).__name__
        self.lr = lr
        ps = _nodes.as_tensors(params, f"{name}: params")
        if len(set(ps)) != len(ps):
            raise ValueError(f"{name}: a parameter appears more than once in params")
        ptr = handle_factory(_nodes.node_array(ps), len(ps))
        if not ptr:
            raise _nodes.out_of_memory(name)
        self._handle = ffi.gc(ptr, lib.mg_optimizer_free)
        self._params = tuple(ps)

    @property
    def params(self) -> tuple[Tensor, ...]:
        """The parameters this optimizer updates."""
        return self._params

    @property
    def lr(self) -> float:
        """The learning rate of the next `step`; writable (a schedule sets it each step)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _hyper(value, "lr")

    def step(self) -> None:
        """Update every parameter from its current gradient (one C call)."""
        lib.mg_optimizer_step(self._handle, self._lr)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (one C call)."""
        lib.mg_optimizer_zero_grad(self._handle)

    def __repr__(self) -> str:
        """The class name, the number of parameters and the hyperparameters."""
        return f"{type(self).__name__}({len(self._params)} parameters, {self._hypers()})"

    def _hypers(self) -> str:
        return f"lr={self._lr!r}"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and weight decay.

    As ``torch.optim.SGD`` (no dampening, no Nesterov): ``d = grad + weight_decay * p``;
    with momentum, ``buf = momentum * buf + d`` (``buf = d`` on the first step) and
    ``p -= lr * buf``; without, ``p -= lr * d``.
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        """SGD over `params` (e.g. ``model.parameters()``)."""
        self.momentum = _hyper(momentum, "momentum")
        self.weight_decay = _hyper(weight_decay, "weight_decay")
        super().__init__(params, lr, lambda nodes, n: lib.mg_sgd_new(
            nodes, n, self.momentum, self.weight_decay))

    def _hypers(self) -> str:
        return f"lr={self.lr!r}, momentum={self.momentum!r}, weight_decay={self.weight_decay!r}"


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``: weight decay adds ``weight_decay * p`` to the gradient."""

    _decoupled = 0

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        """Adam over `params` with torch's defaults."""
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair of numbers, got {betas!r}")
        self.betas = (_hyper(betas[0], "betas[0]", 0.0, 1.0, hi_open=True),
                      _hyper(betas[1], "betas[1]", 0.0, 1.0, hi_open=True))
        self.eps = _hyper(eps, "eps")
        self.weight_decay = _hyper(weight_decay, "weight_decay")
        super().__init__(params, lr, lambda nodes, n: lib.mg_adam_new(
            nodes, n, self.betas[0], self.betas[1], self.eps, self.weight_decay,
            self._decoupled))

    def _hypers(self) -> str:
        return (f"lr={self.lr!r}, betas={self.betas!r}, eps={self.eps!r}, "
                f"weight_decay={self.weight_decay!r}")


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW``: decoupled weight decay, ``p *= 1 - lr * wd``."""

    _decoupled = 1

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> None:
        """AdamW over `params` with torch's defaults (weight decay 0.01)."""
        super().__init__(params, lr, betas, eps, weight_decay)
