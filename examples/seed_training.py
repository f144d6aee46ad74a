"""The seed notebook's example, trained: MLP(3, [4, 4, 1]) learns four samples.

Written the way the notebook (and karpathy's lecture) writes it: call the network on
each sample in a Python loop, build the squared-error loss from Tensor ops, call
backward(), and nudge every parameter against its gradient by hand.

    python examples/seed_training.py
"""

from __future__ import annotations

from pymicrograd import Tensor
from pymicrograd.nn import MLP

xs = [
    [2.0, 3.0, -1.0],
    [3.0, -1.0, 0.5],
    [0.5, 1.0, 1.0],
    [1.0, 1.0, -1.0],
]
ys = [1.0, -1.0, -1.0, 1.0]  # desired targets


def main() -> None:
    """Train for 100 steps and print the loss every 10, then the predictions."""
    n = MLP(3, [4, 4, 1], seed=0)  # tanh neurons, as in the seed
    learning_rate = 0.1
    ypred = []
    for k in range(100):
        # forward pass: one call per sample, the loss from Tensor arithmetic
        ypred = [n(x) for x in xs]  # one output per sample: a Tensor
        loss = sum(((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred)), Tensor(0.0))

        # backward pass: zero the gradients first, backward() adds to them
        n.zero_grad()
        loss.backward()

        # update: a step against the gradient
        for p in n.parameters():
            p.value -= learning_rate * p.gradient

        if k % 10 == 9:
            print(f"step {k + 1:3d}  loss {loss.value:.6f}")

    print("\ntarget  prediction")
    for ygt, yout in zip(ys, ypred):
        print(f"{ygt:6.1f}  {yout.value:10.4f}")


if __name__ == "__main__":
    main()
