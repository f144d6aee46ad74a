"""Neural networks with the seed's names: `Module`, `Neuron`, `Layer`, `MLP`.

Each `Layer` is one C dense layer (``mg_layer`` in csrc/mg_nn.h) that owns its
parameters; its `Neuron` objects are views on it, and a standalone
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

import operator
import os
import random
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from itertools import chain
from typing import Any, Callable, TypeVar, Union

from . import _nodes, _state_file
from ._core import call_filling, call_filling_array, ffi, is_index, lib, owned
from .batch import BatchOutputs
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
_ACTIVATION_NAMES = {code: name for name, code in ACTIVATIONS.items()}
_M = TypeVar("_M", bound="Module")

MAX_INPUTS: int = lib.MG_MAX_CHILDREN
"""The most inputs a neuron can have (the C core's limit on a node's operands)."""

MAX_LAYER_PARAMETERS: int = 2 ** 32 - 1
"""The most parameters one layer can have (csrc/nn.c's MAX_LAYER_PARAMS)."""

_BYTES_PER_PARAMETER = 200
"""About what one parameter costs: its C leaf and its slot in the layer, its Tensor and pointer."""


class _ReadOnlyList(tuple):  # type: ignore[type-arg]
    """A sequence that reads and compares like a list but cannot be changed in place.

    C holds the same objects; an attempt to change it says what to do instead.
    """

    __slots__ = ()
    _instead = ""

    def __setitem__(self, index: object, value: object) -> None:
        raise TypeError(self._instead)

    __delitem__ = __setitem__

    def __eq__(self, other: object) -> bool:
        return tuple.__eq__(self, tuple(other) if isinstance(other, list) else other)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        return repr(list(self))


class _FixedLayers(_ReadOnlyList):
    """`MLP.layers`: the C forward pass holds an array of the same layers."""

    __slots__ = ()
    _instead = ("MLP.layers cannot be changed in place: assign a whole new list of Layers "
                "(model.layers = [...]), which is checked and used")


class _FixedParameters(_ReadOnlyList):
    """A neuron's weights, a layer's neurons: the C layer owns the parameters."""

    __slots__ = ()
    _instead = ("the parameters of a Neuron or Layer cannot be replaced (its C layer owns "
                "them): set a value instead, e.g. neuron.w[0].value = 0.5")


# ---- argument checks ------------------------------------------------------------------


def _check_size(n: object, name: str) -> int:
    """`n` as an int in [1, MAX_INPUTS]: TypeError for a non-integer, else ValueError."""
    if not is_index(n):
        raise TypeError(f"{name} must be an int, not {type(n).__name__}")
    size = operator.index(n)
    if size < 1:
        raise ValueError(f"{name} must be at least 1, got {size}")
    if size > MAX_INPUTS:
        raise ValueError(f"{name} is {size}, above the limit of {MAX_INPUTS} "
                         "(MG_MAX_CHILDREN, the most operands of one C node)")
    return size


def _check_memory(sizes: Sequence[int]) -> None:
    """For layers of `sizes` (nin, then each layer's nout), before anything is made.

    ValueError for a layer above the C core's parameter limit; MemoryError at once,
    not after minutes, for layers that cannot fit in this machine's memory.
    """
    for nin, nout in zip(sizes, sizes[1:]):
        if nout * (nin + 1) > MAX_LAYER_PARAMETERS:
            raise ValueError(f"a layer of {nout} neurons over {nin} inputs has "
                             f"{nout * (nin + 1)} parameters, above the limit of "
                             f"{MAX_LAYER_PARAMETERS} (mg_layer_new: backward numbers "
                             "nodes in 32 bits)")
    count = sum((sizes[i] + 1) * sizes[i + 1] for i in range(len(sizes) - 1))
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):   # no sysconf (Windows): let C try
        return
    need = count * _BYTES_PER_PARAMETER
    if need > total:
        raise MemoryError(f"{count} parameters need about {need / 2**30:.0f} GiB, more "
                          f"than this machine's {total / 2**30:.0f} GiB of memory")


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
    if not is_index(seed):
        raise TypeError(f"seed must be None, an int or a random.Random, "
                        f"not {type(seed).__name__}")
    return random.Random(operator.index(seed)).uniform


