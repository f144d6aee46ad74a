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
from ._core import check_status, ffi, lib, owned
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
    buffers, moments); it is freed with this object. The hyperparameters other than
    `lr` are read-only: the C optimizer was made with them. ``copy.deepcopy`` and
    ``pickle`` copy the state too, so a copy continues where the original stopped.
    """

    _HYPERS: tuple[str, ...] = ()
    """The names of the constructor's hyperparameters, besides params and lr."""

    def __init__(self, params: Iterable[Tensor], lr: float, handle_factory: Any) -> None:
        """Check `params` and `lr`, then make the C optimizer with `handle_factory`.

        `handle_factory` is ``(C constructor, *hyperparameters)``; the constructor
        takes an ``mg_node *[]``, its length, then the hyperparameters. Raises
        ValueError for a parameter given twice or one that is not a leaf (an
        update to a computed Tensor would be lost at the next forward pass).
        """
        name = type(self).__name__
        self.lr = lr
        ps = _nodes.as_tensors(params, f"{name}: params")
        if len(set(ps)) != len(ps):
            raise ValueError(f"{name}: a parameter appears more than once in params")
        for i, p in enumerate(ps):
            if lib.mg_op_of(p._node) != lib.MG_OP_LEAF:
                raise ValueError(f"{name}: params[{i}] is computed by {p.op!r}, not a leaf: "
                                 "only leaves (a model's parameters, Tensor(value)) can be "
                                 "optimized")
        constructor, *hypers = handle_factory
        self._handle = owned(constructor, _nodes.node_array(ps), len(ps), *hypers, what=name,
                             free=lib.mg_optimizer_free)
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

    def _state(self) -> tuple[list[float], list[float], int]:
        """The C state: buffers m and v (see mg_optimizer_get_state) and steps taken."""
        n = len(self._params)
        m, v, steps = ffi.new("double[]", n), ffi.new("double[]", n), ffi.new("long *")
        check_status(lib.mg_optimizer_get_state(self._handle, m, v, steps), "optimizer state")
        return list(m), list(v), int(steps[0])

    def __reduce__(self) -> tuple[Any, ...]:
        """Copies and pickles: the same optimizer and state over copied parameters.

        The parameters are shared with a model copied in the same call.
        """
        hypers = {name: getattr(self, name) for name in self._HYPERS}
        return (_restore, (type(self), self._params, self._lr, hypers, self._state()))

    def __repr__(self) -> str:
        """The class name, the number of parameters and the hyperparameters."""
        hypers = "".join(f", {name}={getattr(self, name)!r}" for name in self._HYPERS)
        return f"{type(self).__name__}({len(self._params)} parameters, lr={self._lr!r}{hypers})"


def _restore(cls: type[Optimizer], params: tuple[Tensor, ...], lr: float,
             hypers: dict[str, Any], state: tuple[list[float], list[float], int]) -> Optimizer:
    """An optimizer made as `Optimizer.__reduce__` describes it."""
    opt = cls(params, lr, **hypers)
    m, v, steps = state
    check_status(lib.mg_optimizer_set_state(opt._handle, ffi.new("double[]", m),
                                            ffi.new("double[]", v), steps), "optimizer state")
    return opt


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and weight decay.

    As ``torch.optim.SGD`` (no dampening, no Nesterov): ``d = grad + weight_decay * p``;
    with momentum, ``buf = momentum * buf + d`` (``buf = d`` on the first step) and
    ``p -= lr * buf``; without, ``p -= lr * d``.
    """

    _HYPERS = ("momentum", "weight_decay")

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        """SGD over `params` (e.g. ``model.parameters()``)."""
        self._momentum = _hyper(momentum, "momentum")
        self._weight_decay = _hyper(weight_decay, "weight_decay")
        super().__init__(params, lr, (lib.mg_sgd_new, self._momentum, self._weight_decay))

    @property
    def momentum(self) -> float:
        """The momentum factor (0: none)."""
        return self._momentum

    @property
    def weight_decay(self) -> float:
        """The L2 weight decay added to the gradient."""
        return self._weight_decay


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``: weight decay adds ``weight_decay * p`` to the gradient."""

    _decoupled = 0
    _HYPERS = ("betas", "eps", "weight_decay")

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        """Adam over `params` with torch's defaults."""
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair of numbers, got {betas!r}")
        self._betas = (_hyper(betas[0], "betas[0]", 0.0, 1.0, hi_open=True),
                       _hyper(betas[1], "betas[1]", 0.0, 1.0, hi_open=True))
        self._eps = _hyper(eps, "eps")
        self._weight_decay = _hyper(weight_decay, "weight_decay")
        super().__init__(params, lr, (lib.mg_adam_new, *self._betas, self._eps,
                                      self._weight_decay, self._decoupled))

    @property
    def betas(self) -> tuple[float, float]:
        """The decay rates of the first and second moments."""
        return self._betas

    @property
    def eps(self) -> float:
        """Added to the denominator for numerical stability."""
        return self._eps

    @property
    def weight_decay(self) -> float:
        """The weight decay (added to the gradient; AdamW: decoupled)."""
        return self._weight_decay


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW``: decoupled weight decay, ``p *= 1 - lr * wd``."""

    _decoupled = 1

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> None:
        """AdamW over `params` with torch's defaults (weight decay 0.01)."""
        super().__init__(params, lr, betas, eps, weight_decay)
