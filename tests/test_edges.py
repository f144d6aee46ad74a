"""Deterministic edge cases: kinks, poles, overflow, subnormals, odd operand types.

Each numeric case is checked twice: against torch float64, and against the literal
IEEE answer written in the table (so that the table also documents the semantics).
Comparisons use ``assert_close(..., equal_nan=True)`` with rtol at its float64 default
and atol=0: tighter than the default, so that 1e-300 is not taken as "close to" 0.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from lazy_torch import assert_close, torch

from pymicrograd import Tensor
from pymicrograd._core import lib
from pymicrograd._nodes import make_tensor, node_array
from pymicrograd.testing.strategies import BINARY, expected_node

INF, NAN = math.inf, math.nan
TINY = 5e-324                      # smallest subnormal
MIN_NORMAL = 2.2250738585072014e-308


def torch_leaf(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64, requires_grad=True)


def as_tensor(xs) -> torch.Tensor:
    return torch.tensor([float(x) for x in xs], dtype=torch.float64)


def assert_same(actual, expected) -> None:
    """Elementwise equal up to rtol=1e-7 (float64 default), nan == nan, inf signs kept."""
    assert_close(as_tensor(actual), as_tensor(expected), equal_nan=True, rtol=1e-7, atol=0.0)


def ours(fn, args) -> list[float]:
    """[value, d/d(arg) for each arg] from pymicrograd."""
    xs = [Tensor(a) for a in args]
    out = fn(*xs)
    out.backward()
    return [out.value] + [x.gradient for x in xs]


def theirs(fn, args) -> list[float]:
    """[value, d/d(arg) for each arg] from torch float64 (an unused input has gradient 0)."""
    xs = [torch_leaf(a) for a in args]
    out = fn(*xs)
    grads = torch.autograd.grad(out, xs, allow_unused=True)
    return [out.item()] + [0.0 if g is None else g.item() for g in grads]


def logsumexp(*xs):
    """log(sum exp(x)) over Tensors (the C core's node) or torch tensors."""
    if isinstance(xs[0], Tensor):
        return make_tensor(lib.mg_logsumexp, node_array(xs), len(xs), what="logsumexp")
    return torch.logsumexp(torch.stack(xs), 0)


def case(name, fn, args, expected):
    return pytest.param(fn, args, expected, id=name)


# (name, function of the Tensor arguments, argument values, [value, gradients...])
EDGE_CASES = [
    # relu's kink: torch takes the subgradient 0 at exactly 0 (and at -0.0)
    case("relu(0)", lambda a: a.relu(), [0.0], [0.0, 0.0]),
    case("relu(-0.0)", lambda a: a.relu(), [-0.0], [0.0, 0.0]),
    case("relu(tiny)", lambda a: a.relu(), [TINY], [TINY, 1.0]),
    case("relu(-tiny)", lambda a: a.relu(), [-TINY], [0.0, 0.0]),
    case("relu(inf)", lambda a: a.relu(), [INF], [INF, 1.0]),
    # log's pole and domain
    case("log(0)", lambda a: a.log(), [0.0], [-INF, INF]),
    case("log(-1)", lambda a: a.log(), [-1.0], [NAN, -1.0]),
    case("log(subnormal)", lambda a: a.log(), [TINY], [math.log(TINY), INF]),
    case("log(inf)", lambda a: a.log(), [INF], [INF, 0.0]),
    # division by zero, Tensor / Tensor: d/da = 1/b, d/db = -(a/b)/b
    case("1/0", lambda a, b: a / b, [1.0, 0.0], [INF, INF, -INF]),
    case("-1/0", lambda a, b: a / b, [-1.0, 0.0], [-INF, INF, INF]),
    case("0/0", lambda a, b: a / b, [0.0, 0.0], [NAN, INF, NAN]),
    # division by zero with a number on either side
    case("t/0, t>0", lambda a: a / 0.0, [2.0], [INF, INF]),
    case("t/0, t<0", lambda a: a / 0.0, [-2.0], [-INF, INF]),
    case("t/0, t=0", lambda a: a / 0.0, [0.0], [NAN, INF]),
    case("t/0 (int 0)", lambda a: a / 0, [2.0], [INF, INF]),
    case("1/t, t=0", lambda a: 1.0 / a, [0.0], [INF, -INF]),
    case("-1/t, t=0", lambda a: -1.0 / a, [0.0], [-INF, INF]),
    case("0/t, t=0", lambda a: 0.0 / a, [0.0], [NAN, NAN]),
    # pow at 0: 0**0 is 1 with gradient 0 (torch's convention)
    case("0**0 (const)", lambda a: a**0, [0.0], [1.0, 0.0]),
    case("0**0.0 (const)", lambda a: a**0.0, [0.0], [1.0, 0.0]),
    case("0**0 (tensors)", lambda a, b: a**b, [0.0, 0.0], [1.0, 0.0, 0.0]),
    case("0**2 (tensors)", lambda a, b: a**b, [0.0, 2.0], [0.0, 0.0, 0.0]),
    case("0**1 (tensors)", lambda a, b: a**b, [0.0, 1.0], [0.0, 1.0, 0.0]),
    case("0**0.5 (tensors)", lambda a, b: a**b, [0.0, 0.5], [0.0, INF, 0.0]),
    case("0**-1 (tensors)", lambda a, b: a**b, [0.0, -1.0], [INF, -INF, -INF]),
    case("0**0.5 (const)", lambda a: a**0.5, [0.0], [0.0, INF]),
    case("0**-1 (const)", lambda a: a**-1, [0.0], [INF, -INF]),
    # a number base: 2**t, and 0**t (d/dt is 0 for t >= 0, torch's convention)
    case("2**t", lambda a: 2**a, [3.0], [8.0, 8.0 * math.log(2.0)]),
    case("2.0**t, t<0", lambda a: 2.0**a, [-1.0], [0.5, 0.5 * math.log(2.0)]),
    case("0**t, t=2", lambda a: 0**a, [2.0], [0.0, 0.0]),
    case("0**t, t=0", lambda a: 0.0**a, [0.0], [1.0, 0.0]),
    case("0**t, t=-1", lambda a: 0.0**a, [-1.0], [INF, -INF]),
    # negative bases: fine with an integer exponent, nan with a fractional one
    case("(-8)**(1/3) (const)", lambda a: a ** (1 / 3), [-8.0], [NAN, NAN]),
    case("(-8)**(1/3) (tensors)", lambda a, b: a**b, [-8.0, 1 / 3], [NAN, NAN, NAN]),
    case("(-8)**t, t=1/3", lambda a: (-8.0) ** a, [1 / 3], [NAN, NAN]),
    case("(-2)**3 (const)", lambda a: a**3, [-2.0], [-8.0, 12.0]),
    case("(-2)**3 (tensors)", lambda a, b: a**b, [-2.0, 3.0], [-8.0, 12.0, NAN]),
    # saturating functions: exact limits, gradient exactly 0, never nan
    case("tanh(400)", lambda a: a.tanh(), [400.0], [1.0, 0.0]),
    case("tanh(-400)", lambda a: a.tanh(), [-400.0], [-1.0, 0.0]),
    case("tanh(inf)", lambda a: a.tanh(), [INF], [1.0, 0.0]),
    case("tanh(tiny)", lambda a: a.tanh(), [TINY], [TINY, 1.0]),
    case("sigmoid(1000)", lambda a: a.sigmoid(), [1000.0], [1.0, 0.0]),
    case("sigmoid(-1000)", lambda a: a.sigmoid(), [-1000.0], [0.0, 0.0]),
    case("sigmoid(inf)", lambda a: a.sigmoid(), [INF], [1.0, 0.0]),
    case("sigmoid(-inf)", lambda a: a.sigmoid(), [-INF], [0.0, 0.0]),
    case("sigmoid(-700)", lambda a: a.sigmoid(), [-700.0], [math.exp(-700.0)] * 2),
    case("sigmoid(1e-300)", lambda a: a.sigmoid(), [1e-300], [0.5, 0.25]),
    # exp at overflow and underflow
    case("exp(709)", lambda a: a.exp(), [709.0], [math.exp(709.0), math.exp(709.0)]),
    case("exp(710)", lambda a: a.exp(), [710.0], [INF, INF]),
    case("exp(-745)", lambda a: a.exp(), [-745.0], [TINY, TINY]),
    case("exp(-746)", lambda a: a.exp(), [-746.0], [0.0, 0.0]),
    case("exp(-inf)", lambda a: a.exp(), [-INF], [0.0, 0.0]),
    # negation and a number minus a Tensor: signed zeros and infinities
    case("-(0.0)", lambda a: -a, [0.0], [-0.0, -1.0]),
    case("-(-inf)", lambda a: -a, [-INF], [INF, -1.0]),
    case("-(nan)", lambda a: -a, [NAN], [NAN, -1.0]),
    case("1 - inf", lambda a: 1.0 - a, [INF], [-INF, -1.0]),
    case("inf - t, t=inf", lambda a: INF - a, [INF], [NAN, -1.0]),
    case("0 - t, t=0", lambda a: 0.0 - a, [0.0], [0.0, -1.0]),
    # nan in, nan out (torch's relu passes the gradient through a nan: nan <= 0 is false)
    case("exp(nan)", lambda a: a.exp(), [NAN], [NAN, NAN]),
    case("tanh(nan)", lambda a: a.tanh(), [NAN], [NAN, NAN]),
    case("sigmoid(nan)", lambda a: a.sigmoid(), [NAN], [NAN, NAN]),
    case("log(nan)", lambda a: a.log(), [NAN], [NAN, NAN]),
    case("relu(nan)", lambda a: a.relu(), [NAN], [NAN, 1.0]),
    case("nan*2", lambda a: a * 2.0, [NAN], [NAN, 2.0]),
    # huge and tiny magnitudes
    case("1e300*1e300", lambda a, b: a * b, [1e300, 1e300], [INF, 1e300, 1e300]),
    case("1e-300*1e-300", lambda a, b: a * b, [1e-300, 1e-300], [0.0, 1e-300, 1e-300]),
    case("1e308+1e308", lambda a, b: a + b, [1e308, 1e308], [INF, 1.0, 1.0]),
    case("1e300-(-1e300)", lambda a, b: a - b, [1e300, -1e300], [2e300, 1.0, -1.0]),
    case("1e-300/1e300", lambda a, b: a / b, [1e-300, 1e300], [0.0, 1e-300, -0.0]),
    case("1e300**2", lambda a: a**2, [1e300], [INF, 2e300]),
    case("1e-300**2", lambda a: a**2, [1e-300], [0.0, 2e-300]),
    case("1e300*1e-300", lambda a, b: a * b, [1e300, 1e-300], [1e300 * 1e-300, 1e-300, 1e300]),
    case("-1e300*3", lambda a: a * 3, [-1e300], [-3e300, 3.0]),
    # subnormals
    case("tiny*0.5", lambda a: a * 0.5, [TINY], [0.0, 0.5]),
    case("tiny+tiny", lambda a, b: a + b, [TINY, TINY], [2 * TINY, 1.0, 1.0]),
    case("min_normal/2", lambda a: a / 2, [MIN_NORMAL], [MIN_NORMAL / 2, 0.5]),
    case("tiny*1e300", lambda a, b: a * b, [TINY, 1e300], [TINY * 1e300, 1e300, TINY]),
    case("1/tiny", lambda a: 1.0 / a, [TINY], [INF, -INF]),
    case("tiny-tiny", lambda a, b: a - b, [TINY, TINY], [0.0, 1.0, -1.0]),
    # one node on both sides at the edges
    case("x/x at 0", lambda a: a / a, [0.0], [NAN, NAN]),
    case("x-x at inf", lambda a: a - a, [INF], [NAN, 0.0]),
    case("x*x at 1e200", lambda a: a * a, [1e200], [INF, 2e200]),
    # logsumexp: shifted by its largest operand, never overflowing; an infinite largest
    # operand is not subtracted, and the gradient exp(x_i - out) is nan where x_i = out
    # is infinite (a huge tie rounds log 2 away: softmax [1, 1], as torch's)
    case("logsumexp(1e308, 1e308)", logsumexp, [1e308, 1e308], [1e308, 1.0, 1.0]),
    case("logsumexp(1e16, 1e16)", logsumexp, [1e16, 1e16], [1e16, 1.0, 1.0]),
    case("logsumexp(-1000, 0)", logsumexp, [-1000.0, 0.0], [0.0, 0.0, 1.0]),
    case("logsumexp(inf, 0)", logsumexp, [INF, 0.0], [INF, NAN, 0.0]),
    case("logsumexp(-inf, -inf)", logsumexp, [-INF, -INF], [-INF, NAN, NAN]),
    case("logsumexp(-inf, 0)", logsumexp, [-INF, 0.0], [0.0, 0.0, 1.0]),
    case("logsumexp(nan, 0)", logsumexp, [NAN, 0.0], [NAN, NAN, NAN]),
]


@pytest.mark.needs_torch
@pytest.mark.parametrize(("fn", "args", "expected"), EDGE_CASES)
def test_edge_case_matches_torch_and_ieee(fn, args, expected):
    """Value and gradients at the edge: the same as torch, and the IEEE literal."""
    got = ours(fn, args)
    assert_same(got, theirs(fn, args))
    assert_same(got, expected)


# A neuron node, act(b + w x), at the edges of its activation:
# (name, activation, x, w, b, [value, d/dx, d/dw, d/db])
NEURON_EDGE_CASES = [
    ("tanh neuron, z = 400", "tanh", 2.0, 200.0, 0.0, [1.0, 0.0, 0.0, 0.0]),
    ("tanh neuron, z = -inf", "tanh", 1.0, -INF, 0.0, [-1.0, NAN, 0.0, 0.0]),  # 0 * -inf
    ("relu neuron, z = 0", "relu", 2.0, 0.5, -1.0, [0.0, 0.0, 0.0, 0.0]),
    ("relu neuron, z = nan", "relu", NAN, 1.0, 0.0, [NAN, 1.0, NAN, 1.0]),
    ("sigmoid neuron, z = 1000", "sigmoid", 1.0, 1000.0, 0.0, [1.0, 0.0, 0.0, 0.0]),
    ("sigmoid neuron, z = -1000", "sigmoid", 1.0, -1000.0, 0.0, [0.0, 0.0, 0.0, 0.0]),
    ("linear neuron, overflow", "linear", 1e308, 10.0, 0.0, [INF, 10.0, 1e308, 1.0]),
    ("linear neuron, inf - inf", "linear", INF, 1.0, -INF, [NAN, 1.0, INF, 1.0]),
]


def neuron_node(activation: str, x: float, w: float, b: float):
    """(out, x, neuron): one neuron node over the leaf x, with weight w and bias b."""
    from pymicrograd.nn import Neuron

    neuron = Neuron(1, activation)
    neuron.w[0].value, neuron.b.value = w, b
    xt = Tensor(x)
    return neuron([xt]), xt, neuron


@pytest.mark.needs_torch
@pytest.mark.parametrize(("activation", "x", "w", "b", "expected"),
                         [pytest.param(*row[1:], id=row[0]) for row in NEURON_EDGE_CASES])
def test_neuron_edge_case_matches_torch_and_ieee(activation, x, w, b, expected):
    """A neuron node's value and gradients at the edge: torch's, and the IEEE literal."""
    out, xt, neuron = neuron_node(activation, x, w, b)
    out.backward()
    got = [out.value, xt.gradient, neuron.w[0].gradient, neuron.b.gradient]
    act = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
           "linear": lambda z: z}[activation]
    leaves = [torch_leaf(v) for v in (x, w, b)]
    t_out = act(leaves[2] + leaves[1] * leaves[0])
    grads = torch.autograd.grad(t_out, leaves)
    assert_same(got, [t_out.item()] + [g.item() for g in grads])
    assert_same(got, expected)


