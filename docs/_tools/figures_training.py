"""The pictures of tutorial chapters 6 to 9: networks, training, optimizers, gradchecks.

Each function trains or builds exactly what its chapter's code blocks do (same data,
same seeds, same hyperparameters), so the picture shows the numbers the page prints.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from figures import figure, save_graph, save_svg

# ---- shared helpers ----------------------------------------------------------------


def _named_dot(root: Any, names: dict[Any, str]) -> str:
    """viz.to_dot(root) with each box's name written above its value."""
    from pymicrograd.viz import to_dot, walk

    dot = to_dot(root)
    for i, t in enumerate(walk(root)):  # to_dot numbers the nodes in walk order
        name = names.get(t)
        if name:
            dot = re.sub(rf'(\n  n{i} \[shape=record, label="{{ )',
                         lambda m, name=name: m.group(1) + f"{name} | ", dot)
    return dot


def _seed_neuron_tensors() -> tuple[list[Any], list[Any], Any]:
    """The seed's neuron inputs and parameters (karpathy's b = 6.88...)."""
    from pymicrograd import Tensor

    xs = [Tensor(2.0), Tensor(0.0)]
    ws = [Tensor(-3.0), Tensor(1.0)]
    return xs, ws, Tensor(6.8813735870195432)


def _grid(X: list[list[float]], n: int) -> tuple[list[float], list[float]]:
    lo = [min(r[i] for r in X) for i in (0, 1)]
    hi = [max(r[i] for r in X) for i in (0, 1)]
    pad = [0.2 * (hi[i] - lo[i]) for i in (0, 1)]
    return tuple(  # type: ignore[return-value]
        [lo[i] - pad[i] + (hi[i] - lo[i] + 2 * pad[i]) * j / (n - 1) for j in range(n)]
        for i in (0, 1))


def _regions(path: Path, X: list[list[float]], labels: list[int], n_classes: int,
             predict: Callable[[list[list[float]]], list[int]], title: str) -> None:
    """Class regions of `predict` on a grid, with the data points on top."""
    import matplotlib.pyplot as plt

    gx, gy = _grid(X, 150)
    zs = predict([[x, y] for y in gy for x in gx])
    Z = [zs[i * len(gx):(i + 1) * len(gx)] for i in range(len(gy))]
    cmap = plt.get_cmap("Spectral", n_classes)
    fig, ax = plt.subplots(figsize=(5.5, 4.6))
    ax.contourf(gx, gy, Z, levels=[c - 0.5 for c in range(n_classes + 1)], cmap=cmap,
                alpha=0.75)
    ax.scatter([r[0] for r in X], [r[1] for r in X], c=labels, cmap=cmap, s=22,
               vmin=-0.5, vmax=n_classes - 0.5, edgecolors="k", linewidths=0.5)
    ax.set_xlim(gx[0], gx[-1])
    ax.set_ylim(gy[0], gy[-1])
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)
    save_svg(fig, path)


# ---- chapter 6: neurons, layers, MLPs ----------------------------------------------


@figure("neuron-op-by-op-graph.svg")
def neuron_op_by_op_graph(path: Path) -> None:
    """o = tanh(x1*w1 + x2*w2 + b) built from Tensor ops: every op a node."""
    (x1, x2), (w1, w2), b = _seed_neuron_tensors()
    x1w1, x2w2 = x1 * w1, x2 * w2
    s = x1w1 + x2w2
    n = s + b
    o = n.tanh()
    o.backward()
    names = {x1: "x1", x2: "x2", w1: "w1", w2: "w2", b: "b", x1w1: "x1*w1",
             x2w2: "x2*w2", s: "x1*w1 + x2*w2", n: "n", o: "o"}
    save_graph(_named_dot(o, names), path)


@figure("neuron-node-graph.svg")
def neuron_node_graph(path: Path) -> None:
    """The same neuron as nn.Neuron: one node whose children are w, x and b."""
    from pymicrograd import nn

    (x1, x2), _, _ = _seed_neuron_tensors()
    neuron = nn.Neuron(2)
    neuron.w[0].value, neuron.w[1].value = -3.0, 1.0
    neuron.b.value = 6.8813735870195432
    o = neuron([x1, x2])
    o.backward()
    names = {x1: "x1", x2: "x2", neuron.w[0]: "w1", neuron.w[1]: "w2", neuron.b: "b",
             o: "o"}
    save_graph(_named_dot(o, names), path)


