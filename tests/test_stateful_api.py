"""The Python API driven at random, as a careless user would, checked after every step.

A hypothesis state machine makes leaves, builds ops, copies, deep-copies and pickles,
drops Tensors, calls backward, zeroes gradients, edits a model's layers, steps an
optimizer, copies the model and raises in the middle of building a graph. A plain-
Python mirror of every node (`Ref`) says what each value and gradient must be, and
after every step:

- every Tensor still held has its mirror's value and gradient;
- the C core's live node count equals the number of distinct nodes reachable from
  what the test holds: nothing leaked, nothing the test holds was freed.
"""

from __future__ import annotations

import copy
import gc
import math
import pickle

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pymicrograd import Tensor, live_nodes, losses, nn, optim
from pymicrograd._core import lib, node_address


class Ref:
    """A node of the mirror: its value, gradient, op and operands, in plain floats."""

    def __init__(self, value, op="leaf", children=(), local=()):
        self.value, self.grad, self.op = value, 0.0, op
        self.children, self.local = children, local   # local[i]: d(self)/d(children[i])


def ref_backward(root):
    """Add d(root)/d(node) to every reachable mirror node, without recursion."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in node.children)
    adjoint = {id(root): 1.0}
    for node in reversed(order):
        g = adjoint.get(id(node), 0.0)
        node.grad += g
        for child, d in zip(node.children, node.local):
            adjoint[id(child)] = adjoint.get(id(child), 0.0) + g * d


def reachable_nodes(roots):
    """The addresses of the distinct C nodes reachable from `roots`, through mg_child."""
    seen, stack = set(), list(roots)
    while stack:
        node = stack.pop()
        if node_address(node) in seen:
            continue
        seen.add(node_address(node))
        stack.extend(lib.mg_child(node, i) for i in range(lib.mg_child_count(node)))
    return seen


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


values = st.floats(-1.5, 1.5, allow_nan=False)


class ApiMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        gc.collect()
        self.baseline = live_nodes()
        self.held: list[tuple[Tensor, Ref]] = []
        self.model = nn.MLP(2, [3, 1], seed=0)
        self.models = [self.model]
        self.optimizers: list[optim.Optimizer] = []

    # ---- scalars -----------------------------------------------------------------------

    @rule(v=values)
    def make_leaf(self, v):
        self.held.append((Tensor(v), Ref(v)))

    @precondition(lambda self: self.held)
    @rule(i=st.integers(0), j=st.integers(0), op=st.sampled_from(["+", "-", "*"]))
    def binary(self, i, j, op):
        (a, ra), (b, rb) = self.held[i % len(self.held)], self.held[j % len(self.held)]
        if op == "+":
            t, ref = a + b, Ref(ra.value + rb.value, op, (ra, rb), (1.0, 1.0))
        elif op == "-":
            t, ref = a - b, Ref(ra.value - rb.value, op, (ra, rb), (1.0, -1.0))
        else:
            t, ref = a * b, Ref(ra.value * rb.value, op, (ra, rb), (rb.value, ra.value))
        self.held.append((t, ref))

    @precondition(lambda self: self.held)
    @rule(i=st.integers(0), c=values)
    def tanh_of_scaled(self, i, c):
        a, ra = self.held[i % len(self.held)]
        scaled = Ref(ra.value * c, "*c", (ra,), (c,))
        y = math.tanh(scaled.value)
        self.held.append(((a * c).tanh(), Ref(y, "tanh", (scaled,), (1.0 - y * y,))))

    @precondition(lambda self: self.held)
    @rule(i=st.integers(0))
    def shallow_copy(self, i):
        t, ref = self.held[i % len(self.held)]
        self.held.append((copy.copy(t), ref))   # the same node: the same mirror

    @precondition(lambda self: self.held)
    @rule(i=st.integers(0), how=st.sampled_from(["deepcopy", "pickle"]))
    def copy_a_leaf(self, i, how):
        t, ref = self.held[i % len(self.held)]
        if ref.op != "leaf":
            try:
                copy.deepcopy(t) if how == "deepcopy" else pickle.dumps(t)
            except RuntimeError:
                return
            raise AssertionError("a computed Tensor was copied")
        c = copy.deepcopy(t) if how == "deepcopy" else pickle.loads(pickle.dumps(t))
        mirror = Ref(ref.value)
        mirror.grad = ref.grad
        self.held.append((c, mirror))

    @precondition(lambda self: self.held)
    @rule(i=st.integers(0))
    def drop(self, i):
        del self.held[i % len(self.held)]

    @precondition(lambda self: self.held)
    @rule(i=st.integers(0))
    def backward(self, i):
        t, ref = self.held[i % len(self.held)]
        t.backward()
        ref_backward(ref)

    @precondition(lambda self: self.held)
    @rule()
    def zero_gradients(self):
        for t, ref in self.held:
            t.gradient = 0.0
            ref.grad = 0.0

    @precondition(lambda self: self.held)
    @rule(i=st.integers(0), n=st.integers(1, 5))
    def raise_in_the_middle(self, i, n):
        """A user's function that builds part of a graph, then fails."""
        t, _ = self.held[i % len(self.held)]

        def build():
            x = t
            for _ in range(n):
                x = (x * 0.5 + 1.0).tanh()
            raise KeyError("the user's own bug")

        try:
            build()
        except KeyError:
            pass

    # ---- a model and its optimizers --------------------------------------------------------

    @rule(x=st.tuples(values, values))
    def forward_matches_plain_python(self, x):
        m = self.model
        h = list(x)
        for layer in m.layers:
            h = [math.tanh(n.b.value + sum(w.value * v for w, v in zip(n.w, h)))
                 for n in layer.neurons]
        assert close(m(list(x)).value, h[0])

    @rule(which=st.integers(0, 1), seed=st.integers(0, 10))
    def replace_a_layer(self, which, seed):
        shape = [(2, 3), (3, 1)][which]
        layers = list(self.model.layers)
        layers[which] = nn.Layer(*shape, seed=seed)
        self.model.layers = layers

    @rule()
    def editing_layers_in_place_is_refused(self):
        try:
            self.model.layers[0] = nn.Layer(2, 3)
        except TypeError:
            return
        raise AssertionError("MLP.layers changed in place")

    @rule()
    def make_optimizer(self):
        self.optimizers = [optim.SGD(self.model.parameters(), lr=0.1)]

    @precondition(lambda self: self.optimizers)
    @rule(alpha=st.floats(0.1, 1.0))
    def step_on_l2_penalty(self, alpha):
        """The penalty sees exactly the model's current parameters (also after its layers
        were replaced), and the optimizer updates exactly its own."""
        opt = self.optimizers[0]
        params = self.model.parameters()
        penalty = losses.l2_penalty(self.model, alpha)
        assert close(penalty.value, alpha * sum(p.value ** 2 for p in params))
        opt.zero_grad()
        self.model.zero_grad()
        penalty.backward()
        before = [p.value for p in params]
        opt.step()
        for p, v in zip(params, before):
            assert close(p.gradient, 2 * alpha * v)
            assert close(p.value, v - 0.1 * 2 * alpha * v if p in opt.params else v)

    @rule()
    def deepcopy_the_model(self):
        m = copy.deepcopy(self.model)
        assert [p.value for p in m.parameters()] == [p.value for p in self.model.parameters()]
        self.models.append(m)
        if len(self.models) > 3:
            del self.models[1]

    @rule()
    def drop_optimizers(self):
        self.optimizers = []

    # ---- checked after every step --------------------------------------------------------------

    @invariant()
    def values_and_gradients_match_the_mirror(self):
        for t, ref in self.held:
            assert close(t.value, ref.value), (t, ref.value)
            assert close(t.gradient, ref.grad), (t, ref.grad)

    @invariant()
    def live_nodes_are_exactly_what_is_held(self):
        roots = [t._node for t, _ in self.held]
        roots += [p._node for m in self.models for p in m.parameters()]
        roots += [p._node for o in self.optimizers for p in o.params]
        assert live_nodes() - self.baseline == len(reachable_nodes(roots))


TestApiMachine = ApiMachine.TestCase
