"""Neural networks with the seed's names: `Module`, `Neuron`, `Layer`, `MLP`.

Each `Layer` is one C dense layer (``mg_layer`` in csrc/mg_nn.h) that owns its
parameters; its `Neuron` objects are views on the layer's rows, and a standalone
`Neuron` owns a layer of one neuron. A forward pass builds its graph in C, one
n-ary node per neuron (children: the weights, the inputs, the bias), with one C call
per layer or per whole `MLP`, never one per scalar op. The graph is the same one that
micrograd builds op by op, so the gradients are the same.

Weights start uniform in [-1, 1] and biases at 0, as in micrograd. ``seed`` picks the
random numbers: None draws from Python's global `random` module (so ``random.seed(s)``
before building reproduces a model, as in micrograd), an int seeds a private
``random.Random(seed)``, and a ``random.Random`` is used as it is.

>>> model = MLP(3, [4, 4, 1], seed=0)
>>> model
MLP(3, [4, 4, 1], activation='tanh')
>>> len(model.parameters())
41
>>> out = model([2.0, 3.0, -1.0])
>>> out.backward()
"""

from __future__ import annotations

import numbers
import operator
import os
import random
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any, Callable, Union

from . import _nodes, _state_file
from ._core import check_status, ffi, lib
from .engine import Tensor

__all__ = ["ACTIVATIONS", "MLP", "STATE_FORMAT", "Layer", "Module", "Neuron", "Seed"]

ACTIVATIONS: dict[str, int] = {
    "tanh": lib.MG_ACT_TANH,
    "relu": lib.MG_ACT_RELU,
    "sigmoid": lib.MG_ACT_SIGMOID,
    "linear": lib.MG_ACT_LINEAR,
}
"""The activations a neuron can apply, by name (values are the C enum)."""

STATE_FORMAT = "pymicrograd.nn/1"
"""The format tag of `Module.state_dict`; `load_state_dict` rejects any other."""

Seed = Union[int, random.Random, None]
"""Where initial weights come from: None (global `random`), an int, or a Random."""

_VALID = ", ".join(repr(a) for a in ACTIVATIONS)


# ---- argument checks ------------------------------------------------------------------