def test_tanh_saturates_exactly():
    """tanh(+-400) is exactly +-1.0 and its gradient exactly 0.0 (the seed gave nan)."""
    for x, y in ((400.0, 1.0), (-400.0, -1.0)):
        t = Tensor(x)
        out = t.tanh()
        out.backward()
        assert out.value == y
        assert t.gradient == 0.0


def test_sigmoid_of_huge_inputs_is_finite_without_nan():
    """sigmoid(+-1000) is 1.0 / 0.0 exactly, gradient 0.0, no overflow to nan."""
    for x, y in ((1000.0, 1.0), (-1000.0, 0.0)):
        t = Tensor(x)
        out = t.sigmoid()
        out.backward()
        assert math.isfinite(out.value) and math.isfinite(t.gradient)
        assert (out.value, t.gradient) == (y, 0.0)


def test_relu_at_zero_has_gradient_zero():
    """relu at exactly 0: value 0, gradient 0 (torch's subgradient), even downstream."""
    t = Tensor(0.0)
    out = t.relu() * 3.0
    out.backward()
    assert (out.value, t.gradient) == (0.0, 0.0)


@pytest.mark.needs_torch
@pytest.mark.parametrize("neuron", [0, 1])
def test_dead_relu_with_an_infinite_weight_gives_nan_input_gradients_in_a_batch_too(neuron):
    """0 * inf is nan: a dead relu neuron (dz = 0) with an infinite weight makes its
    input's gradient nan, in forward_batch as on Tensor inputs and in torch. (The
    batch skips dz == 0 only when every weight of the layer and every input is finite.)
    """
    from pymicrograd.interop import to_torch
    from pymicrograd.nn import MLP

    model = MLP(2, [2, 1], activation="relu", final_activation="linear", seed=0)
    model.parameters()[3 * neuron].value = INF   # weight 0 of that first-layer neuron
    row = [-1.0, 0.5]                             # -inf * ... : both neurons are dead
    xs = [Tensor(v) for v in row]
    model(xs).backward()                          # type: ignore[union-attr]
    out = model.forward_batch([row])[0]
    out.backward()                                # type: ignore[union-attr]
    hidden = out.children[2:4]                    # type: ignore[union-attr]
    batch_inputs = hidden[0].children[2:4]
    x = torch.tensor([row], dtype=torch.float64, requires_grad=True)
    to_torch(model)(x).sum().backward()
    expected = torch.tensor([NAN, 0.0], dtype=torch.float64)
    assert_close(x.grad[0], expected, equal_nan=True)
    assert_close(as_tensor([t.gradient for t in xs]), expected, equal_nan=True)
    assert_close(as_tensor([t.gradient for t in batch_inputs]), expected, equal_nan=True)


