"""The GPU backend's scheduler: stream assignment, and the arena packing it feeds the engine's
planner. The invariant checked on random DAGs: two buffers share bytes only when every use of one
is ordered (by dependencies or by stream order) before every use of the other — so no branch on
another stream can overwrite a buffer still being read. Pure Python: no torch, no triton."""

import random

import pytest

pytest.importorskip("cnnrt._engine")
from cnnrt.backends.gpu.layout import Storage  # noqa: E402
from cnnrt.backends.gpu.lowering import Step  # noqa: E402
from cnnrt.backends.gpu.schedule import schedule  # noqa: E402
from cnnrt.ir import Value  # noqa: E402


def _buf(name, n):
    return Storage(Value(name, "float32", (n,)), (n,), False)


def _step(name, reads, writes):
    return Step(name, "test", reads, writes, lambda c: None)


def _ordered_before(sched, steps):
    """before[i]: the set of steps that certainly finish before step i starts."""
    writers = {}
    for i, s in enumerate(steps):
        for w in s.writes:
            writers.setdefault(id(w.root), []).append(i)
    before, last_on = [], {}
    for i, s in enumerate(steps):
        b = set()
        for r in s.reads:
            for j in writers.get(id(r.root), []):
                if j < i:
                    b |= before[j] | {j}
        t = sched.stream[i]
        if t in last_on:
            b |= before[last_on[t]] | {last_on[t]}
        last_on[t] = i
        before.append(b)
    return before


def _check_no_unordered_overlap(steps, sched, itemsize=4):
    before = _ordered_before(sched, steps)
    uses = {}
    for i, s in enumerate(steps):
        for st in (*s.reads, *s.writes):
            uses.setdefault(id(st.root), (st.root, []))[1].append(i)
    bufs = list(uses.values())
    for a in range(len(bufs)):
        for b in range(a + 1, len(bufs)):
            (ra, ua), (rb, ub) = bufs[a], bufs[b]
            oa, ob = sched.offsets[id(ra)], sched.offsets[id(rb)]
            na, nb = ra.phys_shape[0] * itemsize, rb.phys_shape[0] * itemsize
            if oa < ob + nb and ob < oa + na:  # they share bytes
                a_first = all(x in before[y] for x in ua for y in ub)
                b_first = all(y in before[x] for x in ua for y in ub)
                assert a_first or b_first, (ra.value.name, rb.value.name)


def test_inception_branches_take_separate_streams():
    x, b1, b2, c1, c2, y = (_buf(n, 64) for n in ("x", "b1", "b2", "c1", "c2", "y"))
    steps = [_step("in", [], [x]), _step("b1", [x], [b1]), _step("b2", [x], [b2]),
             _step("c1", [b1], [c1]), _step("c2", [b2], [c2]), _step("join", [c1, c2], [y])]
    one = schedule(steps, 4, max_streams=1)
    assert one.streams == 1 and not any(one.waits)
    two = schedule(steps, 4, max_streams=2)
    assert two.streams == 2
    assert two.stream[1] == two.stream[3] != two.stream[2] == two.stream[4]
    assert two.waits[5] and all(two.needs_event[d] for d in two.waits[5])
    _check_no_unordered_overlap(steps, two)
    # more buffers are live at once when branches overlap, never fewer
    assert two.arena_bytes >= one.arena_bytes


@pytest.mark.parametrize("streams", [1, 2, 4])
def test_random_dags_never_share_bytes_unordered(streams):
    rng = random.Random()
    for _ in range(30):
        n = rng.randint(3, 25)
        bufs = [_buf(f"v{i}", rng.choice([16, 64, 256, 1000])) for i in range(n)]
        steps = [_step("s0", [], [bufs[0]])]
        for i in range(1, n):
            reads = rng.sample(bufs[:i], rng.randint(1, min(3, i)))
            steps.append(_step(f"s{i}", reads, [bufs[i]]))
        sched = schedule(steps, 4, max_streams=streams)
        assert sched.arena_bytes <= sched.naive_bytes + 64 * n
        _check_no_unordered_overlap(steps, sched)
