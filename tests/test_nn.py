"""pymicrograd.nn: Neuron, Layer and MLP against torch, against the same network built
op by op from Tensors, and against micrograd; parameters, seeds, lifetime, state dicts,
errors.

The torch reference computes each neuron with explicit float64 ops in the same order
as micrograd (``b + w0*x0 + w1*x1 + ...``), so every pre-activation is bit-for-bit the
one the C core computes: a relu sees the same sign on both sides and no input has to
be shifted away from its kink. Comparisons use ``torch.testing.assert_close`` defaults.
"""

from __future__ import annotations

import doctest
import gc
import json
import random
from collections.abc import Iterable
from typing import Any, Callable

import numpy as np
import pytest
from c_calls import CountingLib
from hypothesis import given
from hypothesis import strategies as st
from lazy_torch import assert_close, close, torch

import pymicrograd
from pymicrograd import Tensor, live_nodes, nn
from pymicrograd.nn import MLP, Layer, Module, Neuron
from pymicrograd.testing import strategies as S

ACTS = ["tanh", "relu", "sigmoid", "linear"]

TORCH_ACT: dict[str, Callable[[Any], Any]] = {
    "tanh": lambda z: torch.tanh(z), "relu": lambda z: torch.relu(z),   # torch at first use
    "sigmoid": lambda z: torch.sigmoid(z), "linear": lambda z: z,
}
TENSOR_ACT: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": Tensor.tanh, "relu": Tensor.relu, "sigmoid": Tensor.sigmoid, "linear": lambda z: z,
}


def leaf(v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float64, requires_grad=True)


def values(ts: list[Tensor]) -> torch.Tensor:
    return torch.tensor([t.value for t in ts], dtype=torch.float64)


def grads(ts: list[Tensor]) -> torch.Tensor:
    return torch.tensor([t.gradient for t in ts], dtype=torch.float64)


def value_list(ts: Iterable[Tensor]) -> list[float]:
    return [t.value for t in ts]


def grad_list(ts: Iterable[Tensor]) -> list[float]:
    return [t.gradient for t in ts]


def as_list(out: Tensor | list[Tensor]) -> list[Tensor]:
    return [out] if isinstance(out, Tensor) else out


def weighted_sum(outs: list[Any], coeffs: list[float]) -> Any:
    """sum_i c_i * out_i: one root over every output (Tensors or torch tensors)."""
    root = outs[0] * coeffs[0]
    for o, c in zip(outs[1:], coeffs[1:]):
        root = root + o * c
    return root


def reference_forward(params: list[Any], x: list[Any], nouts: list[int],
                      acts: list[str], act_fns: dict[str, Callable[[Any], Any]]) -> list[Any]:
    """The MLP over `params` in micrograd's order, one scalar op at a time.

    Works on torch leaves and on pymicrograd Tensors alike; each neuron is
    ``act(b + w0*x0 + w1*x1 + ...)``, summed left to right from the bias.
    """
    h, k = list(x), 0
    for nout, act in zip(nouts, acts):
        nxt = []
        for _ in range(nout):
            w, b = params[k:k + len(h)], params[k + len(h)]
            k += len(h) + 1
            z = b
            for wi, hi in zip(w, h):
                z = z + wi * hi
            nxt.append(act_fns[act](z))
        h = nxt
    assert k == len(params)
    return h


# ---- strategies ----------------------------------------------------------------------

seeds = st.integers(0, 2**32 - 1)
activations = st.sampled_from(ACTS)


class Case:
    """A random MLP and one input: the shapes, the seed, the inputs, the root's weights."""

    def __init__(self, nin: int, nouts: list[int], activation: str, final: str | None,
                 seed: int, x: list[float], as_tensor: list[bool], coeffs: list[float]):
        self.nin, self.nouts, self.activation, self.final = nin, nouts, activation, final
        self.seed, self.x, self.as_tensor, self.coeffs = seed, x, as_tensor, coeffs

    @property
    def acts(self) -> list[str]:
        last = self.activation if self.final is None else self.final
        return [self.activation] * (len(self.nouts) - 1) + [last]

    def __repr__(self) -> str:
        return (f"Case(nin={self.nin}, nouts={self.nouts}, activation={self.activation!r}, "
                f"final={self.final!r}, seed={self.seed}, x={self.x}, "
                f"as_tensor={self.as_tensor}, coeffs={self.coeffs})")