def _check_size(n: object, name: str) -> int:
    """`n` as an int >= 1: TypeError for a non-integer, ValueError below 1."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be an int, not {type(n).__name__}")
    size = operator.index(n)
    if size < 1:
        raise ValueError(f"{name} must be at least 1, got {size}")
    return size


def _check_activation(activation: object) -> str:
    """`activation` if it names a known activation, else ValueError listing them."""
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; valid activations: {_VALID}")
    return activation


def _uniform(seed: Seed) -> Callable[[float, float], float]:
    """The ``uniform(a, b)`` to draw initial weights with (see the module docstring)."""
    if seed is None:
        return random.uniform
    if isinstance(seed, random.Random):
        return seed.uniform
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be None, an int or a random.Random, "
                        f"not {type(seed).__name__}")
    return random.Random(operator.index(seed)).uniform


def _new_layer(nin: int, nout: int, activation: str,
               uniform: Callable[[float, float], float]) -> tuple[Any, list[Tensor]]:
    """Make a C layer and one Tensor per parameter (micrograd's order).

    Weights are drawn ``uniform(-1, 1)`` neuron by neuron, biases are 0 (no draw).
    Returns the layer pointer, freed by the garbage collector with the last Python
    object that holds it, and the parameter Tensors (each holding its own reference).
    """
    init: list[float] = []
    for _ in range(nout):
        init.extend([uniform(-1.0, 1.0) for _ in range(nin)])
        init.append(0.0)
    ptr = lib.mg_layer_new(nin, nout, ACTIVATIONS[activation], ffi.new("double[]", init))
    if not ptr:
        raise _nodes.out_of_memory("Layer")
    handle = ffi.gc(ptr, lib.mg_layer_free)
    params = [_nodes.wrap_new(lib.mg_retain(lib.mg_layer_param(ptr, i)), "Layer")
              for i in range(len(init))]
    return handle, params


def _one_or_list(outs: list[Tensor]) -> Tensor | list[Tensor]:
    return outs[0] if len(outs) == 1 else outs


# ---- Module -----------------------------------------------------------------------------


class Module:
    """The base of every model: parameters, gradient reset, saving and loading.

    A subclass overrides `parameters()`; `zero_grad`, `state_dict`,
    `load_state_dict`, `save` and `load` then work as they are. The built-in models
    also describe their shape in the state dict (`_config`), so that loading checks
    that a file fits the model.
    """

    _fixed_parameters = False
    """True when `parameters()` always returns the same Tensors (the built-in models)."""

    def parameters(self) -> list[Tensor]:
        """Every trainable Tensor, in micrograd's order (a new list, the same Tensors)."""
        return []

    def _parameter_nodes(self) -> tuple[Any, int]:
        """The parameters' nodes as an ``mg_node *[]`` and its length, for C calls.

        Kept after the first call when the parameters are fixed, so that a training
        loop does not rebuild it every step (the model keeps the nodes alive).
        """
        cached: tuple[Any, int] | None = self.__dict__.get("_parameter_array")
        if cached is None:
            params = self.parameters()
            cached = (_nodes.node_array(params), len(params))
            if self._fixed_parameters:
                self.__dict__["_parameter_array"] = cached
        return cached

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to 0."""
        for p in self.parameters():
            p.gradient = 0.0

    def _config(self) -> dict[str, Any]:
        """The shape of the model as JSON-able values (compared when loading)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """The model as a JSON-able dict.

        Keys: ``format`` (`STATE_FORMAT`), ``type`` (the class name), the shape
        (``nin``, ``nout`` or ``nouts``, and the activations), and ``parameters``,
        the parameter values in micrograd's order as plain floats.
        """
        return {
            "format": STATE_FORMAT,
            "type": type(self).__name__,
            **self._config(),
            "parameters": [p.value for p in self.parameters()],
        }

    def load_state_dict(self, state: object) -> None:
        """Set the parameter values from a `state_dict` of a model of the same shape.

        Raises ValueError, changing nothing, when `state` does not fit: not a state
        dict, another type of model, another shape or activation, another number of
        parameters, or a value that is not a finite number.
        """
        if not isinstance(state, dict):
            raise ValueError(f"a state dict must be a dict, not {type(state).__name__}")
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"not a pymicrograd state dict: format is "
                             f"{state.get('format')!r}, expected {STATE_FORMAT!r}")
        name = type(self).__name__
        if state.get("type") != name:
            raise ValueError(f"the state dict is for a {state.get('type')!r} model, "
                             f"this model is a {name!r}")
        for key, mine in self._config().items():
            theirs = state.get(key)
            if theirs != mine:
                raise ValueError(f"the state dict does not fit this {name}: it has "
                                 f"{key}={theirs!r}, the model has {key}={mine!r}")
        values = state.get("parameters")
        params = self.parameters()
        if not isinstance(values, list):
            raise ValueError(f"the state dict's parameters must be a list, "
                             f"not {type(values).__name__}")
        if len(values) != len(params):
            raise ValueError(f"the state dict has {len(values)} parameters, "
                             f"this {name} has {len(params)}")
        checked = _state_file.parameter_values(values)
        for p, v in zip(params, checked):
            p.value = v

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `state_dict()` to a JSON file at `path`, atomically.

        A failed save leaves any previous file at `path` as it was. A parameter that
        is NaN or infinite is a ValueError naming it, and nothing is written.
        """
        _state_file.write(path, self.state_dict())

    def load(self, path: str | os.PathLike[str]) -> None:
        """Load parameter values saved by `save`.

        ValueError, changing nothing, if the file is not strict JSON (no NaN, no
        Infinity, no number beyond a float; the message names the key) or does not fit.
        """
        self.load_state_dict(_state_file.read(path))

    def __repr__(self) -> str:
        """The class name and the number of parameters."""
        return f"{type(self).__name__}(<{len(self.parameters())} parameters>)"


# ---- Neuron -------------------------------------------------------------------------------


class Neuron(Module):
    """One neuron: ``activation(b + sum_i w[i] * x[i])``.

    ``w`` is the list of its `nin` weight Tensors, ``b`` its bias Tensor. A standalone
    Neuron owns a C layer of one neuron; the neurons of a `Layer` are views on the
    layer's rows and share its parameters.
    """

    _fixed_parameters = True

    def __init__(self, nin: int, activation: str = "tanh", *, seed: Seed = None) -> None:
        """A neuron over `nin` inputs with weights uniform in [-1, 1] and bias 0."""
        nin = _check_size(nin, "nin")
        activation = _check_activation(activation)
        handle, params = _new_layer(nin, 1, activation, _uniform(seed))
        self._setup(handle, 0, nin, activation, params, owner=True)

    def _setup(self, handle: Any, index: int, nin: int, activation: str,
               params: list[Tensor], *, owner: bool) -> None:
        self._handle = handle
        self._index = index
        self._owner = owner
        self._array = ffi.new("mg_layer *[1]", [handle]) if owner else None
        self.nin = nin
        self.activation = activation
        self.w = params[:nin]
        self.b = params[nin]

    @classmethod
    def _view(cls, handle: Any, index: int, nin: int, activation: str,
              params: list[Tensor]) -> Neuron:
        """Neuron `index` of a layer, sharing the layer's parameters."""
        neuron = cls.__new__(cls)
        neuron._setup(handle, index, nin, activation, params, owner=False)
        return neuron

    def __call__(self, x: Sequence[Tensor | float] | Tensor | float) -> Tensor:
        """The neuron's output on `nin` inputs (Tensors or numbers), as one C node."""
        items, values = _nodes.plain_inputs(x, self.nin)
        out = ffi.new("mg_node *[1]")
        if values is not None and self._owner:
            status = lib.mg_mlp_forward_batch(self._array, 1, values, 1, out)
        else:
            nodes, temps = _nodes.input_nodes(items)
            status = lib.mg_layer_forward_neuron(self._handle, self._index, nodes, out)
            _nodes.release_all(temps)
        check_status(status, "Neuron forward")
        return _nodes.wrap_new(out[0], "Neuron forward")

    def parameters(self) -> list[Tensor]:
        """The weights, then the bias."""
        return [*self.w, self.b]

    def zero_grad(self) -> None:
        """Set the gradient of the weights and the bias to 0."""
        if self._owner:
            lib.mg_layer_zero_grad(self._handle)
        else:
            super().zero_grad()

    def _config(self) -> dict[str, Any]:
        return {"nin": self.nin, "activation": self.activation}

    def __repr__(self) -> str:
        """``Neuron(3, activation='tanh')``."""
        return f"Neuron({self.nin}, activation={self.activation!r})"


