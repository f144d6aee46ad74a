"""Plain Python cannot corrupt the core: issue 9's reproducers, one test each.

Every object that holds a C pointer owns a reference to what it points at, and every
C array that mirrors a Python container changes with it. Each test here failed (a
wrong value, a use-after-free, a leak or a silent no-op) before that was so.
"""

from __future__ import annotations

import copy
import gc
import pickle

import pytest

from pymicrograd import Tensor, live_nodes, losses, nn, optim
from pymicrograd.compat.engine import Value
from pymicrograd.compat.nn import MLP as CompatMLP

# ---- Tensor: copy, deepcopy, pickle, __init__ ---------------------------------------------


def test_copy_of_a_tensor_is_the_same_node_and_outlives_the_original():
    t = Tensor(2.0)
    u = copy.copy(t)
    assert u is not t and u == t   # another object for the same node
    del t
    gc.collect()
    x = Tensor(5.0)   # would reuse the freed node if u did not hold it
    assert u.value == 2.0 and x.value == 5.0


def test_deepcopy_of_a_leaf_is_an_independent_leaf_with_value_and_gradient():
    t = Tensor(3.0)
    (t * t).backward()
    d = copy.deepcopy(t)
    assert d != t and (d.value, d.gradient) == (3.0, 6.0)
    d.value = 1.0
    assert t.value == 3.0


@pytest.mark.parametrize("action", [copy.deepcopy, pickle.dumps])
def test_a_computed_tensor_cannot_be_deep_copied_or_pickled(action):
    with pytest.raises(RuntimeError, match="computed by 'mul'"):
        action(Tensor(2.0) * Tensor(3.0))


def test_pickle_round_trip_of_a_leaf_keeps_class_value_and_gradient():
    for cls in (Tensor, Value):
        t = cls(-1.5)
        t.gradient = 0.25
        back = pickle.loads(pickle.dumps(t))
        assert type(back) is cls and (back.value, back.gradient) == (-1.5, 0.25)


def test_rejected_constructor_calls_print_nothing_and_leak_nothing(capfd):
    gc.collect()
    before = live_nodes()
    for args, kwargs in [((), {}), ((2.0,), {"nonsense": 1}), (("2",), {})]:
        with pytest.raises(TypeError):
            Tensor(*args, **kwargs)
    gc.collect()
    assert capfd.readouterr().err == ""
    assert live_nodes() == before


def test_init_twice_is_an_error_and_keeps_the_node():
    t = Tensor(1.0)
    key = hash(t)
    with pytest.raises(RuntimeError, match="already initialized"):
        t.__init__(2.0)
    assert t.value == 1.0 and hash(t) == key


def test_a_tensor_whose_init_never_ran_is_a_clear_error_everywhere_and_leaks_nothing():
    """Tensor.__new__ alone gives an object without a node (TensorBase's NULL): every
    use is a RuntimeError, never a NULL dereference in C, and dropping it is safe."""
    gc.collect()
    base = live_nodes()
    t = Tensor.__new__(Tensor)
    for use in _every_use(t):
        with pytest.raises(RuntimeError, match="never initialized"):
            use()
    t.__init__(4.0)   # __init__ can still make it a leaf, once
    assert t.value == 4.0 and live_nodes() == base + 1
    del t, use   # the last lambda holds t too
    gc.collect()
    assert live_nodes() == base


def _every_use(t):
    return [lambda: t.value, lambda: t.gradient, lambda: t + 1.0, lambda: 1.0 - t,
            lambda: t * Tensor(2.0), lambda: -t, lambda: +t, lambda: t.tanh(), lambda: hash(t)]


def test_a_tensor_cannot_be_pointed_at_a_second_node():
    t, u = Tensor(1.0), Tensor(2.0)
    with pytest.raises(RuntimeError, match="already initialized"):
        t._node = u._node
    assert t.value == 1.0 and t != u


def test_results_are_of_the_more_derived_class_from_either_side():
    class Mine(Tensor):
        __slots__ = ()

    t, m = Tensor(2.0), Mine(3.0)
    for out in (t + m, m + t, t * m, m - t, t / m, t ** m, 2.0 - m, m ** 2.0, -m, m.exp()):
        assert type(out) is Mine
    assert type(t + 1) is Tensor and type(1 / t) is Tensor


def test_pow_with_a_modulus_is_a_type_error():
    with pytest.raises(TypeError):
        pow(Tensor(2.0), 3.0, 5)


# ---- models: their C arrays follow their Python structure --------------------------------


def test_editing_layers_in_place_is_a_clear_error_and_the_model_still_works():
    m = nn.MLP(2, [3, 4, 1], seed=0)
    before = m([1.0, 2.0]).value
    with pytest.raises(TypeError, match="assign a whole new list"):
        m.layers[1] = nn.Layer(3, 4)
    with pytest.raises(TypeError):
        del m.layers[0]
    gc.collect()
    assert m([1.0, 2.0]).value == before


def test_assigning_new_layers_is_checked_and_used_by_forward_and_l2_penalty():
    m = nn.MLP(2, [3, 1], seed=0)
    losses.l2_penalty(m, 1.0)   # caches the parameter array
    new = [nn.Layer(2, 3, seed=1), nn.Layer(3, 1, seed=2)]
    m.layers = new
    del new
    gc.collect()
    expected = sum(p.value ** 2 for p in m.parameters())
    assert losses.l2_penalty(m, 1.0).value == pytest.approx(expected, rel=1e-15)
    x = [0.5, -1.0]
    h = m.layers[0](x)
    assert m(x).value == m.layers[1](h).value
    with pytest.raises(ValueError, match="takes 3 inputs but layers"):
        m.layers = [nn.Layer(2, 4), nn.Layer(3, 1)]
    with pytest.raises(TypeError, match="must be a Layer"):
        m.layers = [nn.Layer(2, 3), "layer"]
    assert m(x).value == m.layers[1](m.layers[0](x)).value   # a refused assignment changes nothing