@st.composite
def mlp_cases(draw: Any, max_layers: int = 3) -> Case:
    """A network of 1-3 layers of width 1-5 (width 1 included) over 1-4 inputs."""
    nin = draw(st.integers(1, 4))
    nouts = draw(st.lists(st.integers(1, 5), min_size=1, max_size=max_layers))
    x = draw(st.lists(S.reals(-3.0, 3.0), min_size=nin, max_size=nin))
    as_tensor = draw(st.lists(st.booleans(), min_size=nin, max_size=nin))
    coeffs = draw(st.lists(S.reals(-2.0, 2.0), min_size=nouts[-1], max_size=nouts[-1]))
    return Case(nin, nouts, draw(activations), draw(st.one_of(st.none(), activations)),
                draw(seeds), x, as_tensor, coeffs)


def inputs_of(case: Case) -> tuple[list[Tensor | float], list[Tensor]]:
    """The inputs as a mix of Tensors and floats, and the Tensor ones."""
    xs: list[Tensor | float] = [Tensor(v) if t else v for v, t in zip(case.x, case.as_tensor)]
    return xs, [v for v in xs if isinstance(v, Tensor)]


def torch_reference(case: Case, flat: list[float]) -> tuple[torch.Tensor, torch.Tensor,
                                                             torch.Tensor]:
    """Outputs, parameter gradients and input gradients of the root, in torch."""
    params = [leaf(v) for v in flat]
    x = [leaf(v) for v in case.x]
    outs = reference_forward(params, x, case.nouts, case.acts, TORCH_ACT)
    weighted_sum(outs, case.coeffs).backward()
    zero = torch.tensor(0.0, dtype=torch.float64)
    x_grads = [xi.grad if xi.grad is not None else zero
               for xi, t in zip(x, case.as_tensor) if t]
    p_grads = [p.grad if p.grad is not None else zero for p in params]
    return (torch.stack([o.detach() for o in outs]), torch.stack(p_grads),
            torch.stack(x_grads) if x_grads else torch.zeros(0, dtype=torch.float64))


# ---- the networks against torch and against op-by-op graphs ----------------------------


@pytest.mark.needs_torch
@given(mlp_cases())
def test_mlp_matches_torch(case: Case) -> None:
    model = MLP(case.nin, case.nouts, case.activation, case.final, seed=case.seed)
    params = model.parameters()
    xs, tensor_inputs = inputs_of(case)
    outs = as_list(model(xs))
    assert len(outs) == case.nouts[-1]
    weighted_sum(outs, case.coeffs).backward()

    t_out, t_pgrad, t_xgrad = torch_reference(case, [p.value for p in params])
    assert_close(values(outs), t_out)
    assert_close(grads(params), t_pgrad)
    assert_close(grads(tensor_inputs), t_xgrad)


@given(mlp_cases())
def test_mlp_matches_op_by_op_graph(case: Case) -> None:
    """The C-built network and the same network built from Tensor ops, same parameters."""
    model = MLP(case.nin, case.nouts, case.activation, case.final, seed=case.seed)
    params = model.parameters()
    xs, tensor_inputs = inputs_of(case)

    weighted_sum(as_list(model(xs)), case.coeffs).backward()
    c_param_grads, c_input_grads = grad_list(params), grad_list(tensor_inputs)
    model.zero_grad()
    for t in tensor_inputs:
        t.gradient = 0.0

    outs = reference_forward(params, xs, case.nouts, case.acts, TENSOR_ACT)
    c_values = value_list(as_list(model(xs)))
    assert value_list(outs) == close(c_values)
    weighted_sum(outs, case.coeffs).backward()
    assert grad_list(params) == close(c_param_grads)
    assert grad_list(tensor_inputs) == close(c_input_grads)


