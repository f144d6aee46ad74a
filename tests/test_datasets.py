"""pymicrograd.datasets: make_moons is sklearn's under np.random.seed, without numpy."""

from __future__ import annotations

import math
import random

import pytest

from pymicrograd.datasets import NumpyLegacyRandom, make_moons, make_spirals, make_yinyang


def sklearn_make_moons(n: int, noise: float, seed: int) -> tuple[list[list[float]],
                                                                  list[float]]:
    """sklearn.datasets.make_moons(n, noise=noise) after np.random.seed(seed), in numpy
    (sklearn's own code path: linspace, vstack, shuffle of an index array, normal)."""
    import numpy as np
    rs = np.random.RandomState(seed)
    n_out, n_in = n // 2, n - n // 2
    outer = np.vstack([np.cos(np.linspace(0, np.pi, n_out)),
                       np.sin(np.linspace(0, np.pi, n_out))])
    inner = np.vstack([1 - np.cos(np.linspace(0, np.pi, n_in)),
                       1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5])
    X = np.hstack([outer, inner]).T
    y = np.hstack([np.zeros(n_out), np.ones(n_in)])
    idx = np.arange(n)
    rs.shuffle(idx)
    X, y = X[idx], y[idx]
    X = X + rs.normal(scale=noise, size=X.shape)
    return X.tolist(), (2 * y - 1).tolist()


@pytest.mark.parametrize(("n", "noise", "seed"),
                         [(100, 0.1, 1337), (7, 0.3, 0), (2, 0.0, 5), (501, 0.2, 2**32 - 1)])
def test_make_moons_is_sklearns(n: int, noise: float, seed: int) -> None:
    X, y = make_moons(n, noise=noise, seed=seed)
    X_ref, y_ref = sklearn_make_moons(n, noise, seed)
    assert y == y_ref
    for row, ref in zip(X, X_ref):  # the trigonometry may differ in the last bit
        assert row == pytest.approx(ref, rel=0, abs=1e-15)


def test_karpathys_demo_data() -> None:
    X, y = make_moons(100, noise=0.1, seed=1337)
    assert len(X) == 100 and y.count(1.0) == 50 and y.count(-1.0) == 50
    assert all(-1.5 < x < 2.5 and -1.0 < x1 < 1.5 for x, x1 in X)


def test_numpy_stream() -> None:
    import numpy as np
    for seed in (0, 1, 1337, 2**32 - 1):
        ours, ref = NumpyLegacyRandom(seed), np.random.RandomState(seed)
        assert [ours.random_sample() for _ in range(50)] == ref.random_sample(50).tolist()
        assert [ours.standard_normal() for _ in range(51)] == ref.standard_normal(51).tolist()
        for n in (1, 2, 10, 1000):
            items = list(range(n))
            arr = np.arange(n)
            ours.shuffle(items)
            ref.shuffle(arr)
            assert items == arr.tolist()
    with pytest.raises(ValueError):
        NumpyLegacyRandom(-1)
    with pytest.raises(ValueError):
        NumpyLegacyRandom(2**32)


def test_datasets_are_seeded_and_leave_the_global_random_alone() -> None:
    random.seed(5)
    before = random.random()
    random.seed(5)
    assert make_spirals(seed=3) == make_spirals(seed=3)
    assert make_yinyang(seed=3) == make_yinyang(seed=3)
    assert make_moons(seed=3) == make_moons(seed=3)
    assert make_spirals(seed=3) != make_spirals(seed=4)
    assert random.random() == before


def test_spirals_shape() -> None:
    X, labels = make_spirals(40, 4, noise=0.0, seed=0)
    assert len(X) == 160 and labels == [c for c in range(4) for _ in range(40)]
    assert all(math.hypot(x, y) <= 1.0 + 1e-12 for x, y in X)


def test_yinyang_classes() -> None:
    X, labels = make_yinyang(300, seed=1)
    assert [labels.count(c) for c in range(3)] == [100, 100, 100]
    assert all(math.hypot(x - 0.5, y - 0.5) <= 0.5 for x, y in X)
    dots = [p for p, c in zip(X, labels) if c == 2]
    centres = [(0.25, 0.5), (0.75, 0.5)]
    assert all(min(math.hypot(x - a, y - b) for a, b in centres) <= 0.1 for x, y in dots)


@pytest.mark.parametrize("call", [lambda: make_moons(1), lambda: make_moons(10, noise=-1),
                                  lambda: make_spirals(1), lambda: make_yinyang(2),
                                  lambda: make_yinyang(30, r_small=0.3)])
def test_bad_arguments(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]