# ---- int and numpy operands --------------------------------------------------------

# (op, left, right) with ints; division and pow by values where the result is exact
INT_CASES = [("add", 3, 4), ("sub", 3, 4), ("mul", 3, -4), ("div", 3, 4), ("pow", 2, 3),
             ("add", 0.5, 2**53 + 1), ("sub", 2**53 + 1, 0.5), ("mul", 7, 0),
             ("pow", 3, 0), ("div", -5, 2)]


@pytest.mark.needs_torch
@pytest.mark.parametrize("form", ["tt", "tn", "nt"])
@pytest.mark.parametrize(("op", "a", "b"), INT_CASES)
def test_int_operands_act_as_their_float_value(op, a, b, form):
    """An int operand (Tensor(int) or a plain int) gives what float(int) gives, and torch."""
    fn = BINARY[op]
    fa, fb = float(a), float(b)
    if form == "tt":
        x, y = Tensor(a), Tensor(b)
        out = fn(x, y)
        out.backward()
        got = [out.value, x.gradient, y.gradient]
        want = ours(fn, [fa, fb])
        torch_got = theirs(fn, [fa, fb])
    elif form == "tn":
        x = Tensor(fa)
        out = fn(x, b)
        out.backward()
        got = [out.value, x.gradient]
        want = ours(lambda t: fn(t, fb), [fa])
        torch_got = theirs(lambda t: fn(t, b), [fa])
        assert (out.op, out.constant) == expected_node("tn", op, fb)
    else:
        y = Tensor(fb)
        out = fn(a, y)
        out.backward()
        got = [out.value, y.gradient]
        want = ours(lambda t: fn(fa, t), [fb])
        torch_got = theirs(lambda t: fn(a, t), [fb])
        assert (out.op, out.constant) == expected_node("nt", op, fa)
    assert got == want  # same engine code for int and float operands: bit for bit
    assert_same(got, torch_got)


