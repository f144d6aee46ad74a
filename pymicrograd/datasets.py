"""Small seeded toy datasets for the examples: two moons, spirals and yin-yang.

Pure Python, no numpy needed. :func:`make_moons` reproduces scikit-learn's
``make_moons(n_samples, noise=noise)`` under ``np.random.seed(seed)``, number for
number, so ``make_moons(100, noise=0.1, seed=1337)`` is exactly the data of karpathy's
micrograd demo notebook. It does so by running numpy's legacy ``RandomState`` stream
(MT19937 seeded the way numpy seeds it, numpy's bounded integers for the shuffle and
its polar Box-Muller for the noise) on top of Python's own Mersenne Twister.

>>> X, y = make_moons(100, noise=0.1, seed=1337)
>>> len(X), len(X[0]), sorted(set(y))
(100, 2, [-1.0, 1.0])
>>> X, labels = make_spirals(50, 3, seed=0)
>>> len(X), sorted(set(labels))
(150, [0, 1, 2])
"""

from __future__ import annotations

import math
import random

__all__ = ["NumpyLegacyRandom", "make_moons", "make_spirals", "make_yinyang"]

_MT_N = 624


class NumpyLegacyRandom:
    """The random stream of ``numpy.random.RandomState(seed)``, in pure Python.

    Only the three draws the datasets need: :meth:`random_sample` (a double in [0, 1)),
    :meth:`standard_normal` and :meth:`shuffle`. Each returns what the numpy method of
    the same name returns for the same seed and the same sequence of calls.
    """

    def __init__(self, seed: int) -> None:
        """Seed like ``RandomState(seed)``: MT19937's init_genrand, for 0 <= seed < 2**32."""
        if not 0 <= seed < 2**32:
            raise ValueError("seed must be between 0 and 2**32 - 1")
        mt = [seed & 0xFFFFFFFF]
        for i in range(1, _MT_N):
            prev = mt[-1]
            mt.append((1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF)
        # Python's random module runs the same generator; position 624 = "regenerate
        # before the next draw", which is where numpy starts too.
        self._rng = random.Random()
        self._rng.setstate((3, (*mt, _MT_N), None))
        self._gauss: float | None = None

    def _uint32(self) -> int:
        return self._rng.getrandbits(32)

    def random_sample(self) -> float:
        """A double in [0, 1) with 53 random bits (numpy's random_sample, genrand_res53)."""
        return self._rng.random()  # CPython uses the same two-draw res53 formula

    def standard_normal(self) -> float:
        """A standard normal draw by the polar method, as numpy's legacy gauss."""
        if self._gauss is not None:
            g, self._gauss = self._gauss, None
            return g
        while True:
            x1 = 2.0 * self.random_sample() - 1.0
            x2 = 2.0 * self.random_sample() - 1.0
            r2 = x1 * x1 + x2 * x2
            if 0.0 < r2 < 1.0:
                break
        f = math.sqrt(-2.0 * math.log(r2) / r2)
        self._gauss = f * x1
        return f * x2

    def _interval(self, top: int) -> int:
        """Uniform integer in [0, top] by masked rejection (numpy's random_interval)."""
        if top == 0:
            return 0
        mask = top
        for shift in (1, 2, 4, 8, 16):
            mask |= mask >> shift
        if top <= 0xFFFFFFFF:
            while True:
                v = self._uint32() & mask
                if v <= top:
                    return v
        mask |= mask >> 32
        while True:
            v = ((self._uint32() << 32) | self._uint32()) & mask
            if v <= top:
                return v

    def shuffle(self, items: list[int]) -> None:
        """Shuffle a list in place, as ``RandomState.shuffle`` shuffles a 1-d array."""
        for i in range(len(items) - 1, 0, -1):
            j = self._interval(i)
            items[i], items[j] = items[j], items[i]


def _linspace(start: float, stop: float, num: int) -> list[float]:
    """numpy.linspace(start, stop, num) with numpy's arithmetic (exact stop at the end)."""
    if num == 1:
        return [start]
    step = (stop - start) / (num - 1)
    out = [i * step + start for i in range(num)]
    out[-1] = stop
    return out


def make_moons(
    n_samples: int = 100, noise: float = 0.1, seed: int = 1337
) -> tuple[list[list[float]], list[float]]:
    """Two interleaving half circles, with labels -1.0 (upper moon) and +1.0 (lower).

    Returns ``(X, y)``: ``X`` is a list of ``[x0, x1]`` points, ``y`` their labels in
    {-1.0, +1.0} (scikit-learn's 0/1 labels mapped by ``2*y - 1``, as micrograd's demo
    does for its SVM loss). The points, their order and the Gaussian noise (standard
    deviation ``noise``) are those of ``sklearn.datasets.make_moons(n_samples,
    noise=noise)`` after ``np.random.seed(seed)``; numpy is not needed.
    """
    if n_samples < 2:
        raise ValueError("make_moons needs n_samples >= 2")
    if noise < 0:
        raise ValueError("noise must be >= 0")
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = _linspace(0.0, math.pi, n_out)
    t_in = _linspace(0.0, math.pi, n_in)
    xs = [math.cos(t) for t in t_out] + [1.0 - math.cos(t) for t in t_in]
    ys = [math.sin(t) for t in t_out] + [1.0 - math.sin(t) - 0.5 for t in t_in]
    labels = [-1.0] * n_out + [1.0] * n_in
    rng = NumpyLegacyRandom(seed)
    order = list(range(n_samples))
    rng.shuffle(order)
    X: list[list[float]] = []
    for i in order:  # noise is drawn row by row, x then y, as numpy fills (n, 2)
        x = xs[i] + noise * rng.standard_normal()
        y = ys[i] + noise * rng.standard_normal()
        X.append([x, y])
    return X, [labels[i] for i in order]


def make_spirals(
    n_per_class: int = 50, n_classes: int = 3, noise: float = 0.2, seed: int = 0
) -> tuple[list[list[float]], list[int]]:
    """``n_classes`` interleaved spiral arms (the CS231n spiral), labels 0..n_classes-1.

    Arm ``c`` has ``n_per_class`` points at radius r = 0..1 and angle
    4c .. 4(c+1) radians (plus Gaussian noise of standard deviation ``noise`` on the
    angle): ``(r sin t, r cos t)``. Points come class by class; ``seed`` seeds a
    ``random.Random`` of their own, never the global one.
    """
    if n_per_class < 2 or n_classes < 2:
        raise ValueError("make_spirals needs n_per_class >= 2 and n_classes >= 2")
    rng = random.Random(seed)
    X: list[list[float]] = []
    labels: list[int] = []
    for c in range(n_classes):
        radii = _linspace(0.0, 1.0, n_per_class)
        angles = _linspace(4.0 * c, 4.0 * (c + 1), n_per_class)
        for r, t in zip(radii, angles):
            t += rng.gauss(0.0, noise)
            X.append([r * math.sin(t), r * math.cos(t)])
            labels.append(c)
    return X, labels


def make_yinyang(
    n_samples: int = 300, r_small: float = 0.1, r_big: float = 0.5, seed: int = 0
) -> tuple[list[list[float]], list[int]]:
    """The yin-yang dataset (Kriener et al. 2021): 0 = yang, 1 = yin, 2 = the dots.

    Points are drawn uniformly in the disc of radius ``r_big`` centred at
    ``(r_big, r_big)``, with the classes balanced by rejection: each sample is first
    given a class in turn (0, 1, 2, 0, ...) and points are drawn until one falls in that
    class's region. The two dots have radius ``r_small``. The class numbers are the
    paper's; its extra mirrored inputs ``(1 - x, 1 - y)`` are left out (two inputs).
    """
    if n_samples < 3:
        raise ValueError("make_yinyang needs n_samples >= 3")
    if not 0 < r_small < r_big / 2:
        raise ValueError("need 0 < r_small < r_big / 2")
    rng = random.Random(seed)

    def which(x: float, y: float) -> int:
        d_right = math.hypot(x - 1.5 * r_big, y - r_big)
        d_left = math.hypot(x - 0.5 * r_big, y - r_big)
        if d_right <= r_small or d_left <= r_small:
            return 2
        upper = y > r_big
        yin = (upper and d_right > r_big / 2) or (not upper and d_left <= r_big / 2)
        return 1 if yin else 0

    X: list[list[float]] = []
    labels: list[int] = []
    for i in range(n_samples):
        want = i % 3
        while True:
            x, y = rng.uniform(0, 2 * r_big), rng.uniform(0, 2 * r_big)
            if math.hypot(x - r_big, y - r_big) > r_big:
                continue
            if which(x, y) == want:
                break
        X.append([x, y])
        labels.append(want)
    return X, labels