@figure("mlp-3-4-4-1.svg")
def mlp_structure(path: Path) -> None:
    """MLP(3, [4, 4, 1]): every input, neuron and weight of the seed's network."""
    import matplotlib.pyplot as plt

    sizes = [3, 4, 4, 1]
    fig, ax = plt.subplots(figsize=(8, 4.6))
    xs = [0.0, 2.4, 4.8, 7.2]
    pos = [[(xs[i], (n - 1) / 2 - j) for j in range(n)] for i, n in enumerate(sizes)]
    for i in range(len(sizes) - 1):
        for a in pos[i]:
            for b in pos[i + 1]:
                ax.plot([a[0], b[0]], [a[1], b[1]], color="#999999", lw=0.8, zorder=1)
    for i, layer in enumerate(pos):
        for x, y in layer:
            face = "#dddddd" if i == 0 else "#8ecae6"
            ax.add_patch(plt.Circle((x, y), 0.3, facecolor=face, edgecolor="k", zorder=2))
            if i > 0:
                ax.text(x, y, "tanh", ha="center", va="center", fontsize=8, zorder=3)
    titles = ["3 inputs", "layer 0\n4 neurons\n4 x (3 + 1) = 16", "layer 1\n4 neurons\n"
              "4 x (4 + 1) = 20", "layer 2\n1 neuron\n1 x (4 + 1) = 5"]
    for x, t in zip(xs, titles):
        ax.text(x, -2.2, t, ha="center", va="top", fontsize=9)
    ax.text(3.6, 2.35, "MLP(3, [4, 4, 1]): 16 + 20 + 5 = 41 parameters", ha="center",
            fontsize=11)
    ax.set_xlim(-1.0, 8.2)
    ax.set_ylim(-3.4, 2.6)
    ax.set_aspect("equal")
    ax.axis("off")
    save_svg(fig, path)


# ---- chapter 7: training -----------------------------------------------------------

SEED_XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
SEED_YS = [1.0, -1.0, -1.0, 1.0]


def seed_losses(steps: int = 100) -> list[float]:
    """Chapter 7's loop: MLP(3, [4, 4, 1], seed=1337), SSE loss, SGD lr 0.1."""
    from pymicrograd import losses, nn, optim

    model = nn.MLP(3, [4, 4, 1], seed=1337)
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = []
    for _ in range(steps):
        preds = [model(x) for x in SEED_XS]
        loss = losses.sse_loss(preds, SEED_YS)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.value)
    return history


@figure("seed-loss-curve.svg")
def seed_loss_curve(path: Path) -> None:
    """The seed's loss, step by step, on a linear and a log scale."""
    import matplotlib.pyplot as plt

    history = seed_losses()
    steps = range(1, len(history) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, scale in ((left, "linear"), (right, "log")):
        ax.plot(steps, history, color="#1f77b4", lw=2)
        ax.set_yscale(scale)
        ax.set_xlabel("step")
        ax.set_ylabel("SSE loss" + (" (log scale)" if scale == "log" else ""))
        ax.grid(alpha=0.3, which="both")
    left.set_title("MLP(3, [4, 4, 1]) on the seed's 4 samples", fontsize=10)
    right.set_title(f"the same, log scale: {history[0]:.2f} down to {history[-1]:.4f}",
                    fontsize=10)
    fig.tight_layout()
    save_svg(fig, path)


def train_moons() -> tuple[Any, list[list[float]], list[float], list[float]]:
    """micrograd's demo as chapter 7 runs it; the model, X, y and the loss per step."""
    from pymicrograd import datasets, losses, nn, optim

    X, y = datasets.make_moons(100, noise=0.1, seed=1337)
    model = nn.MLP(2, [16, 16, 1], activation="relu", final_activation="linear",
                   seed=1337)
    opt = optim.SGD(model.parameters(), lr=1.0)
    history = []
    for k in range(100):
        scores = model.forward_batch(X)
        loss = losses.hinge_loss(scores, y) + losses.l2_penalty(model, 1e-4)
        opt.zero_grad()
        loss.backward()
        opt.lr = 1.0 - 0.9 * k / 100
        opt.step()
        history.append(loss.value)
    return model, X, y, history


@figure("moons-decision-boundary.svg")
def moons_decision_boundary(path: Path) -> None:
    """Where the trained moons model says +1 and -1, with the 100 points."""
    model, X, y, _ = train_moons()
    correct = sum((s.value > 0) == (t > 0) for s, t in zip(model.forward_batch(X), y))
    _regions(path, X, [int(t > 0) for t in y], 2,
             lambda pts: [int(s.value > 0) for s in model.forward_batch(pts)],
             f"MLP(2, [16, 16, 1]) after 100 steps: {correct}/100 points right")


# ---- chapter 8: losses and optimizers -----------------------------------------------

def _optimizers() -> dict[str, Callable[[list[Any]], Any]]:
    from pymicrograd import optim

    return {
        "SGD, lr 0.05": lambda p: optim.SGD(p, lr=0.05),
        "SGD + momentum 0.9, lr 0.05": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
        "Adam, lr 0.02": lambda p: optim.Adam(p, lr=0.02),
    }


def optimizer_losses(make: Callable[[list[Any]], Any], steps: int = 100) -> list[float]:
    """Chapter 8's comparison: the moons problem, one optimizer, loss per step."""
    from pymicrograd import datasets, losses, nn

    X, y = datasets.make_moons(100, noise=0.1, seed=1337)
    model = nn.MLP(2, [16, 16, 1], activation="relu", final_activation="linear",
                   seed=1337)
    opt = make(model.parameters())
    history = []
    for _ in range(steps):
        loss = losses.hinge_loss(model.forward_batch(X), y) + losses.l2_penalty(model, 1e-4)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.value)
    return history


