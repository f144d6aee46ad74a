"""micrograd's ``Module``, ``Neuron``, ``Layer`` and ``MLP`` on pymicrograd's C layers.

``from pymicrograd.compat.nn import MLP`` replaces ``from micrograd.nn import MLP``.
The signatures, defaults and reprs are micrograd's: ``Neuron(nin, nonlin=True)``,
``Layer(nin, nout, **kwargs)`` (the kwargs go to each Neuron), ``MLP(nin, nouts)``
with ReLU hidden layers and a linear last layer, weights uniform in [-1, 1] and biases
0. Weights are drawn with Python's global ``random.uniform(-1, 1)`` in micrograd's
order (layer by layer, neuron by neuron, weight by weight; a bias draws nothing), so
after the same ``random.seed(s)`` a model starts with micrograd's weights exactly.

Underneath, each Layer is one C dense layer of `pymicrograd.nn` (these classes
subclass its classes, so ``state_dict``, ``save``, ``load`` and
``MLP.forward_batch`` work too): a neuron's output is one C node, an MLP's forward
pass one C call. Parameters and outputs are `compat.engine.Value` objects.

Differences from micrograd: a forward pass checks its number of inputs (micrograd's
``zip`` silently drops extra inputs or weights), and a hidden layer of width 1 works
(its single output feeds the next layer; micrograd raises TypeError there).

>>> import random
>>> random.seed(0)
>>> model = MLP(3, [4, 1])
>>> model
MLP of [Layer of [ReLUNeuron(3), ReLUNeuron(3), ReLUNeuron(3), ReLUNeuron(3)], \
Layer of [LinearNeuron(4)]]
>>> len(model.parameters())
21
>>> model([1.0, 2.0, 3.0])
Value(data=..., grad=0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union, cast

from .. import nn as _nn
from ..batch import BatchOutputs
from ..engine import Tensor
from .engine import Value

__all__ = ["MLP", "Layer", "Module", "Neuron"]

_Inputs = Union[Sequence[Union[Tensor, float]], Tensor, float]


def _activation(nonlin: object) -> str:
    return "relu" if nonlin else "linear"


def _as_values(ts: list[Tensor]) -> list[Value]:
    """Turn Tensors into Values in place (same layout: only the class changes)."""
    for t in ts:
        t.__class__ = Value
    return cast("list[Value]", ts)


def _out(out: Tensor | list[Tensor]) -> Value | list[Value]:
    if isinstance(out, list):
        return _as_values(out)
    out.__class__ = Value
    return cast(Value, out)


class Module(_nn.Module):
    """micrograd's base class: ``parameters()`` and ``zero_grad()``.

    A subclass overrides ``parameters()``; ``zero_grad()`` sets every parameter's grad
    to 0. It is a `pymicrograd.nn.Module`, so ``state_dict()``, ``save()`` and ``load()``
    work on any subclass too.
    """


class Neuron(Module, _nn.Neuron):
    """micrograd's neuron: ``relu(b + sum_i w[i] * x[i])``.

    Without the ReLU if ``nonlin`` is false. ``w`` is the list of weight Values, ``b``
    the bias Value.
    """

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        """`nin` weights from ``random.uniform(-1, 1)`` and a bias of 0, as in micrograd."""
        _nn.Neuron.__init__(self, nin, _activation(nonlin))
        _as_values(_nn.Neuron.parameters(self))

    @property
    def nonlin(self) -> bool:
        """True for a ReLU neuron, False for a linear one."""
        return bool(self.activation == "relu")

    def __call__(self, x: _Inputs) -> Value:
        """The neuron's output on `nin` inputs (Values or numbers)."""
        return cast(Value, _out(_nn.Neuron.__call__(self, x)))

    def parameters(self) -> list[Value]:  # type: ignore[override]
        """The weights, then the bias."""
        return cast("list[Value]", _nn.Neuron.parameters(self))

    def __repr__(self) -> str:
        """``ReLUNeuron(2)`` or ``LinearNeuron(2)``."""
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({self.nin})"


class Layer(Module, _nn.Layer):
    """micrograd's layer: `nout` Neurons (``.neurons``) over the same `nin` inputs."""

    _neuron_type = Neuron  # type: ignore[assignment]

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        """`nout` neurons made like ``Neuron(nin, **kwargs)``: ``nonlin`` (default True)."""
        unknown = set(kwargs) - {"nonlin"}
        if unknown:
            raise TypeError(f"Neuron() got an unexpected keyword argument "
                            f"{sorted(unknown)[0]!r}")
        _nn.Layer.__init__(self, nin, nout, _activation(kwargs.get("nonlin", True)))

    def _adopt(self, handle: Any, nin: int, nout: int, activation: str,
               params: Sequence[Tensor]) -> None:
        _nn.Layer._adopt(self, handle, nin, nout, activation, _as_values(list(params)))

    def __call__(self, x: _Inputs) -> Value | list[Value]:  # type: ignore[override]
        """The outputs on `nin` inputs: a Value if `nout` is 1, else a list of Values."""
        return _out(_nn.Layer.__call__(self, x))

    def parameters(self) -> list[Value]:  # type: ignore[override]
        """Per neuron: its weights, then its bias."""
        return cast("list[Value]", _nn.Layer.parameters(self))

    def __repr__(self) -> str:
        """``Layer of [ReLUNeuron(2), ReLUNeuron(2)]``."""
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module, _nn.MLP):
    """micrograd's multi-layer perceptron: ReLU hidden layers, a linear last layer.

    ``layers`` lists its `Layer` objects. A forward pass is one C call.
    """

    _layer_type = Layer  # type: ignore[assignment]

    def __init__(self, nin: int, nouts: list[int]) -> None:
        """``Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1)`` for ``sz = [nin] + nouts``."""
        _nn.MLP.__init__(self, nin, nouts, "relu", "linear", seed=None)

    def __call__(self, x: _Inputs) -> Value | list[Value]:  # type: ignore[override]
        """The outputs on `nin` inputs: a Value if the last layer has one, else a list."""
        return _out(_nn.MLP.__call__(self, x))

    def forward_batch(self, X: Any) -> BatchOutputs:
        """`pymicrograd.nn.MLP.forward_batch` (one C call for many rows), giving Values."""
        return self._forward_batch(X, Value)

    def parameters(self) -> list[Value]:  # type: ignore[override]
        """Layer by layer, neuron by neuron: the weights, then the bias."""
        return cast("list[Value]", _nn.MLP.parameters(self))

    def __repr__(self) -> str:
        """``MLP of [Layer of [ReLUNeuron(2), ...], ..., Layer of [LinearNeuron(16)]]``."""
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
