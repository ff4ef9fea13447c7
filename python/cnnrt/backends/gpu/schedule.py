"""Streams and memory for a step list.

1. dependencies: a step depends on the steps that wrote what it reads (a concat output is
   written by every branch that fills a slice of it);
2. streams: a step continues the stream of a producer that it is the next step of, else takes a
   stream whose work all happens before it, else a new one (up to max_streams), so independent
   inception branches run side by side; cross-stream dependencies become event waits;
3. memory: two buffers may share bytes only if every use of one happens before the first use of
   the other. With one stream that is plain lifetime-interval disjointness; with several, a
   buffer stays reserved until the step from which its last use is known to be finished (the
   "done before" horizon), so a branch on another stream never overwrites it early. The intervals
   are packed by the engine's own planner (_engine.pack_buffers: best fit, 64-byte aligned).
"""

from __future__ import annotations

from dataclasses import dataclass

from .layout import Storage
from .lowering import Step


@dataclass
class Schedule:
    stream: list[int]              # per step
    waits: list[list[int]]         # per step: steps on other streams to wait for
    needs_event: list[bool]        # per step: someone on another stream waits for it
    streams: int
    offsets: dict[int, int]        # id(root storage) -> byte offset in the arena
    arena_bytes: int
    naive_bytes: int


def nbytes(st: Storage, itemsize: int) -> int:
    n = 1
    for d in st.phys_shape:
        n *= int(d)
    return n * itemsize


def schedule(steps: list[Step], itemsize: int, max_streams: int = 1) -> Schedule:
    from ..cpu import _engine

    n = len(steps)
    writers: dict[int, list[int]] = {}
    for i, s in enumerate(steps):
        for w in s.writes:
            writers.setdefault(id(w.root), []).append(i)
    deps = [sorted({j for r in s.reads for j in writers.get(id(r.root), []) if j < i})
            for i, s in enumerate(steps)]

    # 2. streams; hb[i]: bitmask of the steps that happen before step i
    stream, hb, last_on = [0] * n, [0] * n, [-1] * max_streams
    waits, needs_event = [[] for _ in range(n)], [False] * n
    for i in range(n):
        anc = 0
        for d in deps[i]:
            anc |= hb[d] | (1 << d)
        cont = [stream[d] for d in deps[i] if last_on[stream[d]] == d]
        free = [t for t in range(max_streams) if last_on[t] < 0 or (anc >> last_on[t]) & 1]
        t = cont[0] if cont else free[0] if free else stream[deps[i][0]] if deps[i] else 0
        if last_on[t] >= 0:
            anc |= hb[last_on[t]] | (1 << last_on[t])
        stream[i], hb[i], last_on[t] = t, anc, i
        for d in deps[i]:
            if stream[d] != t:
                waits[i].append(d)
                needs_event[d] = True
    used = len({t for t in stream}) if n else 1

    # 3. memory: done[i] = the longest prefix of steps all finished before step i starts
    done = []
    for i in range(n):
        m = ~hb[i]
        done.append(((m & -m).bit_length() - 2) if m else i - 1)
    horizon = done[:]  # suffix minimum: monotone, so "first step after which x is free" is exact
    for i in range(n - 2, -1, -1):
        horizon[i] = min(horizon[i], horizon[i + 1])

    first: dict[int, int] = {}
    last: dict[int, int] = {}
    roots: dict[int, Storage] = {}
    for i, s in enumerate(steps):
        for st in (*s.reads, *s.writes):
            r = st.root
            roots[id(r)] = r
            first[id(r)] = min(first.get(id(r), i), i)
            last[id(r)] = max(last.get(id(r), i), i)
    keys = list(roots)
    ends = []
    for k in keys:
        e = last[k]
        while e + 1 < n and horizon[e + 1] < last[k]:
            e += 1  # still possibly in use by an unordered step on another stream
        ends.append(e)
    sizes = [nbytes(roots[k], itemsize) for k in keys]
    offs, arena = _engine().pack_buffers(sizes, [first[k] for k in keys], ends)
    return Schedule(stream, waits, needs_event, used, dict(zip(keys, offs)), arena, sum(sizes))