# ---- Layer ------------------------------------------------------------------------------


class Layer(Module):
    """`nout` neurons over the same `nin` inputs: one C dense layer.

    ``neurons`` lists the `Neuron` views on its rows. Calling the layer builds all
    `nout` output nodes in one C call.
    """

    _fixed_parameters = True

    def __init__(self, nin: int, nout: int, activation: str = "tanh", *,
                 seed: Seed = None) -> None:
        """A layer with weights uniform in [-1, 1] and biases 0, neuron by neuron."""
        self._build(_check_size(nin, "nin"), _check_size(nout, "nout"),
                    _check_activation(activation), _uniform(seed))

    def _build(self, nin: int, nout: int, activation: str,
               uniform: Callable[[float, float], float]) -> None:
        handle, params = _new_layer(nin, nout, activation, uniform)
        self._handle = handle
        self._array = ffi.new("mg_layer *[1]", [handle])
        self._params = params
        self.nin = nin
        self.nout = nout
        self.activation = activation
        step = nin + 1
        self.neurons = [Neuron._view(handle, j, nin, activation, params[j * step:(j + 1) * step])
                        for j in range(nout)]

    def __call__(self, x: Sequence[Tensor | float] | Tensor | float) -> Tensor | list[Tensor]:
        """The outputs on `nin` inputs: a Tensor if `nout` is 1, else a list of Tensors.

        A single Tensor or number is accepted as the input of a one-input layer.
        """
        items, values = _nodes.plain_inputs(x, self.nin)
        out = ffi.new("mg_node *[]", self.nout)
        if values is not None:
            status = lib.mg_mlp_forward_batch(self._array, 1, values, 1, out)
        else:
            nodes, temps = _nodes.input_nodes(items)
            status = lib.mg_layer_forward(self._handle, nodes, out)
            _nodes.release_all(temps)
        check_status(status, "Layer forward")
        return _one_or_list(_nodes.wrap_nodes(out, 0, self.nout))

    def parameters(self) -> list[Tensor]:
        """Per neuron: its weights, then its bias."""
        return list(self._params)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (one C call)."""
        lib.mg_layer_zero_grad(self._handle)

    def _config(self) -> dict[str, Any]:
        return {"nin": self.nin, "nout": self.nout, "activation": self.activation}

    def __repr__(self) -> str:
        """``Layer(3, 4, activation='tanh')``."""
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


# ---- MLP --------------------------------------------------------------------------------


class MLP(Module):
    """A multi-layer perceptron: layers of sizes `nouts` over `nin` inputs.

    Hidden layers apply `activation`; the last layer applies `final_activation`
    (None: the same as `activation`). ``MLP(2, [16, 16, 1], activation="relu",
    final_activation="linear")`` is micrograd's demo network; ``MLP(3, [4, 4, 1])``
    the seed's. A forward pass is one C call for the whole network.
    """

    _fixed_parameters = True

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "tanh",
                 final_activation: str | None = None, *, seed: Seed = None) -> None:
        """Layers ``Layer(sizes[i], sizes[i + 1])`` with ``sizes = [nin, *nouts]``.

        Weights are drawn layer by layer, neuron by neuron, as micrograd does.
        """
        nin = _check_size(nin, "nin")
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Iterable):
            raise TypeError(f"nouts must be a list of ints, not {type(nouts).__name__}")
        sizes = [_check_size(n, f"nouts[{i}]") for i, n in enumerate(nouts)]
        if not sizes:
            raise ValueError("len(nouts) must be at least 1, got 0")
        activation = _check_activation(activation)
        final = activation if final_activation is None else _check_activation(final_activation)
        uniform = _uniform(seed)
        ins = [nin, *sizes]
        self.layers: list[Layer] = []
        for i, nout in enumerate(sizes):
            layer = Layer.__new__(Layer)
            layer._build(ins[i], nout, final if i == len(sizes) - 1 else activation, uniform)
            self.layers.append(layer)
        self._array = ffi.new("mg_layer *[]", [layer._handle for layer in self.layers])
        self.nin = nin
        self.nouts = sizes
        self.activation = activation
        self.final_activation = final

    def __call__(self, x: Sequence[Tensor | float] | Tensor | float) -> Tensor | list[Tensor]:
        """The network's outputs on `nin` inputs (Tensors or numbers), in one C call.

        Returns a Tensor when the last layer has one output, else a list of Tensors.
        """
        items, values = _nodes.plain_inputs(x, self.nin)
        nout = self.layers[-1].nout
        out = ffi.new("mg_node *[]", nout)
        if values is not None:
            status = lib.mg_mlp_forward_batch(self._array, len(self.layers), values, 1, out)
        else:
            nodes, temps = _nodes.input_nodes(items)
            status = lib.mg_mlp_forward(self._array, len(self.layers), nodes, out)
            _nodes.release_all(temps)
        check_status(status, "MLP forward")
        return _one_or_list(_nodes.wrap_nodes(out, 0, nout))

    def forward_batch(self, X: Any) -> list[Tensor] | list[list[Tensor]]:
        """The outputs on every row of `X` in one C call, for training loops.

        `X` is a sequence of rows of `nin` numbers, or a 2-D numpy array. Returns one
        entry per row: a Tensor when the last layer has one output, else a list of
        Tensors. Each number becomes a leaf made in C.

        The graph is the one that calling the model on each row builds (the same
        values, ops, children and gradients), made in one block of C memory: its
        nodes are freed together, once no Tensor (and no node built on one) refers to
        any of them.
        """
        values, batch, _keep = _batch_values(X, self.nin)
        if batch == 0:
            return []
        nout = self.layers[-1].nout
        out = ffi.new("mg_node *[]", batch * nout)
        check_status(lib.mg_mlp_forward_batch(self._array, len(self.layers), values, batch,
                                              out), "MLP forward_batch")
        flat = _nodes.wrap_nodes(out, 0, batch * nout)
        if nout == 1:
            return flat
        return [flat[i * nout:(i + 1) * nout] for i in range(batch)]

    def parameters(self) -> list[Tensor]:
        """Layer by layer, neuron by neuron: the weights, then the bias."""
        return [p for layer in self.layers for p in layer._params]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (one C call per layer)."""
        for layer in self.layers:
            lib.mg_layer_zero_grad(layer._handle)

    def _config(self) -> dict[str, Any]:
        return {"nin": self.layers[0].nin, "nouts": [layer.nout for layer in self.layers],
                "activations": [layer.activation for layer in self.layers]}

    def __repr__(self) -> str:
        """``MLP(2, [16, 16, 1], activation='relu', final_activation='linear')``."""
        final = ("" if self.final_activation == self.activation
                 else f", final_activation={self.final_activation!r}")
        return f"MLP({self.nin}, {self.nouts}, activation={self.activation!r}{final})"