@pytest.mark.needs_torch
@given(mlp_cases(max_layers=1))
def test_layer_and_its_neurons_match_torch(case: Case) -> None:
    layer = Layer(case.nin, case.nouts[0], case.activation, seed=case.seed)
    params = layer.parameters()
    xs, tensor_inputs = inputs_of(case)
    outs = as_list(layer(xs))
    weighted_sum(outs, case.coeffs).backward()

    case.final = None  # a Layer has one activation
    t_out, t_pgrad, t_xgrad = torch_reference(case, [p.value for p in params])
    assert_close(values(outs), t_out)
    assert_close(grads(params), t_pgrad)
    assert_close(grads(tensor_inputs), t_xgrad)

    # each neuron view computes its row of the layer, on the layer's own parameters
    assert len(layer.neurons) == case.nouts[0]
    for j, neuron in enumerate(layer.neurons):
        assert neuron(xs).value == outs[j].value
        assert neuron.parameters() == params[j * (case.nin + 1):(j + 1) * (case.nin + 1)]


@pytest.mark.needs_torch
@given(st.integers(1, 5), activations, seeds,
       st.lists(S.reals(-3.0, 3.0), min_size=5, max_size=5), st.booleans())
def test_standalone_neuron_matches_torch(nin: int, act: str, seed: int, x: list[float],
                                         tensor_inputs: bool) -> None:
    neuron = Neuron(nin, act, seed=seed)
    xs: list[Any] = [Tensor(v) for v in x[:nin]] if tensor_inputs else x[:nin]
    out = neuron(xs)
    assert isinstance(out, Tensor)
    out.backward()

    w = [leaf(p.value) for p in neuron.w]
    b = leaf(neuron.b.value)
    tx = [leaf(v) for v in x[:nin]]
    (t_out,) = reference_forward([*w, b], tx, [1], [act], TORCH_ACT)
    t_out.backward()
    assert_close(torch.tensor(out.value, dtype=torch.float64), t_out.detach())
    zero = torch.tensor(0.0, dtype=torch.float64)
    assert_close(grads(neuron.parameters()),
                 torch.stack([p.grad if p.grad is not None else zero for p in [*w, b]]))
    if tensor_inputs:
        assert_close(grads(xs), torch.stack([t.grad if t.grad is not None else zero
                                             for t in tx]))


@given(mlp_cases(), st.lists(st.lists(S.reals(-3.0, 3.0), min_size=4, max_size=4),
                             min_size=1, max_size=6))
def test_forward_batch_equals_per_sample_calls(case: Case, rows: list[list[float]]) -> None:
    model = MLP(case.nin, case.nouts, case.activation, case.final, seed=case.seed)
    params = model.parameters()
    X = [row[:case.nin] for row in rows]

    batch = model.forward_batch(X)
    assert len(batch) == len(X)
    flat_batch = [t for entry in batch for t in as_list(entry)]
    weighted_sum(flat_batch, case.coeffs * len(X)).backward()
    batch_grads = grad_list(params)
    model.zero_grad()

    singles = [model(x) for x in X]
    for b, s in zip(batch, singles):
        assert type(b) is type(s)
    flat_single = [t for entry in singles for t in as_list(entry)]
    assert value_list(flat_batch) == value_list(flat_single)
    weighted_sum(flat_single, case.coeffs * len(X)).backward()
    assert grad_list(params) == close(batch_grads)

    # a numpy array gives the same
    arr_out = model.forward_batch(np.array(X))
    assert value_list([t for e in arr_out for t in as_list(e)]) == value_list(flat_single)


@pytest.mark.needs_torch
def test_demo_network_matches_torch_linear_layers() -> None:
    """micrograd's demo network on a batch against nn.Linear layers (vectorized torch)."""
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(50, 2))
    model = MLP(2, [16, 16, 1], activation="relu", final_activation="linear", seed=7)
    scores = model.forward_batch(X)
    weighted_sum(scores, [1.0] * len(scores)).backward()

    lins = [torch.nn.Linear(a, b, dtype=torch.float64) for a, b in [(2, 16), (16, 16), (16, 1)]]
    with torch.no_grad():
        for lin, layer in zip(lins, model.layers):
            rows = [n.parameters() for n in layer.neurons]
            lin.weight.copy_(torch.tensor([[p.value for p in r[:-1]] for r in rows],
                                          dtype=torch.float64))
            lin.bias.copy_(torch.tensor([r[-1].value for r in rows], dtype=torch.float64))
    h = torch.tensor(X, dtype=torch.float64)
    h = torch.relu(lins[0](h))
    h = torch.relu(lins[1](h))
    out = lins[2](h).squeeze(1)
    out.sum().backward()
    assert_close(values(scores), out.detach())
    expected = torch.cat([torch.cat([lin.weight.grad, lin.bias.grad[:, None]], dim=1).flatten()
                          for lin in lins])
    assert_close(grads(model.parameters()), expected)