def _new_layer(nin: int, nout: int, activation: str,
               uniform: Callable[[float, float], float]) -> tuple[Any, list[Tensor]]:
    """Make a C layer and one Tensor per parameter (micrograd's order).

    Weights are drawn ``uniform(-1, 1)`` neuron by neuron, biases are 0 (no draw).
    Returns the layer pointer, freed with the last Python object that holds it, and
    the parameter Tensors (each holding its own reference).
    """
    _check_memory([nin, nout])
    init: list[float] = []
    for _ in range(nout):
        init.extend([uniform(-1.0, 1.0) for _ in range(nin)])
        init.append(0.0)
    handle = owned(lib.mg_layer_new, nin, nout, ACTIVATIONS[activation],
                   ffi.new("double[]", init), what="Layer", free=lib.mg_layer_free)
    params = [_nodes.make_tensor(lib.mg_retain, lib.mg_layer_param(handle, i), what="Layer")
              for i in range(len(init))]
    return handle, params


def _layer_over(nin: int, nout: int, activation: str, params: Sequence[Tensor]) -> Any:
    """A C layer whose parameters are the leaves `params` (copies and pickles)."""
    for i, p in enumerate(params):
        if not isinstance(p, Tensor) or lib.mg_op_of(p._node) != lib.MG_OP_LEAF:
            raise ValueError(f"parameter {i} of a layer must be a leaf Tensor")
    if len(params) != nout * (nin + 1):
        raise ValueError(f"a layer of {nout} neurons over {nin} inputs has "
                         f"{nout * (nin + 1)} parameters, not {len(params)}")
    return owned(lib.mg_layer_from_params, nin, nout, ACTIVATIONS[activation],
                 _nodes.node_array(params), what="Layer", free=lib.mg_layer_free)


def _forward(x: object, nin: int, nout: int, what: str, layers: Any, nlayers: int,
             by_nodes: Callable[..., int], a: Any, b: Any) -> Tensor | list[Tensor]:
    """The outputs of a Neuron's, Layer's or MLP's forward pass on the inputs `x`.

    A Tensor if `nout` is 1, else a list of `nout` Tensors. `x` is checked (`nin`
    Tensors or numbers). Plain numbers go to C as one row of ``mg_mlp_forward_batch``
    over `layers` (an ``mg_layer *[]`` of `nlayers`), which makes their leaves; a
    neuron of a layer has no layer array of its own (None) and goes the other way:
    the inputs' nodes (a number as a new leaf) to ``by_nodes(a, b, inputs, out)``,
    that is ``mg_mlp_forward(layers, nlayers, ...)`` or ``mg_layer_forward_neuron(
    layer, j, ...)``. `call_filling` calls the C function itself, so that no Ctrl-C
    can come between the call and taking its results.
    """
    items, values = _nodes.plain_inputs(x, nin)
    out = ffi.new("mg_node *[]", nout)
    if values is not None and layers is not None:
        nodes = call_filling(lib.mg_mlp_forward_batch, layers, nlayers, values, 1, out,
                             what=what)
    else:
        array, _keep = _nodes.input_nodes(items)
        nodes = call_filling(by_nodes, a, b, array, out, what=what)
    outs = _nodes.tensors(nodes)
    return outs[0] if nout == 1 else outs


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

    def _parameter_nodes(self) -> tuple[Any, tuple[Tensor, ...]]:
        """The parameters' nodes as an ``mg_node *[]``, and the parameters themselves.

        The array borrows the nodes: it is valid while the returned Tensors live, so
        it comes with them. Kept after the first call when the parameters are fixed
        (until `MLP.layers` is assigned), so that a training loop does not rebuild it
        every step.
        """
        cached: tuple[Any, tuple[Tensor, ...]] | None = self.__dict__.get("_parameter_array")
        if cached is None:
            params = tuple(self.parameters())
            cached = (_nodes.node_array(params), params)
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
    Neuron owns a C layer of one neuron; the neurons of a `Layer` are views on its C
    layer and share its parameters.
    """

    _fixed_parameters = True

    def __init__(self, nin: int, activation: str = "tanh", *, seed: Seed = None) -> None:
        """A neuron over `nin` inputs with weights uniform in [-1, 1] and bias 0."""
        nin = _check_size(nin, "nin")
        activation = _check_activation(activation)
        handle, params = _new_layer(nin, 1, activation, _uniform(seed))
        self._setup(handle, 0, nin, activation, params, owner=True)

    def _setup(self, handle: Any, index: int, nin: int, activation: str,
               params: Sequence[Tensor], *, owner: bool) -> None:
        self._handle = handle
        self._index = index
        self._owner = owner
        self._array = ffi.new("mg_layer *[1]", [handle]) if owner else None
        self._nin = nin
        self._activation = activation
        self._w = _FixedParameters(params[:nin])
        self._b = params[nin]

    @classmethod
    def _view(cls, handle: Any, index: int, nin: int, activation: str,
              params: Sequence[Tensor]) -> Neuron:
        """Neuron `index` of a layer, sharing the layer's parameters."""
        neuron = cls.__new__(cls)
        neuron._setup(handle, index, nin, activation, params, owner=False)
        return neuron

    @property
    def nin(self) -> int:
        """The number of inputs."""
        return self._nin

    @property
    def activation(self) -> str:
        """The activation's name (see `ACTIVATIONS`)."""
        return self._activation

    @property
    def w(self) -> tuple[Tensor, ...]:
        """The `nin` weights (a read-only sequence; set their ``.value`` to change them)."""
        return self._w

    @property
    def b(self) -> Tensor:
        """The bias."""
        return self._b

    def __call__(self, x: Sequence[Tensor | float] | Tensor | float) -> Tensor:
        """The neuron's output on `nin` inputs (Tensors or numbers), as one C node."""
        return _forward(x, self._nin, 1, "Neuron forward", self._array, 1,  # type: ignore[return-value]
                        lib.mg_layer_forward_neuron, self._handle, self._index)

    def __reduce__(self) -> tuple[Any, ...]:
        """Copies and pickles: a standalone Neuron over copies of the parameters."""
        return (_restore, (type(self), [(self._nin, 1, self._activation)],
                           self.parameters()))

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
        return {"nin": self._nin, "activation": self._activation}

    def __repr__(self) -> str:
        """``Neuron(3, activation='tanh')``."""
        return f"Neuron({self.nin}, activation={self.activation!r})"


