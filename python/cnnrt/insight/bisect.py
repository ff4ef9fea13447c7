"""The first layer where cnnrt and onnxruntime part (see verify.py, stage 3).

A cnnrt value keeps the name of the ONNX value it holds, so the optimized graph's values that
onnxruntime also has and that feed the failing output are probed in execution order by binary
search; each probe exposes one value as an extra graph output on both sides (cnnrt compiles a
copy of its optimized graph with it kept as an output). It assumes an error, once there, stays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..accounting.report import describe_op
from .oracle import OrtOracle, rel_error


@dataclass
class Divergence:
    value: str                   # the first value that differs (an ONNX value name)
    step: str                    # the cnnrt step that writes it
    op: str                      # that step's op, as the accounting describes it
    origin: list[tuple[str, str]]  # (ONNX node, ONNX op) the step stands for
    rel: float                   # its relative error
    last_agreeing: str | None    # the value just before it that still agreed
    also_suspect: list[str] = field(default_factory=list)  # other steps between the two
    probes: int = 0


def first_divergence(m, ort: OrtOracle, feeds: dict, output: str, tol: float) -> Divergence:
    from ..passes import prepare

    arrays = [np.asarray(feeds[v.name], dtype=np.float32) for v in m.graph.inputs]
    shapes = {v.name: a.shape for v, a in zip(m.graph.inputs, arrays)}
    g = prepare(m._graph_with_weights(), shapes, optimize=m.optimize)
    prod = g.producers()
    target = g.outputs[m.outputs.index(output)]
    ancestors = _ancestors(g, target)
    order = [n for n in g.nodes if id(n) in ancestors]
    cands = [v for n in order for v in n.outputs
             if v.name in ort.values and v.dtype == "float32"]
    if not cands or cands[-1] is not target:
        cands.append(target)

    def error(v) -> float:
        probe = g.clone()  # compiling lets go of the graph's weights: each probe its own copy
        mine = next(x for x in probe.values() if x.name == v.name)
        probe.outputs = [*probe.outputs, mine]
        ours = m.backend.compile(probe, m.options).run(arrays)[-1]
        ref = ort.value(v.name, feeds)
        if np.shape(ours) != np.shape(ref):
            return float("inf")
        return rel_error(np.asarray(ours, np.float64), np.asarray(ref, np.float64))

    lo, hi, probes = 0, len(cands) - 1, 0
    hi_err = _rel_of_output(m, ort, feeds, output)
    while lo < hi:  # cands[hi] differs; cands[lo - 1], when lo > 0, was probed and agreed
        mid = (lo + hi) // 2
        err = error(cands[mid])
        probes += 1
        if err > tol:
            hi, hi_err = mid, err
        else:
            lo = mid + 1
    culprit = cands[hi]
    node = prod[id(culprit)]
    last_ok = cands[hi - 1] if hi > 0 else None
    between = []
    if last_ok is not None:
        start = order.index(prod[id(last_ok)])
        between = [n.name for n in order[start + 1:order.index(node)]]
    ops = dict(m.graph.source_nodes)
    return Divergence(culprit.name, node.name, describe_op(node),
                      [(o, ops.get(o, "?")) for o in node.origin], hi_err,
                      last_ok.name if last_ok is not None else None, between, probes)


def _rel_of_output(m, ort: OrtOracle, feeds: dict, output: str) -> float:
    ours = m.run(feeds)[output]
    ref = dict(zip(ort.output_names, ort.run(feeds)))[output]
    return rel_error(np.asarray(ours, np.float64), np.asarray(ref, np.float64))


def _ancestors(g, target) -> set[int]:
    """ids of the nodes `target` depends on (its producer included)."""
    prod = g.producers()
    seen: set[int] = set()
    stack = [target]
    while stack:
        n = prod.get(id(stack.pop()))
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        stack.extend(v for v in n.inputs if v is not None)
    return seen