# ---- micrograd: the same parameters in the same order ----------------------------------


def test_parameters_in_micrograds_order() -> None:
    from micrograd.engine import Value
    from micrograd.nn import MLP as MicroMLP

    # the same global seed draws the same weights in the same order
    random.seed(1337)
    ours = MLP(2, [16, 16, 1], activation="relu", final_activation="linear")
    random.seed(1337)
    theirs = MicroMLP(2, [16, 16, 1])
    assert [p.value for p in ours.parameters()] == [p.data for p in theirs.parameters()]

    # weights copied one to one give the same outputs, and the same gradients
    micro = MicroMLP(3, [4, 5, 3])
    model = MLP(3, [4, 5, 3], activation="relu", final_activation="linear", seed=3)
    assert len(model.parameters()) == len(micro.parameters())
    for p, q in zip(model.parameters(), micro.parameters()):
        q.data = p.value
    for x in ([1.0, -2.0, 0.5], [0.3, 0.1, -0.7], [2.0, 2.0, 2.0]):
        ours_out = model(x)
        their_out = micro([Value(v) for v in x])
        assert isinstance(ours_out, list)
        assert value_list(ours_out) == close([o.data for o in their_out])
        model.zero_grad()
        micro.zero_grad()
        weighted_sum(ours_out, [1.0, -2.0, 0.5]).backward()
        weighted_sum(their_out, [1.0, -2.0, 0.5]).backward()
        assert grad_list(model.parameters()) == close([p.grad for p in micro.parameters()])


def test_width_one_hidden_layer_feeds_the_next_layer() -> None:
    """micrograd's MLP(2, [16, 1, 1]) fails: its width-1 layer returns a bare Value."""
    model = MLP(2, [16, 1, 1], seed=0)
    out = model([0.5, -0.5])
    assert isinstance(out, Tensor)
    out.backward()
    assert any(p.gradient != 0.0 for p in model.layers[0].parameters())
    # chaining layers by hand works too: a bare Tensor is a one-input layer's input
    first, second = Layer(2, 1, seed=1), Layer(1, 3, seed=2)
    hidden = first([0.5, -0.5])
    assert isinstance(hidden, Tensor)
    assert len(as_list(second(hidden))) == 3
    assert isinstance(Neuron(1, seed=0)(2.0), Tensor)


# ---- construction: shapes, seeds, parameters -------------------------------------------


def test_shapes_and_parameter_identity() -> None:
    model = MLP(3, [4, 4, 1], seed=0)
    params = model.parameters()
    assert len(params) == 4 * 4 + 4 * 5 + 1 * 5
    assert model.parameters()[0] is params[0]
    assert all(a is b for a, b in zip(model.parameters(), params))
    assert [len(layer.neurons) for layer in model.layers] == [4, 4, 1]
    assert [(layer.nin, layer.nout) for layer in model.layers] == [(3, 4), (4, 4), (4, 1)]
    layer_params = [p for layer in model.layers for p in layer.parameters()]
    assert all(a is b for a, b in zip(layer_params, params))
    neuron_params = [p for layer in model.layers for n in layer.neurons for p in n.parameters()]
    assert all(a is b for a, b in zip(neuron_params, params))
    n0 = model.layers[0].neurons[0]
    assert n0.w == params[:3] and n0.b is params[3]
    assert len(set(params)) == len(params)  # distinct nodes


