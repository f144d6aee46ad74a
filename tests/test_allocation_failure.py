"""When the C core cannot allocate, Python gets a MemoryError, and nothing leaks.

The test installs an allocator of its own in the C core (``mg_set_allocator``, through
cffi callbacks): it hands out memory owned by Python, counts what is outstanding, and
refuses the n-th request on demand. Then every way a Tensor op, ``backward()``, a
network's forward pass or an optimizer can ask C for memory is made to fail, for every
n in turn, and each must raise MemoryError and leave no node and no byte behind.

The C core only changes allocators while no node is alive (memory must go back to the
allocator it came from), so each test starts and ends with no Tensor alive.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pymicrograd import Tensor, live_nodes
from pymicrograd._core import ffi, lib


class CountingAllocator:
    """An mg_allocator over Python-owned buffers that can refuse the n-th request."""

    def __init__(self) -> None:
        self.blocks: dict[int, Any] = {}  # address -> the cdata that owns the memory
        self.sizes: dict[int, int] = {}
        self.requests = 0
        self.fail_at: int | None = None  # request number that fails ...
        self.fail_after = False  # ... and, if set, every later one
        self.failures = 0
        self.bad_pointers = 0
        # The callbacks must outlive every call the C core makes through them.
        self._malloc = ffi.callback("void *(size_t, void *)", self._on_malloc)
        self._realloc = ffi.callback("void *(void *, size_t, void *)", self._on_realloc)
        self._free = ffi.callback("void (void *, void *)", self._on_free)
        self.struct = ffi.new("mg_allocator *")
        self.struct.malloc_fn = self._malloc
        self.struct.realloc_fn = self._realloc
        self.struct.free_fn = self._free

    # ---- failure control ---------------------------------------------------------------

    def fail(self, nth: int | None, *, after: bool = False) -> None:
        """Make the nth request from now fail (None: none); after=True: all from it on."""
        self.fail_at = None if nth is None else self.requests + nth
        self.fail_after = after

    def _refuse(self) -> bool:
        self.requests += 1
        if self.fail_at is None:
            return False
        if self.requests == self.fail_at or (self.fail_after and self.requests > self.fail_at):
            self.failures += 1
            return True
        return False

    # ---- the three callbacks -----------------------------------------------------------

    def _new_block(self, size: int) -> Any:
        # 8-byte aligned: enough for the core, whose blocks hold doubles and pointers
        buf = ffi.new("double[]", max(1, (size + 7) // 8))
        address = int(ffi.cast("uintptr_t", buf))
        self.blocks[address] = buf
        self.sizes[address] = size
        return buf

    def _on_malloc(self, size: int, ctx: Any) -> Any:
        if self._refuse():
            return ffi.NULL
        return ffi.cast("void *", self._new_block(size))

    def _on_realloc(self, p: Any, size: int, ctx: Any) -> Any:
        if self._refuse():
            return ffi.NULL
        old = int(ffi.cast("uintptr_t", p))
        if old not in self.blocks:
            self.bad_pointers += 1
            return ffi.NULL
        buf = self._new_block(size)
        ffi.memmove(buf, p, min(size, self.sizes[old]))
        del self.blocks[old], self.sizes[old]
        return ffi.cast("void *", buf)

    def _on_free(self, p: Any, ctx: Any) -> None:
        address = int(ffi.cast("uintptr_t", p))
        if self.blocks.pop(address, None) is None:
            self.bad_pointers += 1
        self.sizes.pop(address, None)

    @property
    def outstanding(self) -> int:
        return len(self.blocks)


@pytest.fixture
def alloc() -> Iterator[CountingAllocator]:
    if live_nodes() != 0:
        gc.collect()  # slow once torch is imported: only when something is left over
    if live_nodes() != 0:
        pytest.fail(
            f"{live_nodes()} C nodes alive before the test, so the allocator cannot change: "
            "does a test module keep a Tensor or a model at module level?"
        )
    allocator = CountingAllocator()
    assert lib.mg_set_allocator(allocator.struct) == lib.MG_OK
    try:
        yield allocator
    finally:
        allocator.fail(None)
        if live_nodes() != 0:
            gc.collect()
        status = lib.mg_set_allocator(ffi.NULL)  # also gives backward's cached arrays back
        assert status == lib.MG_OK, f"{live_nodes()} nodes still alive after the test"
        assert allocator.outstanding == 0, f"{allocator.outstanding} blocks leaked"
        assert allocator.bad_pointers == 0


def fail_each_allocation(alloc: CountingAllocator, work: Callable[[], object]) -> int:
    """Run work() with its n-th allocation failing, n = 1, 2, ... until one run needs
    fewer than n; both one-off and lasting failures. Every run that hit a failure must
    raise MemoryError, and after each run the node count and the allocator's blocks
    must be back where they were, without a garbage collection: Tensors and models
    make no reference cycles, so everything a failed run made is freed when the
    MemoryError is dropped. Returns how many allocations a full run needs."""
    needed = 0
    for after in (False, True):
        for nth in range(1, 100_000):
            lib.mg_trim()
            live, blocks, failures = live_nodes(), alloc.outstanding, alloc.failures
            start = alloc.requests
            alloc.fail(nth, after=after)
            raised = False
            try:
                work()
            except MemoryError:
                raised = True
            alloc.fail(None)
            hit = alloc.failures != failures
            requests = alloc.requests - start
            lib.mg_trim()
            where = f"allocation {nth} failing{' and after' if after else ''}"
            assert raised == hit, f"{where}: MemoryError raised: {raised}, failure hit: {hit}"
            assert live_nodes() == live, f"{where}: nodes {live} -> {live_nodes()}"
            assert alloc.outstanding == blocks, f"{where}: blocks {blocks} -> {alloc.outstanding}"
            if not hit:
                needed = requests
                break
        else:
            pytest.fail("work never completed")
    return needed


# ---- Tensor ops ---------------------------------------------------------------------------

OPS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "neg": lambda a, b: -a,
    "tanh": lambda a, b: a.tanh(),
    "relu": lambda a, b: a.relu(),
    "exp": lambda a, b: a.exp(),
    "log": lambda a, b: a.log(),
    "sigmoid": lambda a, b: a.sigmoid(),
    "add_const": lambda a, b: a + 2.0,
    "radd_const": lambda a, b: 2.0 + a,
    "mul_const": lambda a, b: a * 2.0,
    "div_const": lambda a, b: a / 2.0,
    "pow_const": lambda a, b: a**2.0,
    "rsub_const": lambda a, b: 2.0 - a,
    "rdiv_const": lambda a, b: 2.0 / a,
    "rpow_const": lambda a, b: 2.0**a,
    "leaf": lambda a, b: Tensor(1.0),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_raises_memoryerror_and_leaks_nothing(alloc: CountingAllocator, name: str) -> None:
    op = OPS[name]
    a, b = Tensor(1.5), Tensor(0.5)
    alloc.fail(1)
    with pytest.raises(MemoryError):
        op(a, b)
    assert live_nodes() == 2
    assert alloc.outstanding == 2
    out = op(a, b)  # the next allocation succeeds again
    assert math.isfinite(out.value)
    del out, a, b


def test_every_allocation_failure_has_one_text(alloc: CountingAllocator) -> None:
    """A NULL from an op, a failed status from backward, a forward pass: one message."""
    from pymicrograd.nn import MLP

    def failing_calls() -> list[Callable[[], object]]:
        a, b = Tensor(1.5), Tensor(0.5)
        model = MLP(2, [2, 1], seed=0)
        c = a * b + 1.0
        return [*(lambda op=op: op(a, b) for op in OPS.values()), c.backward,
                lambda: model([0.5, 0.25]), lambda: model([a, 0.25])]

    calls = failing_calls()
    lib.mg_trim()  # backward must allocate its work arrays afresh
    for call in calls:
        alloc.fail(1)
        with pytest.raises(MemoryError, match=r"^\S.*: the C core could not allocate memory$"):
            call()
    alloc.fail(None)
    del calls, call


def test_backward_raises_memoryerror_and_changes_no_gradient(alloc: CountingAllocator) -> None:
    a, b = Tensor(2.0), Tensor(-3.0)
    c = (a * b + 1.0).tanh()
    a.gradient, b.gradient = 0.25, -4.0
    lib.mg_trim()  # backward must allocate its work arrays afresh
    alloc.fail(1)
    with pytest.raises(MemoryError):
        c.backward()
    assert (a.gradient, b.gradient, c.gradient) == (0.25, -4.0, 0.0)
    alloc.fail(None)
    c.backward()
    assert c.gradient == 1.0
    assert a.gradient == pytest.approx(0.25 + (1 - c.value**2) * -3.0)
    del a, b, c


def test_backward_failing_at_any_allocation_restores_every_gradient(
        alloc: CountingAllocator) -> None:
    """Whichever of backward's allocations fails, every gradient is as it was: leaves,
    inner nodes and a batch's nodes, each holding a gradient of its own beforehand
    (backward sets them aside as it discovers the graph, and puts them back)."""
    from pymicrograd.losses import sse_loss
    from pymicrograd.nn import MLP

    model = MLP(2, [3, 1], seed=0)
    outs = model.forward_batch([[0.5, -1.0], [1.0, 2.0]])
    x, y = Tensor(0.7), Tensor(-1.2)
    root = sse_loss(outs, [1.0, -1.0]) + (x * y + 2.0).tanh() * outs[0]  # type: ignore[operator]
    nodes, stack = [], [root]
    while stack:  # every node the root depends on, once
        n = stack.pop()
        if n not in nodes:
            nodes.append(n)
            stack.extend(n.children)
    for k, n in enumerate(nodes):
        n.gradient = 0.25 * (k + 1)
    before = [n.gradient for n in nodes]
    failed = 0
    for nth in range(1, 100):
        lib.mg_trim()  # backward must allocate its work arrays afresh
        alloc.fail(nth)
        try:
            root.backward()
        except MemoryError:
            failed += 1
            assert [n.gradient for n in nodes] == before, f"allocation {nth} failing"
            continue
        finally:
            alloc.fail(None)
        break
    assert failed >= 4  # the work lists of inner nodes and leaves, and the batch's arrays
    assert [n.gradient for n in nodes] != before  # the last call went through
    del nodes, stack, root, outs, model, x, y


def test_backward_after_a_failed_one_gives_what_it_would_have(
        alloc: CountingAllocator) -> None:
    """A failed backward leaves no trace: the next call's gradients are bit for bit those
    of a twin graph that never failed. (A neuron row left marked as seen would keep its
    weights out of the next call's set-aside gradients: they would sum in place, in
    another order, and round differently.)"""
    from pymicrograd.losses import sse_loss
    from pymicrograd.nn import MLP

    rows = [[0.3, -1.1, 2.0], [1.7, 0.4, -0.6], [-0.9, 0.8, 0.1]]

    def build() -> tuple[MLP, Tensor]:
        model = MLP(3, [4, 2], seed=3)
        outs = [o for row in rows for o in model([Tensor(v) for v in row])]  # type: ignore[union-attr]
        for k, p in enumerate(model.parameters()):
            p.gradient = 0.1 * (k + 1) / 3
        return model, sse_loss(outs, [0.5, -0.5] * len(rows))

    twin, twin_root = build()
    twin_root.backward()
    expected = [p.gradient for p in twin.parameters()]
    failed = 0
    for nth in range(1, 100):
        model, root = build()
        lib.mg_trim()
        alloc.fail(nth)
        try:
            root.backward()
        except MemoryError:
            failed += 1
        else:
            break
        finally:
            alloc.fail(None)
        root.backward()
        assert [p.gradient for p in model.parameters()] == expected, f"allocation {nth} failing"
    assert failed >= 3
    del model, root, twin, twin_root


def test_expression_with_every_allocation_failing(alloc: CountingAllocator) -> None:
    def work() -> None:
        x, y = Tensor(0.7), Tensor(-1.2)
        z = (x * y + 2.0).tanh() / (x.exp() + 1.0) - y**2
        z.backward()
        assert math.isfinite(x.gradient)

    needed = fail_each_allocation(alloc, work)
    assert needed >= 9  # nine nodes, plus backward's work arrays


def test_training_step_with_every_allocation_failing(alloc: CountingAllocator) -> None:
    from pymicrograd.nn import MLP

    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]

    def work() -> None:
        model = MLP(3, [4, 4, 1], seed=0)
        loss = sum(((model(x) - y) ** 2 for x, y in zip(xs, ys)), Tensor(0.0))
        loss.backward()
        for p in model.parameters():
            p.value -= 0.05 * p.gradient

    needed = fail_each_allocation(alloc, work)
    assert needed >= 3 + 1  # three layers, then at least the graph