# ---- Layer ------------------------------------------------------------------------------


class Layer(Module):
    """`nout` neurons over the same `nin` inputs: one C dense layer.

    ``neurons`` lists a `Neuron` view per neuron. Calling the layer builds all
    `nout` output nodes in one C call.
    """

    _fixed_parameters = True

    def __init__(self, nin: int, nout: int, activation: str = "tanh", *,
                 seed: Seed = None) -> None:
        """A layer with weights uniform in [-1, 1] and biases 0, neuron by neuron."""
        self._build(_check_size(nin, "nin"), _check_size(nout, "nout"),
                    _check_activation(activation), _uniform(seed))

    _neuron_type = Neuron
    """The class of the `neurons` views (compat's Layer makes compat Neurons)."""

    def _build(self, nin: int, nout: int, activation: str,
               uniform: Callable[[float, float], float]) -> None:
        handle, params = _new_layer(nin, nout, activation, uniform)
        self._adopt(handle, nin, nout, activation, params)

    def _adopt(self, handle: Any, nin: int, nout: int, activation: str,
               params: Sequence[Tensor]) -> None:
        """Become the Layer of the C layer `handle`, whose parameters are `params`."""
        self._handle = handle
        self._array = ffi.new("mg_layer *[1]", [handle])
        self._params = tuple(params)
        self._nin = nin
        self._nout = nout
        self._activation = activation
        step = nin + 1
        self._neurons = _FixedParameters(
            self._neuron_type._view(handle, j, nin, activation, params[j * step:(j + 1) * step])
            for j in range(nout))

    @property
    def nin(self) -> int:
        """The number of inputs."""
        return self._nin

    @property
    def nout(self) -> int:
        """The number of neurons (outputs)."""
        return self._nout

    @property
    def activation(self) -> str:
        """The activation's name (see `ACTIVATIONS`)."""
        return self._activation

    @property
    def neurons(self) -> tuple[Neuron, ...]:
        """A `Neuron` view per neuron, sharing the layer's parameters (read-only)."""
        return self._neurons

    def __call__(self, x: Sequence[Tensor | float] | Tensor | float) -> Tensor | list[Tensor]:
        """The outputs on `nin` inputs: a Tensor if `nout` is 1, else a list of Tensors.

        A single Tensor or number is accepted as the input of a one-input layer.
        """
        return _forward(x, self._nin, self._nout, "Layer forward", self._array, 1,
                        lib.mg_mlp_forward, self._array, 1)   # a stack of one layer

    def __reduce__(self) -> tuple[Any, ...]:
        """Copies and pickles: a Layer over copies of the parameters."""
        return (_restore, (type(self), [(self._nin, self._nout, self._activation)],
                           self.parameters()))

    def parameters(self) -> list[Tensor]:
        """Per neuron: its weights, then its bias."""
        return list(self._params)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (one C call)."""
        lib.mg_layer_zero_grad(self._handle)

    def _config(self) -> dict[str, Any]:
        return {"nin": self._nin, "nout": self._nout, "activation": self._activation}

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
    _layer_type = Layer
    """The class of the layers it makes (compat's MLP makes compat Layers)."""

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
        _check_memory([nin, *sizes])
        uniform = _uniform(seed)
        ins = [nin, *sizes]
        layers = []
        for i, nout in enumerate(sizes):
            layer = self._layer_type.__new__(self._layer_type)
            layer._build(ins[i], nout, final if i == len(sizes) - 1 else activation, uniform)
            layers.append(layer)
        self._activation = activation   # what a one-layer MLP's repr shows
        self.layers = layers

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The layers, first to last (read-only; assign a new list to replace them)."""
        return self._layers

    @layers.setter
    def layers(self, layers: Iterable[Layer]) -> None:
        """Replace the layers: each must be a Layer taking the previous one's outputs."""
        if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
            raise TypeError(f"layers must be a list of Layers, not {type(layers).__name__}")
        new = list(layers)
        if not new:
            raise ValueError("an MLP needs at least one layer")
        for i, layer in enumerate(new):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] must be a Layer, not {type(layer).__name__}")
            if i and layer.nin != new[i - 1].nout:
                raise ValueError(f"layers[{i}] takes {layer.nin} inputs but layers[{i - 1}] "
                                 f"gives {new[i - 1].nout} outputs")
        # The C array borrows the layers' pointers: it lives beside the tuple that holds
        # them, and both change together, so the two can never disagree.
        self._layers = _FixedLayers(new)
        self._array = ffi.new("mg_layer *[]", [layer._handle for layer in new])
        self.__dict__.pop("_parameter_array", None)

    @property
    def nin(self) -> int:
        """The number of inputs (the first layer's)."""
        return self._layers[0].nin  # type: ignore[no-any-return]

    @property
    def nouts(self) -> list[int]:
        """The layers' sizes (a new list)."""
        return [layer.nout for layer in self._layers]

    @property
    def activation(self) -> str:
        """The activation of the hidden layers (for one layer: as made, or its own)."""
        if len(self._layers) == 1:
            return self.__dict__.get("_activation", self._layers[0].activation)  # type: ignore[no-any-return]
        return self._layers[0].activation  # type: ignore[no-any-return]

    @property
    def final_activation(self) -> str:
        """The activation of the last layer."""
        return self._layers[-1].activation  # type: ignore[no-any-return]

    def __call__(self, x: Sequence[Tensor | float] | Tensor | float) -> Tensor | list[Tensor]:
        """The network's outputs on `nin` inputs (Tensors or numbers), in one C call.

        Returns a Tensor when the last layer has one output, else a list of Tensors.
        """
        layers = self._layers
        n = len(layers)
        return _forward(x, layers[0].nin, layers[-1].nout, "MLP forward", self._array, n,
                        lib.mg_mlp_forward, self._array, n)

    def forward_batch(self, X: Any) -> BatchOutputs:
        """The outputs on every row of `X` in one C call, for training loops.

        `X` is a sequence of rows of `nin` numbers, or a 2-D numpy array. Returns a
        `BatchOutputs`, a sequence with one item per row: a Tensor when the last layer
        has one output, else a list of Tensors. Each number becomes a leaf made in C.
        The outputs stay in C until an item is read; the losses take them in one C
        call.

        The graph is the one that calling the model on each row builds (the same
        values, ops, children and gradients), made in one block of C memory: its
        nodes are freed together, once no Tensor (and no node built on one) refers to
        any of them.
        """
        return self._forward_batch(X, Tensor)

    def _forward_batch(self, X: Any, tensor_type: type[Tensor]) -> BatchOutputs:
        layers = self._layers
        values, batch, _keep = _batch_values(X, layers[0].nin)
        nout = layers[-1].nout
        if batch == 0:
            return BatchOutputs(ffi.new("mg_node *[]", 1), 0, nout, tensor_type)
        nodes = call_filling_array(lib.mg_mlp_forward_batch, self._array, len(layers),
                                   values, batch, n=batch * nout, what="MLP forward_batch")
        return BatchOutputs(nodes, batch, nout, tensor_type)

    def parameters(self) -> list[Tensor]:
        """Layer by layer, neuron by neuron: the weights, then the bias."""
        return [p for layer in self._layers for p in layer._params]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (one C call per layer)."""
        for layer in self._layers:
            lib.mg_layer_zero_grad(layer._handle)

    def _config(self) -> dict[str, Any]:
        return {"nin": self.nin, "nouts": self.nouts,
                "activations": [layer.activation for layer in self._layers]}

    def __reduce__(self) -> tuple[Any, ...]:
        """Copies and pickles: an MLP over copies of the parameters."""
        shapes = [(layer.nin, layer.nout, layer.activation) for layer in self._layers]
        return (_restore, (type(self), shapes, self.parameters()))

    def __repr__(self) -> str:
        """``MLP(2, [16, 16, 1], activation='relu', final_activation='linear')``."""
        final = ("" if self.final_activation == self.activation
                 else f", final_activation={self.final_activation!r}")
        return f"MLP({self.nin}, {self.nouts}, activation={self.activation!r}{final})"


def _restore(cls: type[_M], shapes: list[tuple[int, int, str]], params: list[Tensor]) -> _M:
    """A Neuron, Layer or MLP of class `cls` with layers of `shapes` over `params`.

    What `__reduce__` of each returns, so that ``copy.deepcopy`` and ``pickle`` give a
    working model whose parameters are the copied leaves: an optimizer copied in the
    same call (``copy.deepcopy((model, opt))``) then updates the copy's parameters.
    """
    model = cls.__new__(cls)
    layers = []
    first = 0
    for nin, nout, activation in shapes:
        ps = params[first:first + nout * (nin + 1)]
        first += len(ps)
        handle = _layer_over(nin, nout, activation, ps)
        if isinstance(model, Neuron):
            model._setup(handle, 0, nin, activation, ps, owner=True)
            return model
        layer_type = getattr(cls, "_layer_type", Layer)
        layer = model if isinstance(model, Layer) else layer_type.__new__(layer_type)
        layer._adopt(handle, nin, nout, activation, ps)
        layers.append(layer)
    if isinstance(model, MLP):
        model._activation = shapes[0][2]
        model.layers = layers
    return model


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
    if isinstance(X, (str, bytes, Mapping, AbstractSet)) or not isinstance(X, Iterable):
        raise TypeError(f"X must be a list of rows or a 2-D array, not {type(X).__name__}")
    rows = list(X)
    if not rows:
        return None, 0, None
    # The common case checked at C speed (lists or tuples of exactly nin floats or
    # ints); anything else takes the loop below, which names the offending entry.
    if set(map(type, rows)) <= _ROW_TYPES and set(map(len, rows)) == {nin}:
        flat: list[Any] = list(chain.from_iterable(rows))
        if set(map(type, flat)) <= _NUMBER_TYPES:
            try:
                return ffi.new("double[]", flat), len(rows), None
            except OverflowError:   # an int beyond a double: the loop below names it
                pass
    for i, row in enumerate(rows):
        if isinstance(row, (str, bytes)) or not hasattr(row, "__len__"):
            raise TypeError(f"X[{i}] must be a list of numbers, not {type(row).__name__}")
        if len(row) != nin:
            raise ValueError(f"X[{i}]: expected {nin} inputs, got {len(row)}")
    flat = [_nodes.as_float(v, f"X[{k // nin}][{k % nin}]")
            for k, v in enumerate(chain.from_iterable(rows))]
    return ffi.new("double[]", flat), len(rows), None
