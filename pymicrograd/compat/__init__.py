"""A drop-in for karpathy's micrograd: ``micrograd.`` becomes ``pymicrograd.compat.``.

>>> from pymicrograd.compat.engine import Value
>>> from pymicrograd.compat.nn import MLP
>>> a = Value(-4.0)
>>> b = (a * 2 + 1).relu()
>>> b
Value(data=0.0, grad=0)
>>> import random
>>> random.seed(1337)
>>> MLP(2, [2, 1])
MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2)], Layer of [LinearNeuron(2)]]

`engine.Value` is a `pymicrograd.Tensor` with micrograd's names and repr; `nn` has
micrograd's `Module`, `Neuron`, `Layer` and `MLP`, built on the C layers of
`pymicrograd.nn`, drawing their weights from Python's global `random` in micrograd's
order. docs/coming-from-micrograd.md lists what differs.
"""

from . import engine, nn

__all__ = ["engine", "nn"]