def test_shape_attributes_and_parameters_are_read_only():
    m = nn.MLP(2, [3, 1])
    layer = m.layers[0]
    neuron = layer.neurons[0]
    for obj, name in [(layer, "nin"), (layer, "nout"), (layer, "activation"),
                      (neuron, "nin"), (neuron, "w"), (neuron, "b"), (m, "nin")]:
        with pytest.raises(AttributeError):
            setattr(obj, name, 5)
    with pytest.raises(TypeError, match="set a value instead"):
        neuron.w[0] = Tensor(1.0)
    assert neuron.w == list(neuron.w) and repr(neuron.w).startswith("[")


@pytest.mark.parametrize("inputs", [{0: 1.0, 1: 2.0}, {1.0, 2.0}, frozenset({1.0, 2.0})])
def test_models_and_losses_refuse_dicts_and_sets(inputs):
    m = nn.MLP(2, [1])
    with pytest.raises(TypeError, match="in order"):
        m(inputs)
    with pytest.raises(TypeError):
        m.forward_batch(inputs)
    with pytest.raises(TypeError, match="in order"):
        losses.mse_loss([Tensor(1.0), Tensor(2.0)], inputs)


@pytest.mark.parametrize("make", [lambda: nn.Neuron(3, seed=1), lambda: nn.Layer(3, 2, seed=1),
                                  lambda: nn.MLP(3, [4, 2], seed=1), lambda: CompatMLP(3, [4, 2])])
@pytest.mark.parametrize("clone", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))])
def test_copied_models_are_independent_and_equal(make, clone):
    m = make()
    x = [0.5, -1.0, 2.0]
    out = m(x)
    for o in out if isinstance(out, list) else [out]:
        o.backward()
    c = clone(m)
    assert type(c) is type(m) and repr(c) == repr(m)
    assert [p.value for p in c.parameters()] == [p.value for p in m.parameters()]
    assert [p.gradient for p in c.parameters()] == [p.gradient for p in m.parameters()]
    assert not {id(p) for p in c.parameters()} & {id(p) for p in m.parameters()}
    assert type(c.parameters()[0]) is type(m.parameters()[0])
    for p in c.parameters():
        p.value += 1.0
    assert [p.value + 1.0 for p in m.parameters()] == [p.value for p in c.parameters()]
    cout = c(x)
    assert (cout[0] if isinstance(cout, list) else cout).value is not None


@pytest.mark.parametrize("make_opt", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.Adam(ps, lr=0.05),
    lambda ps: optim.AdamW(ps, lr=0.05, weight_decay=0.1),
])
@pytest.mark.parametrize("clone", [copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))])
def test_a_model_and_optimizer_copied_together_train_on_exactly_as_the_original(make_opt, clone):
    """The copy shares its parameters with the copied optimizer, whose state (momentum,
    moments, step count) continues: both trajectories stay equal, bit for bit."""
    m = nn.MLP(2, [4, 1], seed=3)
    opt = make_opt(m.parameters())

    def train(model, o, steps):
        for _ in range(steps):
            loss = losses.mse_loss(model.forward_batch([[1.0, 2.0], [-1.0, 0.5]]), [1.0, -1.0])
            o.zero_grad()
            loss.backward()
            o.step()

    train(m, opt, 3)
    m2, opt2 = clone((m, opt))
    assert all(p is q for p, q in zip(opt2.params, m2.parameters()))
    train(m, opt, 4)
    train(m2, opt2, 4)
    assert [p.value for p in m2.parameters()] == [p.value for p in m.parameters()]


def test_optimizers_reject_computed_and_repeated_parameters():
    a = Tensor(1.0)
    with pytest.raises(ValueError, match="not a leaf"):
        optim.SGD([a, a * 2.0], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.Adam([a, copy.copy(a)])
    opt = optim.SGD([a], lr=0.1, momentum=0.5)
    with pytest.raises(AttributeError):
        opt.momentum = 0.0   # the C optimizer was made with 0.5


# ---- limits are checked before anything is allocated --------------------------------------


def test_a_neuron_over_more_inputs_than_a_node_can_hold_is_a_value_error():
    with pytest.raises(ValueError, match="MG_MAX_CHILDREN"):
        nn.Layer(2 ** 24, 1)


def test_a_network_beyond_the_layer_limit_or_memory_fails_at_once():
    gc.collect()
    before = live_nodes()
    with pytest.raises(ValueError, match="10000100000 parameters, above the limit of "
                                         "4294967295"):
        nn.MLP(100_000, [100_000])
    with pytest.raises(MemoryError, match="parameters need about"):
        nn.MLP(60_000, [60_000])   # under the limit, but some 700 GB
    assert live_nodes() == before


def test_a_loss_over_more_terms_than_a_node_can_hold_is_a_value_error():
    """Every loss checks its term count with this one helper before calling C (2**24
    real Tensors would take gigabytes, so the helper is called with the count)."""
    losses._check_count("sse_loss", 2 ** 24 - 1, "terms")
    with pytest.raises(ValueError, match=r"sse_loss: 16777216 terms, above the limit of "
                                         r"16777215 \(MG_MAX_CHILDREN"):
        losses._check_count("sse_loss", 2 ** 24, "terms")
