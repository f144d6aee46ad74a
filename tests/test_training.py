"""Training end to end: the seed notebook's example and micrograd's moons demo.

The seed trains ``MLP(3, [4, 4, 1])`` on four points with the sum of squared errors;
micrograd's demo trains ``MLP(2, [16, 16, 1])`` (relu, linear output) on 100 two-moons
points with the SVM hinge loss, an L2 penalty of 1e-4 and SGD with a decaying learning
rate. Both are run the way the seed writes them (one sample per call, Python updates)
and through the batched C path (forward_batch, pymicrograd.losses, pymicrograd.optim).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from lazy_torch import close

from pymicrograd import Tensor
from pymicrograd.losses import hinge_loss, l2_penalty, sse_loss
from pymicrograd.nn import MLP
from pymicrograd.optim import SGD

# the seed notebook's data
XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
YS = [1.0, -1.0, -1.0, 1.0]

SEED_STEPS = 100
SEED_LR = 0.1


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 1337) -> tuple[Any, Any]:
    """sklearn.datasets.make_moons (shuffled) with numpy, labels -1/+1.

    With seed 1337 this is karpathy's demo data (np.random.seed(1337) before
    sklearn's make_moons), as /work/shared/bench/peers.py reimplements it.
    """
    rs = np.random.RandomState(seed)
    n_out, n_in = n // 2, n - n // 2
    ox, oy = np.cos(np.linspace(0, np.pi, n_out)), np.sin(np.linspace(0, np.pi, n_out))
    ix = 1 - np.cos(np.linspace(0, np.pi, n_in))
    iy = 1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5
    X = np.vstack([np.append(ox, ix), np.append(oy, iy)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    idx = np.arange(n)
    rs.shuffle(idx)
    X, y = X[idx], y[idx]
    X = X + rs.normal(scale=noise, size=X.shape)
    return X, (y * 2 - 1).astype(float)


# ---- the seed's example ------------------------------------------------------------------


def train_seed_style(model: MLP) -> list[float]:
    """The seed notebook's loop: one call per sample, the loss and the update in Python."""
    history = []
    for _ in range(SEED_STEPS):
        ypred = [model(x) for x in XS]
        loss = sum(((yout - ygt) ** 2 for ygt, yout in zip(YS, ypred)), Tensor(0.0))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.value -= SEED_LR * p.gradient
        history.append(loss.value)
    return history


def train_batched(model: MLP) -> list[float]:
    """The same with forward_batch, sse_loss and SGD: a handful of C calls per step."""
    opt = SGD(model.parameters(), lr=SEED_LR)
    history = []
    for _ in range(SEED_STEPS):
        loss = sse_loss(model.forward_batch(XS), YS)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.value)
    return history


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 1337])
def test_seed_example_trains(seed: int) -> None:
    seed_style = train_seed_style(MLP(3, [4, 4, 1], seed=seed))
    batched_model = MLP(3, [4, 4, 1], seed=seed)
    batched = train_batched(batched_model)
    assert batched == close(seed_style)
    final = sse_loss(batched_model.forward_batch(XS), YS).value
    assert final < 0.05, (seed, final)
    for x, y in zip(XS, YS):
        out = batched_model(x)
        assert isinstance(out, Tensor)
        assert np.sign(out.value) == y


def test_seed_example_with_the_global_random_module() -> None:
    """As in the notebook: random.seed(...) and then MLP(3, [4, 4, 1])."""
    random.seed(2024)
    model = MLP(3, [4, 4, 1])
    assert train_batched(model)[-1] < 0.05


# ---- micrograd's moons demo -----------------------------------------------------------------


def accuracy(scores: list[Tensor], y: Any) -> float:
    return float(np.mean([(s.value > 0) == (yi > 0) for s, yi in zip(scores, y)]))


