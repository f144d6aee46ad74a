"""pymicrograd.interop: to_torch / from_torch round trips, equal outputs and gradients,
rejected modules and the ImportError without torch
(the docs page "Moving on to PyTorch" runs in tests/test_docs.py).

torch's nn.Linear sums in another order than a pymicrograd neuron, so outputs and
gradients agree to rounding (``assert_close`` float64 defaults), while the weights
themselves are copied exactly. Inputs and weights come from a seeded Random, so no
pre-activation of a relu lands close enough to 0 for the two sums to disagree on
its sign.
"""

from __future__ import annotations

import random
import subprocess
import sys
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lazy_torch import assert_close, torch

from pymicrograd import Tensor
from pymicrograd.interop import from_torch, to_torch
from pymicrograd.nn import MLP, Layer, Neuron

ACTS = ["tanh", "relu", "sigmoid", "linear"]
TORCH_ACT = {"tanh": "Tanh", "relu": "ReLU", "sigmoid": "Sigmoid"}   # torch.nn's modules


class Net:
    """A random MLP description: shape, activations, seed for weights and inputs."""

    def __init__(self, nin: int, nouts: list[int], activation: str, final: str | None,
                 seed: int, batch: int) -> None:
        self.nin, self.nouts, self.activation, self.final = nin, nouts, activation, final
        self.seed, self.batch = seed, batch

    def __repr__(self) -> str:
        return (f"Net(nin={self.nin}, nouts={self.nouts}, activation={self.activation!r}, "
                f"final={self.final!r}, seed={self.seed}, batch={self.batch})")

    def build(self) -> tuple[MLP, list[list[float]], list[float]]:
        """The MLP with random biases too, a batch of inputs, output coefficients."""
        rng = random.Random(self.seed)
        model = MLP(self.nin, self.nouts, self.activation, self.final, seed=rng)
        for p in model.parameters():
            p.value = rng.uniform(-1.0, 1.0)
        X = [[rng.uniform(-3.0, 3.0) for _ in range(self.nin)] for _ in range(self.batch)]
        coeffs = [rng.uniform(-2.0, 2.0) for _ in range(self.nouts[-1])]
        return model, X, coeffs


@st.composite
def nets(draw: Any) -> Net:
    return Net(draw(st.integers(1, 4)), draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)),
               draw(st.sampled_from(ACTS)), draw(st.one_of(st.none(), st.sampled_from(ACTS))),
               draw(st.integers(0, 2**32 - 1)), draw(st.integers(1, 4)))


def micrograd_order(seq: torch.nn.Sequential, attr: str) -> torch.Tensor:
    """weight|bias values (or .grad) of every Linear, neuron by neuron: micrograd's order."""
    parts = []
    for m in seq:
        if isinstance(m, torch.nn.Linear):
            w, b = getattr(m.weight, attr), getattr(m.bias, attr)
            parts.append(torch.cat([w, b[:, None]], dim=1).flatten())
    return torch.cat(parts).detach()


def values(ts: list[Tensor]) -> torch.Tensor:
    return torch.tensor([t.value for t in ts], dtype=torch.float64)


def grads(ts: list[Tensor]) -> torch.Tensor:
    return torch.tensor([t.gradient for t in ts], dtype=torch.float64)


def as_list(out: Tensor | list[Tensor]) -> list[Tensor]:
    return [out] if isinstance(out, Tensor) else out


# ---- to_torch ----------------------------------------------------------------------------


@pytest.mark.needs_torch
@given(nets())
@settings(max_examples=25)
def test_round_trip_gives_identical_parameters(net: Net) -> None:
    model, _, _ = net.build()
    back = from_torch(to_torch(model))
    if len(net.nouts) > 1:  # a one-layer MLP has no hidden layer: `activation` is unused
        assert repr(back) == repr(model)
    assert back.state_dict() == model.state_dict()
    assert [layer.activation for layer in back.layers] == [lay.activation for lay in model.layers]


@pytest.mark.needs_torch
@given(nets())
@settings(max_examples=25)
def test_to_torch_structure_and_exact_weights(net: Net) -> None:
    model, _, _ = net.build()
    seq = to_torch(model)
    assert isinstance(seq, torch.nn.Sequential)
    expected: list[Any] = []
    for layer in model.layers:
        expected.append((torch.nn.Linear, layer.nin, layer.nout))
        if layer.activation != "linear":
            expected.append(getattr(torch.nn, TORCH_ACT[layer.activation]))
    got = [(type(m), m.in_features, m.out_features) if isinstance(m, torch.nn.Linear)
           else type(m) for m in seq]
    assert got == expected
    for m in seq:
        for p in m.parameters():
            assert p.dtype == torch.float64
            assert p.requires_grad
            assert p.grad is None  # gradients are not copied
    assert micrograd_order(seq, "data").tolist() == [p.value for p in model.parameters()]


