"""Hand a model over to PyTorch and back: `to_torch` and `from_torch`.

`to_torch` turns a `pymicrograd.nn.MLP` (or a `Layer` or a `Neuron`) into a
``torch.nn.Sequential`` of ``nn.Linear`` layers, each followed by its activation
module (``nn.Tanh``, ``nn.ReLU``, ``nn.Sigmoid``; nothing for ``"linear"``), with the
same weights. `from_torch` takes such a Sequential back to an `MLP`.

Weight ``i`` of neuron ``j`` (micrograd's order: neuron by neuron, weights then bias)
is ``linear.weight[j, i]``; the neuron's bias is ``linear.bias[j]``. Only values are
copied, never gradients: the torch parameters start with ``grad`` None and the
pymicrograd parameters with gradient 0.

torch is imported when one of these functions is called, not before, so pymicrograd
works without it; without torch they raise ImportError saying how to install it.
See docs/moving-on-to-pytorch.md.
"""

from __future__ import annotations

import importlib
from typing import Any, Union

from .nn import MLP, Layer, Neuron

__all__ = ["from_torch", "to_torch"]

Model = Union[MLP, Layer, Neuron]
"""What `to_torch` accepts."""

_TORCH_HINT = ("pip install torch  (this project is tested with torch==2.13.0; "
               "pip install 'pymicrograd[test]' installs that pinned version)")

_MODULE_NAMES = {"tanh": "Tanh", "relu": "ReLU", "sigmoid": "Sigmoid"}
"""The torch.nn module class for each activation ("linear" has none)."""


def _import_torch() -> Any:
    """The torch module, or ImportError naming the install command."""
    try:
        return importlib.import_module("torch")
    except ImportError as e:
        raise ImportError(f"pymicrograd.interop needs PyTorch, which could not be "
                          f"imported ({e}). Install it with: {_TORCH_HINT}") from e


def _layers_of(model: object) -> list[Layer | Neuron]:
    """The C layers of `model` (a Neuron counts as a layer of one neuron)."""
    if isinstance(model, MLP):
        return list(model.layers)
    if isinstance(model, (Layer, Neuron)):
        return [model]
    raise TypeError(f"to_torch needs a pymicrograd.nn MLP, Layer or Neuron, "
                    f"not {type(model).__name__}")


def to_torch(model: Model, *, dtype: Any = None) -> Any:
    """A ``torch.nn.Sequential`` that computes what `model` computes.

    `model` is a `pymicrograd.nn.MLP`, `Layer` or `Neuron`. Each layer becomes
    ``nn.Linear(nin, nout)`` followed by ``nn.Tanh()``, ``nn.ReLU()`` or
    ``nn.Sigmoid()`` (nothing for ``"linear"``); a Neuron becomes a Linear with one
    output. The weights are copied exactly (weight ``i`` of neuron ``j`` goes to
    ``weight[j, i]``, its bias to ``bias[j]``); gradients are not copied. `dtype` is a
    floating-point torch dtype, ``torch.float64`` (None) by default, which keeps
    every value exact (float32 rounds each to the nearest float32). torch's random
    number generator is not used.

    Raises ImportError when torch is missing, TypeError for another kind of model,
    ValueError for a dtype that is not floating point.

    >>> from pymicrograd.nn import MLP
    >>> to_torch(MLP(2, [3, 1], seed=0))  # doctest: +SKIP
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): Tanh()
      (2): Linear(in_features=3, out_features=1, bias=True)
      (3): Tanh()
    )
    """
    layers = _layers_of(model)
    torch = _import_torch()
    if dtype is None:
        dtype = torch.float64
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating-point torch dtype, got {dtype!r}")
    modules: list[Any] = []
    for layer in layers:
        nin = layer.nin
        params = [p.value for p in layer.parameters()]
        step = nin + 1
        nout = len(params) // step
        per_neuron = [params[j * step:(j + 1) * step] for j in range(nout)]  # w..., b
        # skip_init: no random initial values, so torch's generator is left alone
        linear = torch.nn.utils.skip_init(torch.nn.Linear, nin, nout, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([n[:nin] for n in per_neuron], dtype=torch.float64))
            linear.bias.copy_(torch.tensor([n[nin] for n in per_neuron], dtype=torch.float64))
        modules.append(linear)
        if layer.activation in _MODULE_NAMES:
            modules.append(getattr(torch.nn, _MODULE_NAMES[layer.activation])())
    return torch.nn.Sequential(*modules)


