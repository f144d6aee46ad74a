"""karpathy's micrograd demo notebook on pymicrograd: two moons, an SVM loss, SGD.

The data, the network, its initial weights, the loss and the learning-rate schedule
are the demo's: ``make_moons(100, noise=0.1)`` after ``np.random.seed(1337)``
(reproduced without numpy), ``MLP(2, [16, 16, 1])`` with ReLU hidden layers and a
linear score after ``random.seed(1337)``, max-margin loss + 1e-4 L2, 100 SGD steps
with lr = 1.0 - 0.9k/100 (for other step counts, 1.0 - 0.9k/steps: the same decay over
the whole run, never negative).

Two ways to write the same training step:

- ``--style seed`` (default): the demo's code, a Python loop calling the model on each
  sample and the loss built from Tensor ops. A few milliseconds per step.
- ``--style batched``: one C call for the forward pass over the batch (forward_batch),
  the loss and the penalty in C (losses.hinge_loss, losses.l2_penalty) and the update
  in C (optim.SGD). Sub-millisecond.

Both compute the same numbers. ``--plot moons.png`` saves the decision boundary
(needs matplotlib).

    python examples/moons.py [--style seed|batched] [--plot moons.png]
"""

from __future__ import annotations

import argparse
import time

from pymicrograd import Tensor
from pymicrograd.datasets import make_moons
from pymicrograd.losses import hinge_loss, l2_penalty
from pymicrograd.nn import MLP
from pymicrograd.optim import SGD

ALPHA = 1e-4


def loss_seed_style(model: MLP, X: list[list[float]], y: list[float]) -> tuple[Tensor, float]:
    """The demo notebook's loss(): SVM max-margin loss + L2, and the accuracy."""
    inputs = [list(map(Tensor, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (scorei.value > 0) for yi, scorei in zip(y, scores)]
    return total_loss, sum(accuracy) / len(accuracy)


def train_seed_style(model: MLP, X: list[list[float]], y: list[float], steps: int) -> None:
    """The demo's training loop, verbatim but for the names and the lr over `steps`."""
    for k in range(steps):
        total_loss, acc = loss_seed_style(model, X, y)
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / steps
        for p in model.parameters():
            p.value -= learning_rate * p.gradient
        if k % 10 == 0:
            print(f"step {k} loss {total_loss.value}, accuracy {acc * 100}%")


def train_batched(model: MLP, X: list[list[float]], y: list[float], steps: int) -> None:
    """The same step with the forward pass, the loss and the update in C."""
    params = model.parameters()
    opt = SGD(params, lr=1.0)
    for k in range(steps):
        scores = model.forward_batch(X)  # one Tensor per row
        total_loss = hinge_loss(scores, y) + l2_penalty(model, ALPHA)
        opt.zero_grad()
        total_loss.backward()
        opt.lr = 1.0 - 0.9 * k / steps
        opt.step()
        if k % 10 == 0:
            acc = sum((yi > 0) == (s.value > 0) for yi, s in zip(y, scores)) / len(y)
            print(f"step {k} loss {total_loss.value}, accuracy {acc * 100}%")


def plot(model: MLP, X: list[list[float]], y: list[float], path: str) -> None:
    """Save the decision boundary with the data on top (as the demo's last cell)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print('no plot: matplotlib is not installed (pip install "pymicrograd[plot]")')
        return
    h = 0.05
    x0s = [min(r[0] for r in X) - 1 + h * i
           for i in range(int((max(r[0] for r in X) - min(r[0] for r in X) + 2) / h))]
    x1s = [min(r[1] for r in X) - 1 + h * i
           for i in range(int((max(r[1] for r in X) - min(r[1] for r in X) + 2) / h))]
    scores = model.forward_batch([[a, b] for b in x1s for a in x0s])
    Z = [[float(scores[j * len(x0s) + i].value > 0) for i in range(len(x0s))]
         for j in range(len(x1s))]
    fig = plt.figure()
    plt.contourf(x0s, x1s, Z, cmap=plt.cm.Spectral, alpha=0.8)
    plt.scatter([r[0] for r in X], [r[1] for r in X], c=y, s=40, cmap=plt.cm.Spectral)
    fig.savefig(path)
    print(f"saved {path}")


def main() -> None:
    """Parse the options, train, report, plot."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--style", choices=["seed", "batched"], default="seed",
                    help="how the training step is written (default: %(default)s)")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--plot", metavar="PNG", help="save the decision boundary here")
    args = ap.parse_args()

    X, y = make_moons(100, noise=0.1, seed=1337)
    model = MLP(2, [16, 16, 1], activation="relu", final_activation="linear", seed=1337)
    print(model, "with", len(model.parameters()), "parameters")
    t0 = time.perf_counter()
    (train_seed_style if args.style == "seed" else train_batched)(model, X, y, args.steps)
    seconds = time.perf_counter() - t0
    _, acc = loss_seed_style(model, X, y)
    print(f"final accuracy {acc:.0%}; {args.steps} steps in {seconds:.3f} s "
          f"({seconds / max(args.steps, 1) * 1e3:.2f} ms per step, {args.style} style)")
    if args.plot:
        plot(model, X, y, args.plot)


if __name__ == "__main__":
    main()
