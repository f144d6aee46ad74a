"""pymicrograd.compat: micrograd's Value, Module, Neuron, Layer and MLP, against the
micrograd package itself.

micrograd's published checks (its README expression and the sanity expression of its
tests), the same initial weights from the same seed, the same reprs, the same forward
values and gradients, and karpathy's moons demo run step for step on both with only
the imports changed.
"""

from __future__ import annotations

import doctest
import gc
import io
import math
import random
import re
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import micrograd.engine
import micrograd.nn
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lazy_torch import torch

import pymicrograd
import pymicrograd.compat
import pymicrograd.datasets
from pymicrograd import Tensor, live_nodes
from pymicrograd.compat import engine as cengine
from pymicrograd.compat import nn as cnn
from pymicrograd.compat.engine import Value
from pymicrograd.compat.nn import MLP, Layer, Module, Neuron

# the notebook text is shared with benchmarks/compat_bench.py
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from micrograd_notebook import source_for

ENGINES = {"micrograd": micrograd.engine.Value, "compat": Value}
NNS = {"micrograd": micrograd.nn, "compat": cnn}


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


# ---- micrograd's published checks ------------------------------------------------------


def readme_expression(V: Any) -> tuple[Any, Any, Any]:
    """micrograd's README example, verbatim."""
    a = V(-4.0)
    b = V(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return g, a, b


def sanity_expression(V: Any) -> tuple[Any, Any]:
    """micrograd's test_sanity_check."""
    x = V(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return y, x


def test_readme_expression() -> None:
    g, a, b = readme_expression(Value)
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"
    mg, ma, mb = readme_expression(micrograd.engine.Value)
    for ours, theirs in ((g.data, mg.data), (a.grad, ma.grad), (b.grad, mb.grad)):
        assert close(ours, theirs)
    assert all(isinstance(v, Value) for v in (g, a, b))


@pytest.mark.needs_torch
def test_sanity_expression() -> None:
    y, x = sanity_expression(Value)
    my, mx = sanity_expression(micrograd.engine.Value)
    assert y.data == my.data and x.grad == mx.grad
    # and torch, as micrograd's own test checks it
    xt = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
    zt = 2 * xt + 2 + xt
    qt = zt.relu() + zt * xt
    ht = (zt * zt).relu()
    yt = ht + qt + qt * xt
    yt.backward()
    assert y.data == yt.item() and x.grad == xt.grad.item()  # type: ignore[union-attr]


# ---- Value: micrograd's attributes and the extensions ----------------------------------


def test_value_is_a_tensor_and_ops_give_values() -> None:
    a, b = Value(3.0), Value(-2.0)
    results = [a + b, a + 1, 1 + a, a - b, a - 1, 1 - a, a * b, a * 2, 2 * a, a / b,
               a / 2, 2 / a, a**2, a**b, 2**a, -a, a.relu(), a.tanh(), a.exp(), a.log(),
               a.sigmoid(), a + np.float64(1.0), np.int64(2) * a, sum([a, b])]
    for r in results:
        assert type(r) is Value
    assert isinstance(a, Tensor)
    assert +a is a
    # mixing with a plain pymicrograd Tensor, on either side, gives Values too
    t = Tensor(5.0)
    for r in (t + a, a + t, t - a, a - t, t * a, a * t, t / a, a / t, t**a, a**t):
        assert type(r) is Value
    assert (t - a).data == 2.0 and (t / a).data == 5.0 / 3.0 and (t**a).data == 125.0
    assert [r.data for r in results[:13]] == [1.0, 4.0, 4.0, 5.0, 2.0, -2.0, -6.0, 6.0, 6.0,
                                              -1.5, 1.5, 2.0 / 3.0, 9.0]


def test_children_are_values_and_keep_the_graph() -> None:
    a, b = Value(3.0), Value(-2.0)
    c = a * b
    assert all(type(ch) is Value for ch in c.children)
    assert c.children == (a, b)


def test_constructor_takes_micrograds_private_arguments() -> None:
    """A node built by hand, as the lecture builds its ops, shows its children and op;
    its derivative is the `_backward` the user assigns, which backward() calls."""
    a = Value(1.0)
    v = Value(2, (a,), "+", label="v")
    assert v.data == 2.0 and v.grad == 0.0 and v._prev == {a} and v._op == "+"
    assert v.label == "v" and next(iter(v._prev)) is a
    v.backward()
    assert a.grad == 0.0 and v.grad == 1.0

    def _backward() -> None:
        a.grad += 1.0 * v.grad

    v._backward = _backward   # type: ignore[method-assign]
    v._backward()
    assert a.grad == 1.0
    v.grad = 0.0
    v.backward()
    assert a.grad == 2.0 and v.grad == 1.0
    with pytest.raises(TypeError, match="Value"):
        Value("2")  # type: ignore[arg-type]


@pytest.mark.parametrize("build", [
    lambda V, a, b: a + b, lambda V, a, b: a * b, lambda V, a, b: a**2,
    lambda V, a, b: b**-1, lambda V, a, b: b**0.5, lambda V, a, b: (a * b).relu(),
    lambda V, a, b: a, lambda V, a, b: (a + b) * (a * b),
])
def test_prev_and_op_match_micrograd(build: Any) -> None:
    seen = {}
    for name, V in ENGINES.items():
        a, b = V(-4.0), V(2.0)
        out = build(V, a, b)
        names = {a: "a", b: "b"}  # Values hash by identity (compat: by graph node)
        prev = sorted(names.get(p, p._op) for p in out._prev)
        seen[name] = (out._op, prev, out.data)
    assert seen["compat"] == seen["micrograd"]


def trace(root: Any) -> tuple[set[Any], set[Any]]:
    """micrograd's trace_graph.ipynb helper, verbatim."""
    nodes, edges = set(), set()

    def build(v: Any) -> None:
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)
    build(root)
    return nodes, edges


def test_micrograds_trace_graph_sees_the_same_graph() -> None:
    seen = {}
    for name, V in ENGINES.items():
        a, b = V(-4.0), V(2.0)
        nodes, edges = trace(((a * b + b**2).relu() * a + a) * (a + b))
        seen[name] = (sorted(n._op for n in nodes), len(edges),
                      sorted(n.data for n in nodes))
    assert seen["compat"] == seen["micrograd"]


def test_op_labels_for_the_extra_ops() -> None:
    a, b = Value(3.0), Value(2.0)
    labels = {a.tanh()._op, a.exp()._op, a.log()._op, a.sigmoid()._op, (2**a)._op,
              (a**2.5)._op, (a**b)._op}
    assert labels == {"tanh", "exp", "log", "sigmoid", "2**", "**2.5", "**"}
    # -, / and negation are built as micrograd builds them, from + * and **-1
    assert ((a - b)._op, (a / b)._op, (-a)._op, (1 - a)._op, (1 / a)._op) == (
        "+", "*", "*", "+", "*")
    assert {v._op for v in (a / b)._prev} == {"", "**-1"}
    # a plain number operand of + and * is a leaf Value of its own, as in micrograd
    (x, two) = (a * 2).children
    assert x is a and two._op == "" and two.data == 2.0 and (a * 2)._prev >= {a}
    # a neuron of a compat layer is one node over its weights, inputs and bias
    random.seed(0)
    n = Neuron(2)
    x = [Value(1.0), Value(2.0)]
    out = n(x)
    assert out._op == "ReLU(w·x+b)" and out._prev == {*n.w, *x, n.b}
    assert Neuron(2, nonlin=False)(x)._op == "w·x+b"


def test_repr_is_micrograds() -> None:
    g, _, _ = readme_expression(Value)
    mg, _, _ = readme_expression(micrograd.engine.Value)
    g.grad, mg.grad = 0.5, 0.5
    assert repr(g) == repr(mg) == f"Value(data={mg.data}, grad=0.5)"
    assert repr(Value(2)) == "Value(data=2.0, grad=0)"  # micrograd: data=2, grad=0


def test_extra_ops_values_and_gradients() -> None:
    for f, df, x in ((Value.tanh, lambda x: 1 - math.tanh(x) ** 2, 0.3),
                     (Value.exp, math.exp, 0.3),
                     (Value.log, lambda x: 1 / x, 0.3),
                     (Value.sigmoid, lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2, 0.3)):
        v = Value(x)
        f(v).backward()
        assert close(v.grad, df(x), 1e-12)
    a, b = Value(2.0), Value(3.0)
    (a**b).backward()  # a Value exponent: beyond micrograd's int/float powers
    assert a.grad == 3.0 * 4.0 and close(b.grad, 8.0 * math.log(2.0), 1e-15)


def test_backward_accumulates_unlike_micrograd() -> None:
    """The documented difference: a second backward adds the same derivatives again."""
    for name, V in ENGINES.items():
        x = V(3.0)
        y = (x * x + x) * 2
        y.backward()
        first = x.grad
        y.backward()
        if name == "compat":
            assert x.grad == 2 * first and y.grad == 2.0
        else:  # micrograd resets the root to 1 and re-propagates leftover inner grads
            assert x.grad != 2 * first and y.grad == 1


# ---- nn: same seed, same network -------------------------------------------------------

SHAPES = [(2, [16, 16, 1]), (3, [4, 4, 1]), (1, [1]), (2, [3]), (4, [2, 5, 3])]


def build(name: str, kind: str, seed: int, nin: int, nouts: list[int]) -> Any:
    random.seed(seed)
    nn = NNS[name]
    if kind == "MLP":
        return nn.MLP(nin, nouts)
    if kind == "Layer":
        return nn.Layer(nin, nouts[0], nonlin=len(nouts) > 1)
    return nn.Neuron(nin, nonlin=len(nouts) > 1)


@pytest.mark.parametrize("kind", ["MLP", "Layer", "Neuron"])
@pytest.mark.parametrize(("nin", "nouts"), SHAPES)
def test_same_seed_same_network(kind: str, nin: int, nouts: list[int]) -> None:
    ours = build("compat", kind, 1337, nin, nouts)
    after_ours = random.random()
    theirs = build("micrograd", kind, 1337, nin, nouts)
    after_theirs = random.random()
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    assert after_ours == after_theirs  # the same number of draws
    assert repr(ours) == repr(theirs)
    assert all(type(p) is Value for p in ours.parameters())


def test_reprs_and_structure() -> None:
    random.seed(0)
    model = MLP(2, [16, 16, 1])
    assert repr(model).startswith("MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2), ")
    assert repr(model).endswith("ReLUNeuron(16)], Layer of [LinearNeuron(16)]]")
    assert len(model.layers) == 3 and all(type(layer) is Layer for layer in model.layers)
    assert [len(layer.neurons) for layer in model.layers] == [16, 16, 1]
    assert all(type(n) is Neuron for layer in model.layers for n in layer.neurons)
    assert [n.nonlin for layer in model.layers for n in layer.neurons][-2:] == [True, False]
    assert len(model.parameters()) == 337
    n = model.layers[0].neurons[3]
    assert n.parameters() == [*n.w, n.b] and n.b.data == 0.0 and len(n.w) == 2
    assert model.layers[1].parameters() == [p for n in model.layers[1].neurons
                                            for p in n.parameters()]
    assert isinstance(model, Module) and isinstance(model, pymicrograd.nn.MLP)
    assert repr(Neuron(3, nonlin=False)) == "LinearNeuron(3)"
    assert repr(Layer(1, 2)) == "Layer of [ReLUNeuron(1), ReLUNeuron(1)]"
    with pytest.raises(TypeError, match="unexpected keyword argument 'activation'"):
        Layer(2, 2, activation="tanh")


def copy_weights(src: Any, dst: Any) -> None:
    for p, q in zip(src.parameters(), dst.parameters()):
        q.data = p.data


@given(seed=st.integers(0, 2**32 - 1),
       nin=st.integers(1, 4),
       nouts=st.lists(st.integers(2, 5), min_size=1, max_size=3),
       last=st.integers(1, 3),
       x=st.lists(st.floats(-3, 3), min_size=4, max_size=4))
def test_forward_and_gradients_match_micrograd(seed: int, nin: int, nouts: list[int],
                                               last: int, x: list[float]) -> None:
    sizes = [*nouts[:-1], last]
    ours = build("compat", "MLP", seed, nin, sizes)
    theirs = build("micrograd", "MLP", seed, nin, sizes)
    outs = []
    for name, model in (("compat", ours), ("micrograd", theirs)):
        V = ENGINES[name]
        xs = [V(v) for v in x[:nin]]
        out = model(xs)
        out_list = out if isinstance(out, list) else [out]
        assert (len(out_list) == 1) == (not isinstance(out, list))
        loss = sum((o * (k + 1) for k, o in enumerate(out_list)), V(0.0))
        model.zero_grad()
        loss.backward()
        outs.append(([o.data for o in out_list], [p.grad for p in model.parameters()],
                     [v.grad for v in xs]))
    (o1, g1, x1), (o2, g2, x2) = outs
    assert len(o1) == last and o1 == o2  # the same ops in the same order: bit for bit
    assert all(close(a, b, 1e-12) for a, b in zip(g1 + x1, g2 + x2))
    assert all(type(p) is Value for p in ours.parameters())


def test_layer_of_one_returns_a_value_and_a_width_one_hidden_layer_works() -> None:
    random.seed(5)
    layer = Layer(3, 1)
    assert type(layer([1.0, 2.0, 3.0])) is Value
    random.seed(5)
    model = MLP(2, [1, 3])  # micrograd raises TypeError here: its Layer returns a Value
    random.seed(5)
    ref = micrograd.nn.MLP(2, [1, 3])
    out = model([0.5, -1.0])
    hidden = ref.layers[0]([0.5, -1.0])
    expect = ref.layers[1]([hidden])
    assert [o.data for o in out] == [o.data for o in expect]  # type: ignore[union-attr]
    assert all(type(o) is Value for o in out)  # type: ignore[union-attr]


def test_user_module_and_zero_grad() -> None:
    class Net(Module):
        def __init__(self) -> None:
            self.l1 = Layer(2, 3)
            self.l2 = Layer(3, 1, nonlin=False)

        def __call__(self, x: Any) -> Any:
            return self.l2(self.l1(x))

        def parameters(self) -> list[Any]:
            return self.l1.parameters() + self.l2.parameters()

    random.seed(1)
    net = Net()
    net([1.0, -2.0]).backward()
    assert any(p.grad != 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad == 0 for p in net.parameters())
    assert Module().parameters() == []
    state = net.state_dict()
    assert len(state["parameters"]) == 13


def test_forward_batch_gives_values() -> None:
    random.seed(2)
    model = MLP(2, [4, 2])
    out = model.forward_batch([[1.0, 2.0], [3.0, 4.0]])
    assert all(type(v) is Value for row in out for v in row)  # type: ignore[union-attr]
    assert [v.data for v in out[1]] == [v.data for v in model([3.0, 4.0])]  # type: ignore
    # the state dict of pymicrograd.nn works, and fits a compat model of the same shape
    random.seed(3)
    other = MLP(2, [4, 2])
    other.load_state_dict(model.state_dict())
    assert [p.data for p in other.parameters()] == [p.data for p in model.parameters()]


def test_errors_and_ieee_division() -> None:
    random.seed(4)
    with pytest.raises(ValueError, match="expected 2 inputs, got 3"):
        MLP(2, [3, 1])([1.0, 2.0, 3.0])
    assert (Value(1.0) / 0).data == math.inf  # micrograd: ZeroDivisionError
    assert (Value(1.0) / -0.0).data == -math.inf
    assert math.isnan((Value(0.0) / Value(0.0)).data)


def test_no_leaks() -> None:
    gc.collect()
    before = live_nodes()
    random.seed(3)
    model = MLP(2, [4, 1])
    model.forward_batch([[1.0, 2.0]])
    model([Value(1.0), 2.0]).backward()
    readme_expression(Value)
    del model
    assert live_nodes() == before


# ---- the moons demo, run as micrograd's notebook runs it ----------------------------------

def make_moons(n_samples: int, noise: float) -> tuple[Any, Any]:
    """sklearn's make_moons under np.random.seed(1337), as numpy arrays (0/1 labels)."""
    X, y = pymicrograd.datasets.make_moons(n_samples, noise=noise, seed=1337)
    return np.array(X), (np.array(y) > 0).astype(np.int64)


def run_demo(source: str) -> tuple[str, list[tuple[float, float]], Any]:
    env: dict[str, Any] = {"make_moons": make_moons}
    out = io.StringIO()
    with redirect_stdout(out):
        exec(compile(source, "<demo>", "exec"), env)
    text = out.getvalue()
    steps_seen = [(float(m[1]), float(m[2])) for m in
                  re.finditer(r"step \d+ loss (\S+), accuracy (\S+)%", text)]
    return text, steps_seen, env["model"]


def test_moons_demo_step_for_step() -> None:
    demo = source_for("micrograd", 8)
    compat_source = source_for("pymicrograd.compat", 8)
    assert compat_source == demo.replace("from micrograd.", "from pymicrograd.compat.")
    text_c, steps_c, model_c = run_demo(compat_source)
    # micrograd's graph is full of reference cycles: with the cyclic GC on, its
    # collections (which also walk torch's heap here) make this run take 15 s, not 1 s
    gc.disable()
    try:
        text_m, steps_m, model_m = run_demo(demo)
    finally:
        gc.enable()
        gc.collect()
    assert len(steps_c) == len(steps_m) == 8
    for (loss_c, acc_c), (loss_m, acc_m) in zip(steps_c, steps_m):
        assert close(loss_c, loss_m, 1e-9) and acc_c == acc_m
    assert text_c.splitlines()[:2] == text_m.splitlines()[:2]  # the repr, the count
    assert all(close(p.data, q.data, 1e-9)
               for p, q in zip(model_c.parameters(), model_m.parameters()))
    assert type(model_c) is MLP


# ---- docs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("module", [pymicrograd.compat, cengine, cnn])
def test_module_doctests(module: Any) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
