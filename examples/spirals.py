"""Three classes: spiral arms, a softmax cross-entropy loss, Adam, and a saved model.

    python examples/spirals.py [--save spirals.json]

The network gives three logits per point (``MLP(2, [16, 16, 3])``, ReLU hidden layers,
linear output); ``losses.cross_entropy_loss`` turns each row into a log-softmax loss
(one log-sum-exp node per row, stable for any logit) and ``optim.Adam`` updates the
parameters in C. At the end the model is saved as a JSON state dict and loaded into a
fresh model, which predicts the same classes.
"""

from __future__ import annotations

import argparse
import os
import tempfile

from pymicrograd.datasets import make_spirals
from pymicrograd.losses import cross_entropy_loss
from pymicrograd.nn import MLP
from pymicrograd.optim import Adam


def predict(model: MLP, X: list[list[float]]) -> list[int]:
    """The class with the largest logit, for every row of X."""
    out = []
    for row in model.forward_batch(X):
        assert isinstance(row, list)  # three outputs: a list of Tensors per row
        values = [t.value for t in row]
        out.append(values.index(max(values)))
    return out


def main() -> None:
    """Train, report the accuracy, save, load, compare."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--save", metavar="JSON", help="where to save the trained model")
    args = ap.parse_args()

    X, labels = make_spirals(100, 3, noise=0.2, seed=0)
    model = MLP(2, [16, 16, 3], activation="relu", final_activation="linear", seed=0)
    opt = Adam(model.parameters(), lr=0.02)
    for k in range(args.steps):
        logits = model.forward_batch(X)  # a list of 3 logits per row
        loss = cross_entropy_loss(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if k % 50 == 0 or k == args.steps - 1:
            acc = sum(p == c for p, c in zip(predict(model, X), labels)) / len(labels)
            print(f"step {k:3d}  loss {loss.value:.4f}  accuracy {acc:.1%}")

    path = args.save or os.path.join(tempfile.mkdtemp(), "spirals.json")
    model.save(path)
    fresh = MLP(2, [16, 16, 3], activation="relu", final_activation="linear", seed=123)
    fresh.load(path)
    same = predict(fresh, X) == predict(model, X)
    print(f"saved to {path}; a fresh model loaded from it predicts the same: {same}")


if __name__ == "__main__":
    main()