@pytest.mark.needs_torch
@given(nets())
@settings(max_examples=25)
def test_outputs_and_gradients_match(net: Net) -> None:
    model, X, coeffs = net.build()
    seq = to_torch(model)

    xs = [[Tensor(v) for v in row] for row in X]
    outs = [as_list(model(row)) for row in xs]
    loss: Any = 0.0
    for row_out in outs:
        for o, c in zip(row_out, coeffs):
            loss = loss + o * c
    loss.backward()

    tx = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    tout = seq(tx)
    (tout * torch.tensor(coeffs, dtype=torch.float64)).sum().backward()

    assert_close(torch.stack([values(r) for r in outs]), tout.detach())
    assert_close(grads(model.parameters()), micrograd_order(seq, "grad"))
    assert_close(torch.stack([grads(r) for r in xs]), tx.grad)
    # forward_batch (the fast path) agrees as well
    batch = model.forward_batch(X)
    flat = [t for r in batch for t in as_list(r)]
    assert_close(values(flat).reshape(tout.shape), tout.detach())


@pytest.mark.needs_torch
@pytest.mark.parametrize("act", ACTS)
def test_layer_and_neuron(act: str) -> None:
    layer = Layer(3, 2, act, seed=1)
    neuron = Neuron(3, act, seed=2)
    x = [0.5, -1.25, 2.0]
    tx = torch.tensor([x], dtype=torch.float64)
    for model in (layer, neuron):
        seq = to_torch(model)
        assert isinstance(seq[0], torch.nn.Linear)
        assert len(seq) == (1 if act == "linear" else 2)
        assert micrograd_order(seq, "data").tolist() == [p.value for p in model.parameters()]
        assert_close(values(as_list(model(x))), seq(tx).detach()[0])
        back = from_torch(seq)
        assert back.layers[0].activation == act
        assert [p.value for p in back.parameters()] == [p.value for p in model.parameters()]


@pytest.mark.needs_torch
def test_float32() -> None:
    model = MLP(2, [4, 1], seed=3)
    seq = to_torch(model, dtype=torch.float32)
    assert all(p.dtype == torch.float32 for p in seq.parameters())
    expected = torch.tensor([p.value for p in model.parameters()], dtype=torch.float32)
    assert torch.equal(micrograd_order(seq, "data"), expected)
    out = seq(torch.tensor([[0.3, -0.7]]))
    value = model([0.3, -0.7]).value  # type: ignore[union-attr]
    assert_close(out.double(), torch.tensor([[value]], dtype=torch.float64),
                 rtol=1e-5, atol=1e-6)
    # back from float32: the values of the float32 weights, widened exactly
    assert [p.value for p in from_torch(seq).parameters()] == expected.double().tolist()


@pytest.mark.needs_torch
def test_to_torch_leaves_torchs_random_state_alone() -> None:
    state = torch.random.get_rng_state()
    to_torch(MLP(3, [8, 8, 1], seed=0))
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.needs_torch
def test_to_torch_rejects() -> None:
    with pytest.raises(TypeError, match="MLP, Layer or Neuron"):
        to_torch(torch.nn.Linear(2, 2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="floating-point"):
        to_torch(MLP(2, [1], seed=0), dtype=torch.int64)
    with pytest.raises(ValueError, match="floating-point"):
        to_torch(MLP(2, [1], seed=0), dtype="float64")


# ---- from_torch -----------------------------------------------------------------------------


@pytest.mark.needs_torch
def test_from_torch_of_a_torch_built_network() -> None:
    torch.manual_seed(0)
    seq = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(),
                              torch.nn.Linear(16, 16), torch.nn.ReLU(),
                              torch.nn.Linear(16, 1))  # float32, torch's own init
    model = from_torch(seq)
    assert repr(model) == "MLP(2, [16, 16, 1], activation='relu', final_activation='linear')"
    assert all(p.gradient == 0.0 for p in model.parameters())
    X = [[0.5, -1.0], [2.0, 0.25], [-1.5, -0.75]]
    expected = seq.double()(torch.tensor(X, dtype=torch.float64)).detach()
    rows = [[t.value] for t in model.forward_batch(X)]  # type: ignore[union-attr]
    got = torch.tensor(rows, dtype=torch.float64)
    assert_close(got, expected)