def test_initial_weights_uniform_biases_zero() -> None:
    model = MLP(5, [8, 8, 2], seed=123)
    for layer in model.layers:
        for n in layer.neurons:
            assert n.b.value == 0.0
            assert all(-1.0 <= w.value <= 1.0 for w in n.w)
    weights = [w.value for layer in model.layers for n in layer.neurons for w in n.w]
    assert len(set(weights)) == len(weights)
    # exactly the draws of random.Random(seed).uniform(-1, 1), in micrograd's order
    rng = random.Random(123)
    assert weights == [rng.uniform(-1, 1) for _ in weights]


def test_seeds_reproduce() -> None:
    def vals(m: Module) -> list[float]:
        return [p.value for p in m.parameters()]

    assert vals(MLP(3, [4, 1], seed=5)) == vals(MLP(3, [4, 1], seed=5))
    assert vals(MLP(3, [4, 1], seed=5)) != vals(MLP(3, [4, 1], seed=6))
    assert vals(MLP(3, [4, 1], seed=np.int64(5))) == vals(MLP(3, [4, 1], seed=5))
    assert vals(Layer(3, 4, seed=9)) == vals(Layer(3, 4, seed=random.Random(9)))
    assert vals(Neuron(3, seed=9)) == vals(Neuron(3, seed=9))
    # a Random is used as it is: it advances, and two models from it differ
    rng = random.Random(1)
    a, b = MLP(2, [3], seed=rng), MLP(2, [3], seed=rng)
    assert vals(a) != vals(b)
    # None draws from the global random module
    random.seed(42)
    c = MLP(2, [3, 1])
    random.seed(42)
    assert vals(c) == vals(MLP(2, [3, 1]))
    random.seed(42)
    assert vals(c) == vals(MLP(2, [3, 1], seed=42))


def test_zero_grad() -> None:
    model = MLP(2, [3, 2], seed=0)
    weighted_sum(as_list(model([1.0, 2.0])), [1.0, 1.0]).backward()
    assert any(p.gradient != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.gradient == 0.0 for p in model.parameters())

    layer = Layer(2, 3, seed=0)
    weighted_sum(as_list(layer([1.0, 2.0])), [1.0, 1.0, 1.0]).backward()
    layer.neurons[1].zero_grad()  # a view resets its own row only
    assert all(p.gradient == 0.0 for p in layer.neurons[1].parameters())
    assert any(p.gradient != 0.0 for p in layer.neurons[0].parameters())
    layer.zero_grad()
    assert all(p.gradient == 0.0 for p in layer.parameters())

    neuron = Neuron(2, seed=0)
    neuron([1.0, 2.0]).backward()
    assert neuron.b.gradient != 0.0
    neuron.zero_grad()
    assert all(p.gradient == 0.0 for p in neuron.parameters())


def test_forward_builds_one_neuron_node_per_neuron() -> None:
    model = MLP(3, [4, 2], activation="relu", final_activation="sigmoid", seed=0)
    x = [Tensor(1.0), Tensor(2.0), Tensor(3.0)]
    out = as_list(model(x))
    last = model.layers[-1]
    for j, o in enumerate(out):
        assert o.op == "neuron_sigmoid"
        children = o.children
        assert len(children) == 2 * 4 + 1
        assert list(children[:4]) == last.neurons[j].w
        assert children[-1] == last.neurons[j].b
        hidden = children[4:8]
        assert all(h.op == "neuron_relu" for h in hidden)
        assert list(hidden[0].children[3:6]) == x
    for act in ACTS:
        assert Neuron(2, act, seed=0)([1.0, 1.0]).op == f"neuron_{act}"


def test_one_c_call_per_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    model = MLP(2, [16, 16, 1], seed=0)
    layer = Layer(2, 5, seed=0)
    counting = CountingLib(nn.lib)
    monkeypatch.setattr(nn, "lib", counting)
    for x in ([1.0, 2.0], [Tensor(1.0), 2.0], [Tensor(1.0), Tensor(2.0)]):
        for forward in (model, layer):
            counting.calls.clear()
            forward(x)
            assert len(counting.calls) == 1, counting.calls
    counting.calls.clear()
    model.forward_batch([[1.0, 2.0]] * 100)
    assert counting.calls == ["mg_mlp_forward_batch"]
    counting.calls.clear()
    model.zero_grad()
    assert counting.calls == ["mg_layer_zero_grad"] * 3