@figure("optimizers-loss-curves.svg")
def optimizers_loss_curves(path: Path) -> None:
    """SGD, SGD with momentum and Adam from the same start on the moons problem."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for (label, make), color in zip(_optimizers().items(), ("#888888", "#1f77b4",
                                                            "#d62728")):
        history = optimizer_losses(make)
        ax.plot(range(1, len(history) + 1), history, label=label, color=color, lw=2)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("hinge loss + L2 (log scale)")
    ax.set_title("Same model, same start, same data (two moons): three optimizers",
                 fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    save_svg(fig, path)


@figure("spirals-decision-regions.svg")
def spirals_decision_regions(path: Path) -> None:
    """Three spiral arms learned with softmax cross-entropy and Adam (chapter 8)."""
    from pymicrograd import datasets, losses, nn, optim

    X, labels = datasets.make_spirals(100, 3, seed=0)
    model = nn.MLP(2, [16, 16, 3], activation="relu", final_activation="linear", seed=0)
    opt = optim.Adam(model.parameters(), lr=0.02)
    for _ in range(300):
        loss = losses.cross_entropy_loss(model.forward_batch(X), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def predict(points: list[list[float]]) -> list[int]:
        return [max(range(3), key=lambda c, r=row: r[c].value)
                for row in model.forward_batch(points)]

    right = sum(p == c for p, c in zip(predict(X), labels))
    _regions(path, X, labels, 3, predict,
             f"MLP(2, [16, 16, 3]), cross-entropy + Adam, 300 steps: {right}/300 right")


# ---- chapter 9: verifying gradients ------------------------------------------------


def difference_errors(hs: list[float], x: float = 1.5) -> tuple[list[float], list[float]]:
    """|error| of the forward and the central difference of x**3 at x, for each h."""
    exact = 3 * x * x
    forward, central = [], []
    for h in hs:
        forward.append(abs(((x + h) ** 3 - x ** 3) / h - exact))
        central.append(abs(((x + h) ** 3 - (x - h) ** 3) / (2 * h) - exact))
    return forward, central


@figure("finite-difference-error.svg")
def finite_difference_error(path: Path) -> None:
    """Error against h, log-log: truncation falls with h, rounding rises (the V)."""
    import matplotlib.pyplot as plt

    hs = [10.0 ** (-k / 4) for k in range(0, 4 * 14 + 1)]
    forward, central = difference_errors(hs)
    eps = 2.0 ** -52
    floor = 1e-17  # an exact result would vanish on a log scale
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    ax.loglog(hs, [max(e, floor) for e in forward], "o-", ms=3, color="#888888",
              label="forward (f(x+h) - f(x)) / h")
    ax.loglog(hs, [max(e, floor) for e in central], "o-", ms=3, color="#1f77b4",
              label="central (f(x+h) - f(x-h)) / 2h")
    ax.loglog(hs, [4.5 * h for h in hs], ":", color="#888888", label="truncation 4.5 h")
    ax.loglog(hs, [h * h for h in hs], ":", color="#1f77b4", label="truncation h²")
    ax.loglog(hs, [3.375 * eps / h for h in hs], "--", color="#d62728",
              label="rounding ≈ ε·|f| / h")
    ax.set_ylim(1e-13, 10)
    ax.invert_xaxis()
    ax.set_xlabel("h (smaller to the right)")
    ax.set_ylabel("|estimate - 3x²|")
    ax.set_title("Estimating d(x³)/dx at x = 1.5 in float64", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    save_svg(fig, path)