@pytest.mark.needs_torch
def test_from_torch_identity_and_missing_activation_are_linear() -> None:
    seq = torch.nn.Sequential(torch.nn.Linear(3, 2, dtype=torch.float64), torch.nn.Identity(),
                              torch.nn.Linear(2, 2, dtype=torch.float64), torch.nn.Identity())
    model = from_torch(seq)
    assert [layer.activation for layer in model.layers] == ["linear", "linear"]
    assert model.activation == model.final_activation == "linear"
    one = from_torch(torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Sigmoid()))
    assert repr(one) == "MLP(3, [1], activation='sigmoid')"
    tanh_then_linear = from_torch(torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)))
    assert repr(tanh_then_linear) == "MLP(3, [4, 1], activation='tanh', final_activation='linear')"


@pytest.mark.needs_torch
def test_from_torch_linear_without_bias() -> None:
    lin = torch.nn.Linear(2, 3, bias=False, dtype=torch.float64)
    model = from_torch(torch.nn.Sequential(lin, torch.nn.Tanh()))
    params = model.parameters()
    assert [p.value for p in params[2::3]] == [0.0, 0.0, 0.0]
    weights = [p.value for i, p in enumerate(params) if i % 3 != 2]
    assert weights == lin.weight.detach().flatten().tolist()


# each case's modules, made of torch.nn in the test (torch is imported at its first use)
@pytest.mark.needs_torch
@pytest.mark.parametrize(("modules", "message"), [
    (lambda nn: [nn.Linear(2, 3), nn.Tanh(), nn.Dropout(), nn.Linear(3, 1)],
     r"seq\[2\] is Dropout"),
    (lambda nn: [nn.Linear(2, 3), nn.LeakyReLU()], r"seq\[1\] is LeakyReLU"),
    (lambda nn: [nn.Linear(2, 3), nn.Sequential(nn.Linear(3, 1))],
     r"seq\[1\] is Sequential"),
    (lambda nn: [nn.Conv1d(1, 1, 1)], r"seq\[0\] is Conv1d"),
    (lambda nn: [nn.Tanh(), nn.Linear(2, 1)], r"seq\[0\] is Tanh, the first module"),
    (lambda nn: [nn.Linear(2, 3), nn.Tanh(), nn.ReLU()],
     r"seq\[2\] is ReLU, the second activation in a row"),
    (lambda nn: [nn.Linear(2, 3), nn.Linear(4, 1)],
     r"seq\[1\] is Linear\(in_features=4\).*out_features=3"),
    (lambda nn: [nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1)],
     r"one activation to all hidden layers.*'tanh'.*layer 1.*'relu'"),
    (lambda nn: [], "empty"),
])
def test_from_torch_rejects(modules: Callable[[Any], list[Any]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_torch(torch.nn.Sequential(*modules(torch.nn)))


@pytest.mark.needs_torch
def test_from_torch_needs_a_sequential() -> None:
    with pytest.raises(TypeError, match="Sequential"):
        from_torch(torch.nn.Linear(2, 1))
    with pytest.raises(TypeError, match="Sequential"):
        from_torch([torch.nn.Linear(2, 1)])


# ---- without torch ---------------------------------------------------------------------------


@pytest.mark.needs_torch
def test_missing_torch_raises_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    model = MLP(2, [1], seed=0)
    seq = to_torch(model)
    monkeypatch.setitem(sys.modules, "torch", None)  # "import torch" now raises ImportError
    with pytest.raises(ImportError, match=r"needs PyTorch.*pip install torch.*torch==2\.13\.0"):
        to_torch(model)
    with pytest.raises(ImportError, match=r"pip install torch"):
        from_torch(seq)


def test_pymicrograd_imports_without_torch() -> None:
    code = ("import sys; sys.modules['torch'] = None\n"
            "import pymicrograd, pymicrograd.interop, pymicrograd.nn\n"
            "m = pymicrograd.nn.MLP(2, [1], seed=0)\n"
            "try:\n"
            "    pymicrograd.interop.to_torch(m)\n"
            "except ImportError as e:\n"
            "    print('ImportError', e)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert run.stdout.startswith("ImportError pymicrograd.interop needs PyTorch")