# ---- lifetime ------------------------------------------------------------------------------


def test_models_free_everything_without_the_cycle_collector() -> None:
    gc.collect()
    gc.disable()
    try:
        gc.collect()
        base = live_nodes()
        model = MLP(3, [8, 8, 2], seed=0)
        assert live_nodes() == base + len(model.parameters())
        outs = as_list(model([Tensor(1.0), 2.0, 3.0]))
        weighted_sum(outs, [1.0, 2.0]).backward()
        batch = model.forward_batch([[1.0, 2.0, 3.0]] * 5)
        del outs, batch
        neuron = model.layers[0].neurons[3]
        del model  # a neuron view keeps its layer alive, not the rest
        assert neuron([1.0, 2.0, 3.0]).value == neuron([1.0, 2.0, 3.0]).value
        del neuron
        standalone = Layer(2, 2, seed=0), Neuron(4, seed=0)
        del standalone
        assert live_nodes() == base
    finally:
        gc.enable()


def test_outputs_outlive_the_model() -> None:
    model = MLP(2, [4, 1], seed=0)
    params = model.parameters()
    out = model([1.0, -1.0])
    assert isinstance(out, Tensor)
    del model
    gc.collect()
    out.backward()  # the graph holds the parameters; the layers are gone
    assert any(p.gradient != 0.0 for p in params)


def test_a_batch_lives_while_any_of_its_nodes_is_held() -> None:
    """forward_batch's nodes share one block: freed together with the last reference."""
    gc.collect()
    model = MLP(2, [3, 1], activation="relu", seed=0)
    gc.collect()
    base = live_nodes()
    scores = model.forward_batch([[1.0, 2.0], [3.0, -4.0]])
    nodes = 2 * (2 + 3 + 1)  # per row: 2 input leaves, 3 hidden neurons, 1 score
    assert live_nodes() == base + nodes
    hidden = scores[1].children[3]  # weights 0-2, then the hidden nodes of row 1
    leaf = hidden.children[3]  # weights 0-1, then the inputs
    assert (hidden.op, leaf.op, leaf.value) == ("neuron_relu", "leaf", -4.0)
    del scores, hidden
    assert live_nodes() == base + nodes  # the leaf keeps its whole batch
    (leaf * 2.0).backward()
    assert leaf.gradient == 2.0
    del leaf
    assert live_nodes() == base

# ---- printing ------------------------------------------------------------------------------


def test_repr() -> None:
    assert repr(MLP(2, [16, 16, 1], "relu", "linear")) == \
        "MLP(2, [16, 16, 1], activation='relu', final_activation='linear')"
    assert repr(MLP(3, [4, 4, 1])) == "MLP(3, [4, 4, 1], activation='tanh')"
    assert repr(MLP(3, [4, 4, 1], final_activation="tanh")) == \
        "MLP(3, [4, 4, 1], activation='tanh')"
    assert repr(Layer(3, 4, "sigmoid")) == "Layer(3, 4, activation='sigmoid')"
    assert repr(Neuron(3)) == "Neuron(3, activation='tanh')"
    assert repr(Layer(3, 4).neurons[2]) == "Neuron(3, activation='tanh')"


# ---- state dicts, save and load -------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda s: MLP(3, [4, 4, 1], seed=s),
    lambda s: MLP(2, [16, 16, 1], "relu", "linear", seed=s),
    lambda s: Layer(3, 2, "sigmoid", seed=s),
    lambda s: Neuron(4, "linear", seed=s),
])
def test_state_dict_round_trip(make: Callable[[int], Any], tmp_path: Any) -> None:
    src, dst = make(1), make(2)
    state = src.state_dict()
    assert state["format"] == nn.STATE_FORMAT
    assert state["type"] == type(src).__name__
    assert state["parameters"] == [p.value for p in src.parameters()]
    assert json.loads(json.dumps(state)) == state
    dst_params = dst.parameters()
    dst.load_state_dict(json.loads(json.dumps(state)))
    assert dst.parameters() == dst_params  # the same Tensors, new values
    assert [p.value for p in dst.parameters()] == state["parameters"]

    third = make(3)
    path = tmp_path / "model.json"
    src.save(path)
    third.load(str(path))
    assert [p.value for p in third.parameters()] == state["parameters"]
    x = [0.25 * (i + 1) for i in range(src.nin)]
    assert value_list(as_list(third(x))) == value_list(as_list(src(x)))


