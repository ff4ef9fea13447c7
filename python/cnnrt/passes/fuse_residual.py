"""Residual Add (+ the activation after it) fused into the producing conv's epilogue.

Stages:
  1. find binary add nodes (no act) whose two inputs have the output's shape (no broadcasting);
  2. of the operands written by a conv/gemm that is read only by this add and has no residual
     yet, pick the one computed last, so the other operand is ready when it runs;
  3. that conv takes the other operand as its residual input R: y = act(conv + b) + R;
  4. if the add's result is read only by an activation, that becomes the conv's post_act.
"""

from __future__ import annotations

from ..ir import Graph
from .util import single_reader


def fuse_residual(graph: Graph) -> Graph:
    order = {id(n): i for i, n in enumerate(graph.nodes)}
    dropped = set()
    prod, readers = graph.producers(), graph.consumers()
    for add in graph.nodes:
        if (add.op != "binary" or add.attrs.get("kind") != "add" or add.attrs.get("act", "none") != "none"
                or any(v.is_const or v.shape != add.outputs[0].shape for v in add.inputs)
                or add.inputs[0] is add.inputs[1]):
            continue
        candidates = []
        for i, v in enumerate(add.inputs):
            p = prod.get(id(v))
            if (p is not None and p.op in ("conv", "gemm") and p.input(3) is None and id(p) not in dropped
                    and single_reader(graph, readers, v, add)):
                candidates.append((order[id(p)], p, add.inputs[1 - i]))
        if not candidates:
            continue
        _, conv, other = max(candidates, key=lambda c: c[0])
        while len(conv.inputs) < 3:
            conv.inputs.append(None)
        conv.inputs = conv.inputs[:3] + [other]
        conv.outputs = [add.outputs[0]]
        conv.origin += add.origin
        dropped.add(id(add))
        act_readers = readers.get(id(add.outputs[0]), [])
        if len(act_readers) == 1 and act_readers[0].op == "activation" and single_reader(
                graph, readers, add.outputs[0], act_readers[0]):
            a = act_readers[0]
            conv.attrs.update(post_act=a.attrs["act"], post_alpha=a.attrs.get("alpha", 0.0),
                              post_beta=a.attrs.get("beta", 0.0))
            conv.outputs = [a.outputs[0]]
            conv.origin += a.origin
            dropped.add(id(a))
    graph.nodes = [n for n in graph.nodes if id(n) not in dropped]
    graph.toposort()
    return graph