NUMPY_SCALARS = [np.float64(0.75), np.float32(0.1), np.int64(3), np.float64(-2.5),
                 np.int64(-2)]


@pytest.mark.needs_torch
@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("scalar", NUMPY_SCALARS, ids=repr)
def test_numpy_scalar_operand_is_a_number_on_either_side(scalar, op, side):
    """A numpy scalar is folded like a Python number: a Tensor comes back (not a numpy
    object), with a *_const node holding float(scalar), matching torch."""
    fn = BINARY[op]
    c = float(scalar)
    a = 1.5  # a positive Tensor value keeps c ** a and a ** c real
    x = Tensor(a)
    out = fn(x, scalar) if side == "right" else fn(scalar, x)
    assert type(out) is Tensor
    out.backward()
    form = "tn" if side == "right" else "nt"
    assert (out.op, out.constant) == expected_node(form, op, c)
    if side == "right":
        want = theirs(lambda t: fn(t, c), [a])
    else:
        want = theirs(lambda t: fn(c, t), [a])
    assert_same([out.value, x.gradient], want)


@pytest.mark.parametrize("scalar", NUMPY_SCALARS, ids=repr)
def test_numpy_scalar_makes_a_float_leaf(scalar):
    """Tensor(numpy scalar) holds float(scalar) exactly."""
    t = Tensor(scalar)
    assert type(t.value) is float
    assert t.value == float(scalar)


# ---- bad operands --------------------------------------------------------------------

BAD_OPERANDS = ["x", None, [1.0], 1 + 2j, np.complex128(1 + 2j), (1.0,)]


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("bad", BAD_OPERANDS, ids=repr)
def test_bad_operand_raises_type_error_on_either_side(bad, op):
    """A str, None, list, tuple or complex operand is a TypeError, left or right."""
    fn = BINARY[op]
    t = Tensor(2.0)
    with pytest.raises(TypeError):
        fn(t, bad)
    with pytest.raises(TypeError):
        fn(bad, t)


@pytest.mark.parametrize("bad", BAD_OPERANDS, ids=repr)
def test_bad_value_for_tensor_raises_type_error_naming_the_type(bad):
    """Tensor(bad) is a TypeError whose message names the offending type."""
    with pytest.raises(TypeError, match=type(bad).__name__):
        Tensor(bad)


def test_tensor_of_str_names_str():
    """The message for Tensor("x") says it got a str."""
    with pytest.raises(TypeError, match=r"\bstr\b"):
        Tensor("x")