def test_state_dict_describes_the_shape() -> None:
    state = MLP(2, [3, 1], "relu", "linear", seed=0).state_dict()
    assert state["nin"] == 2 and state["nouts"] == [3, 1]
    assert state["activations"] == ["relu", "linear"]
    assert Layer(2, 3).state_dict()["nout"] == 3
    assert Neuron(2, "relu").state_dict()["activation"] == "relu"


def _edited(state: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**state, **changes}


def test_load_state_dict_rejects_what_does_not_fit(tmp_path: Any) -> None:
    model = MLP(3, [4, 1], seed=0)
    before = [p.value for p in model.parameters()]
    state = MLP(3, [4, 1], seed=1).state_dict()
    n = len(state["parameters"])
    cases = [
        (MLP(3, [5, 1], seed=0).state_dict(), r"nouts=\[5, 1\].*nouts=\[4, 1\]"),
        (MLP(2, [4, 1], seed=0).state_dict(), r"nin=2.*nin=3"),
        (MLP(3, [4, 1], "relu", seed=0).state_dict(), "activations"),
        (Layer(3, 4).state_dict(), "'Layer'.*'MLP'"),
        (_edited(state, parameters=state["parameters"][:-1]), f"{n - 1} parameters.*{n}"),
        (_edited(state, parameters=[*state["parameters"], 1.0]), f"{n + 1} parameters"),
        (_edited(state, parameters=["x"] * n), r"parameters\[0\] is not a number"),
        (_edited(state, parameters=None), "must be a list"),
        (_edited(state, format="something/2"), "not a pymicrograd state dict"),
        ([1.0, 2.0], "must be a dict"),
    ]
    for bad, message in cases:
        with pytest.raises(ValueError, match=message):
            model.load_state_dict(bad)
        assert [p.value for p in model.parameters()] == before

    path = tmp_path / "other.json"
    MLP(3, [4, 4, 1], seed=0).save(path)
    with pytest.raises(ValueError, match="nouts"):
        model.load(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not a JSON state dict"):
        model.load(path)
    assert [p.value for p in model.parameters()] == before


def test_a_custom_module_gets_the_generic_methods(tmp_path: Any) -> None:
    class TwoHeads(Module):
        def __init__(self, seed: int) -> None:
            self.body = MLP(2, [4], seed=seed)
            self.head = Layer(4, 2, "linear", seed=seed)

        def parameters(self) -> list[Tensor]:
            return self.body.parameters() + self.head.parameters()

        def __call__(self, x: list[float]) -> Any:
            return self.head(self.body(x))

    a, b = TwoHeads(0), TwoHeads(1)
    weighted_sum(a([1.0, 2.0]), [1.0, 1.0]).backward()
    a.zero_grad()
    assert all(p.gradient == 0.0 for p in a.parameters())
    a.save(tmp_path / "m.json")
    b.load(tmp_path / "m.json")
    assert [p.value for p in b.parameters()] == [p.value for p in a.parameters()]
    assert repr(a) == "TwoHeads(<22 parameters>)"


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("make, error, message", [
    (lambda: MLP(0, [1]), ValueError, "nin must be at least 1, got 0"),
    (lambda: MLP(2, []), ValueError, r"len\(nouts\) must be at least 1, got 0"),
    (lambda: MLP(2, [3, 0, 1]), ValueError, r"nouts\[1\] must be at least 1, got 0"),
    (lambda: MLP(2, [-1]), ValueError, r"nouts\[0\] must be at least 1, got -1"),
    (lambda: Layer(2, 0), ValueError, "nout must be at least 1, got 0"),
    (lambda: Layer(-3, 2), ValueError, "nin must be at least 1, got -3"),
    (lambda: Neuron(0), ValueError, "nin must be at least 1, got 0"),
    (lambda: MLP(2.5, [1]), TypeError, "nin must be an int"),  # type: ignore[arg-type]
    (lambda: MLP(2, 3), TypeError, "nouts must be a list"),  # type: ignore[arg-type]
    (lambda: Layer(2, True), TypeError, "nout must be an int"),
    (lambda: MLP(2, [1], seed="x"), TypeError, "seed"),  # type: ignore[arg-type]
])
def test_bad_sizes(make: Callable[[], Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("make", [
    lambda: MLP(2, [1], activation="softmax"),
    lambda: MLP(2, [1], final_activation="Tanh"),
    lambda: Layer(2, 1, "gelu"),
    lambda: Neuron(2, activation=None),  # type: ignore[arg-type]
])
def test_unknown_activation_lists_the_valid_ones(make: Callable[[], Any]) -> None:
    with pytest.raises(ValueError, match="unknown activation") as info:
        make()
    for name in ACTS:
        assert repr(name) in str(info.value)


@pytest.mark.parametrize("make", [lambda: MLP(3, [2, 1], seed=0), lambda: Layer(3, 2, seed=0),
                                  lambda: Neuron(3, seed=0),
                                  lambda: Layer(3, 2, seed=0).neurons[1]])
def test_wrong_inputs(make: Callable[[], Any]) -> None:
    model = make()  # made here: nothing of the C core stays alive between tests
    for x, got in (([1.0, 2.0], 2), ([1.0] * 4, 4), ([], 0), (1.0, 1), (Tensor(1.0), 1)):
        with pytest.raises(ValueError, match=f"expected 3 inputs, got {got}"):
            model(x)
    with pytest.raises(TypeError, match="input 1 must be an int or float, not str"):
        model([1.0, "2", 3.0])
    with pytest.raises(TypeError, match="input 0 must be an int or float, not NoneType"):
        model([None, Tensor(1.0), 3.0])
    with pytest.raises(TypeError, match="inputs must be a list"):
        model("abc")
    # numbers of any real type are fine
    model([1, np.float32(2.0), np.int64(3)])


def test_forward_batch_bad_input() -> None:
    model = MLP(2, [3, 1], seed=0)
    assert model.forward_batch([]) == []
    assert model.forward_batch(np.zeros((0, 2))) == []
    with pytest.raises(ValueError, match=r"X\[1\]: expected 2 inputs, got 3"):
        model.forward_batch([[1.0, 2.0], [1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match=r"shape \(batch, 2\)"):
        model.forward_batch(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"shape \(batch, 2\)"):
        model.forward_batch(np.zeros(2))
    with pytest.raises(TypeError, match=r"X\[1\]\[0\] must be an int or float, not Tensor"):
        model.forward_batch([[1.0, 2.0], [Tensor(1.0), 2.0]])
    with pytest.raises(TypeError, match=r"X\[0\] must be a list"):
        model.forward_batch([1.0, 2.0])
    with pytest.raises(TypeError, match=r"X\[0\] must be a list of numbers, not bytes"):
        model.forward_batch([b"\x01\x02"])  # two ints when iterated, still not a row
    with pytest.raises(TypeError, match="X must hold numbers"):
        model.forward_batch(np.array([[Tensor(1.0), 2.0]], dtype=object))
    # ints, numpy rows, a Fortran-ordered int array: all converted
    ref = value_list(model.forward_batch([[1.0, 2.0], [3.0, 4.0]]))  # type: ignore[arg-type]
    for X in ([[1, 2], [3, 4]], [(1, 2.0), (3.0, 4)], ((1.0, 2.0), [3.0, 4.0]),
              [np.array([1.0, 2.0]), np.array([3.0, 4.0])],
              np.asfortranarray(np.array([[1, 2], [3, 4]]))):
        assert value_list(model.forward_batch(X)) == ref  # type: ignore[arg-type]


def test_modules_are_importable_from_the_package() -> None:
    assert pymicrograd.nn.MLP is MLP
    assert pymicrograd.losses.sse_loss is not None
    assert pymicrograd.optim.SGD is not None


@pytest.mark.parametrize("module", [pymicrograd.nn, pymicrograd.losses, pymicrograd.optim,
                                    pymicrograd.batch])
def test_module_doctests(module: Any) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