def train_moons(model: MLP, X: Any, y: Any, steps: int = 100) -> list[float]:
    """micrograd's demo loop: hinge + 1e-4 L2, SGD with lr = 1.0 - 0.9 * k / 100."""
    params = model.parameters()
    opt = SGD(params, lr=1.0)
    history = []
    for k in range(steps):
        scores = model.forward_batch(X)
        loss = hinge_loss(scores, y) + l2_penalty(params, 1e-4)
        opt.zero_grad()
        loss.backward()
        opt.lr = 1.0 - 0.9 * k / 100
        opt.step()
        history.append(loss.value)
    return history


def test_moons_demo_reaches_full_accuracy(tmp_path: Any) -> None:
    X, y = make_moons()
    model = MLP(2, [16, 16, 1], activation="relu", final_activation="linear", seed=1337)
    history = train_moons(model, X, y)
    # micrograd's demo notebook prints "step 0 loss 0.8958441028683222, accuracy 50.0%"
    assert history[0] == close(0.8958441028683222)
    scores = model.forward_batch(X)
    assert isinstance(scores[0], Tensor)
    assert accuracy(scores, y) == 1.0  # type: ignore[arg-type]
    assert history[-1] < 0.05

    # save and load: a fresh model from the file makes the same predictions
    path = tmp_path / "moons.json"
    model.save(path)
    fresh = MLP(2, [16, 16, 1], activation="relu", final_activation="linear", seed=0)
    fresh.load(path)
    assert [s.value for s in fresh.forward_batch(X)] == [s.value for s in scores]
    # a model of another shape does not take the file
    with pytest.raises(ValueError, match="nouts"):
        MLP(2, [16, 1], activation="relu", final_activation="linear").load(path)
    with pytest.raises(ValueError, match="activations"):
        MLP(2, [16, 16, 1], activation="tanh").load(path)


def test_moons_matches_micrograd_step_by_step() -> None:
    """The first steps of the demo, on 20 points, against micrograd itself."""
    from micrograd.engine import Value
    from micrograd.nn import MLP as MicroMLP

    X, y = make_moons(20)
    model = MLP(2, [16, 16, 1], activation="relu", final_activation="linear", seed=1337)
    random.seed(1337)
    micro = MicroMLP(2, [16, 16, 1])
    assert [p.value for p in model.parameters()] == [p.data for p in micro.parameters()]

    ours = train_moons(model, X, y, steps=3)
    theirs = []
    for k in range(3):
        scores = [micro([Value(a) for a in row]) for row in X.tolist()]
        losses = [(1 + -yi * si).relu() for yi, si in zip(y.tolist(), scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        total = data_loss + 1e-4 * sum(p * p for p in micro.parameters())
        micro.zero_grad()
        total.backward()
        for p in micro.parameters():
            p.data -= (1.0 - 0.9 * k / 100) * p.grad
        theirs.append(total.data)
    assert ours == close(theirs)
    assert [p.value for p in model.parameters()] == close([p.data for p in micro.parameters()])


def test_moons_seed_style_loop_matches_the_batched_path() -> None:
    """The demo written one sample per call gives the same losses as forward_batch."""
    X, y = make_moons()
    rows, labels = X.tolist(), y.tolist()
    batched = train_moons(MLP(2, [16, 16, 1], "relu", "linear", seed=5), X, y, steps=5)
    model = MLP(2, [16, 16, 1], "relu", "linear", seed=5)
    params = model.parameters()
    history = []
    for k in range(5):
        scores = [model(x) for x in rows]
        data_loss = sum(((1 + -yi * si).relu() for yi, si in zip(labels, scores)),
                        Tensor(0.0)) * (1.0 / len(rows))
        loss = data_loss + 1e-4 * sum((p * p for p in params), Tensor(0.0))
        model.zero_grad()
        loss.backward()
        for p in params:
            p.value -= (1.0 - 0.9 * k / 100) * p.gradient
        history.append(loss.value)
    assert history == close(batched)