_ROW_TYPES = frozenset({list, tuple})
_NUMBER_TYPES = frozenset({float, int})


def _batch_values(X: Any, nin: int) -> tuple[Any, int, Any]:
    """`X` as a row-major ``double[]``, its number of rows, and what must stay alive.

    A numpy array is used without a copy when it is already C-contiguous float64.
    """
    if hasattr(X, "__array_interface__") and hasattr(X, "ndim"):
        import numpy as np

        if X.dtype.kind not in "biuf":
            raise TypeError(f"X must hold numbers, not {X.dtype}")
        arr = np.ascontiguousarray(X, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != nin:
            raise ValueError(f"X must have shape (batch, {nin}), got {arr.shape}")
        if arr.shape[0] == 0:
            return None, 0, None
        return ffi.from_buffer("double[]", arr), arr.shape[0], arr
    if isinstance(X, (str, bytes)) or not isinstance(X, Iterable):
        raise TypeError(f"X must be a list of rows or a 2-D array, not {type(X).__name__}")
    rows = list(X)
    if not rows:
        return None, 0, None
    # The common case checked at C speed (lists or tuples of exactly nin floats or
    # ints); anything else takes the loop below, which names the offending entry.
    if set(map(type, rows)) <= _ROW_TYPES and set(map(len, rows)) == {nin}:
        flat: list[Any] = list(chain.from_iterable(rows))
        if set(map(type, flat)) <= _NUMBER_TYPES:
            return ffi.new("double[]", flat), len(rows), None
    for i, row in enumerate(rows):
        if isinstance(row, (str, bytes)) or not hasattr(row, "__len__"):
            raise TypeError(f"X[{i}] must be a list of numbers, not {type(row).__name__}")
        if len(row) != nin:
            raise ValueError(f"X[{i}]: expected {nin} inputs, got {len(row)}")
    flat = [_nodes.as_float(v, f"X[{k // nin}][{k % nin}]")
            for k, v in enumerate(chain.from_iterable(rows))]
    return ffi.new("double[]", flat), len(rows), None