def _activation_name(torch: Any, module: Any) -> str | None:
    """The pymicrograd name of an activation module, or None if it is not one."""
    nn = torch.nn
    for cls, name in ((nn.Tanh, "tanh"), (nn.ReLU, "relu"), (nn.Sigmoid, "sigmoid"),
                      (nn.Identity, "linear")):
        if type(module) is cls:
            return name
    return None


def from_torch(seq: Any) -> MLP:
    """A `pymicrograd.nn.MLP` with the weights and activations of `seq`.

    `seq` is a ``torch.nn.Sequential`` of ``nn.Linear`` layers, each followed by at
    most one of ``nn.Tanh``, ``nn.ReLU``, ``nn.Sigmoid`` or ``nn.Identity`` (no module
    or Identity: the layer is ``"linear"``). Each Linear's in_features must be the
    previous one's out_features. A Linear without a bias gets biases 0 (which then
    train like any other parameter). Values are copied as float64 from any dtype and
    device; gradients are not copied (the MLP's start at 0).

    `MLP` applies one activation to every hidden layer and may apply another to the
    last one (``final_activation``), so every Linear but the last must be followed by
    the same activation; a Sequential whose hidden layers differ raises ValueError.
    With a single Linear both ``activation`` and ``final_activation`` are its
    activation (an MLP of one layer never uses ``activation``).

    Raises ImportError when torch is missing, TypeError if `seq` is not a
    Sequential, and ValueError, naming the module and its position in `seq`, for
    anything else it cannot turn into an MLP.
    """
    torch = _import_torch()
    if not isinstance(seq, torch.nn.Sequential):
        raise TypeError(f"from_torch needs a torch.nn.Sequential, not {type(seq).__name__}")
    modules = list(seq)
    if not modules:
        raise ValueError("from_torch needs at least one nn.Linear; the Sequential is empty")
    linears: list[Any] = []
    acts: list[str] = []
    for pos, module in enumerate(modules):
        if type(module) is torch.nn.Linear:
            if linears and module.in_features != linears[-1].out_features:
                raise ValueError(
                    f"seq[{pos}] is Linear(in_features={module.in_features}) but the "
                    f"Linear before it has out_features={linears[-1].out_features}")
            linears.append(module)
            acts.append("linear")
            continue
        name = _activation_name(torch, module)
        if name is None:
            raise ValueError(
                f"seq[{pos}] is {type(module).__name__}, which from_torch does not "
                f"support: it takes nn.Linear layers, each followed by at most one of "
                f"nn.Tanh, nn.ReLU, nn.Sigmoid, nn.Identity")
        if not linears or type(modules[pos - 1]) is not torch.nn.Linear:
            where = "first module" if not linears else "second activation in a row"
            raise ValueError(f"seq[{pos}] is {type(module).__name__}, the {where}: "
                             f"each activation must directly follow an nn.Linear")
        acts[-1] = name
    hidden = acts[:-1]
    for k, act in enumerate(hidden):
        if act != hidden[0]:
            raise ValueError(
                f"pymicrograd.nn.MLP applies one activation to all hidden layers, but "
                f"Linear layer 0 is followed by {hidden[0]!r} and Linear layer {k} by "
                f"{act!r}")
    activation = hidden[0] if hidden else acts[-1]
    mlp = MLP(linears[0].in_features, [lin.out_features for lin in linears],
              activation=activation, final_activation=acts[-1], seed=0)
    values: list[float] = []
    with torch.no_grad():
        for lin in linears:
            weight = lin.weight.detach().to(device="cpu", dtype=torch.float64).tolist()
            if lin.bias is None:
                bias = [0.0] * lin.out_features
            else:
                bias = lin.bias.detach().to(device="cpu", dtype=torch.float64).tolist()
            for w, b in zip(weight, bias):   # neuron by neuron: its weights, its bias
                values.extend(w)
                values.append(b)
    for p, v in zip(mlp.parameters(), values):
        p.value = v
    return mlp
