"""karpathy's micrograd demo notebook as source text, shared by compat_bench.py and
tests/test_compat.py: the code of demo.ipynb, cell by cell, without the plotting lines.

`source_for` gives it for one engine: on ``pymicrograd.compat`` only its imports
change. It expects ``make_moons`` in its globals (scikit-learn's, or
``pymicrograd.datasets.make_moons`` as numpy arrays with 0/1 labels).
"""

from __future__ import annotations

NOTEBOOK = '''
import random
import numpy as np

from micrograd.engine import Value
from micrograd.nn import Neuron, Layer, MLP

np.random.seed(1337)
random.seed(1337)

# make up a dataset

X, y = make_moons(n_samples=100, noise=0.1)

y = y*2 - 1 # make y be -1 or 1

# initialize a model
model = MLP(2, [16, 16, 1]) # 2-layer neural network
print(model)
print("number of parameters", len(model.parameters()))

# loss function
def loss(batch_size=None):

    # inline DataLoader :)
    if batch_size is None:
        Xb, yb = X, y
    else:
        ri = np.random.permutation(X.shape[0])[:batch_size]
        Xb, yb = X[ri], y[ri]
    inputs = [list(map(Value, xrow)) for xrow in Xb]

    # forward the model to get scores
    scores = list(map(model, inputs))

    # svm "max-margin" loss
    losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(yb, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    # L2 regularization
    alpha = 1e-4
    reg_loss = alpha * sum((p*p for p in model.parameters()))
    total_loss = data_loss + reg_loss

    # also get accuracy
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
    return total_loss, sum(accuracy) / len(accuracy)

total_loss, acc = loss()
print(total_loss, acc)

# optimization
for k in range(100):

    # forward
    total_loss, acc = loss()

    # backward
    model.zero_grad()
    total_loss.backward()

    # update (sgd)
    learning_rate = 1.0 - 0.9*k/100
    for p in model.parameters():
        p.data -= learning_rate * p.grad

    if k % 1 == 0:
        print(f"step {k} loss {total_loss.data}, accuracy {acc*100}%")
'''


def source_for(engine: str, steps: int) -> str:
    """The notebook for `engine`: only its imports change (and the step count if asked)."""
    src = NOTEBOOK
    if engine == "pymicrograd.compat":
        src = src.replace("from micrograd.", "from pymicrograd.compat.")
    if steps != 100:
        src = src.replace("for k in range(100):", f"for k in range({steps}):")
    return src
