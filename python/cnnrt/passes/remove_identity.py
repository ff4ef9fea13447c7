"""Dropout/Identity removal.

Stages:
  1. find identity, dropout (inference: a no-op) and casts to the dtype the value already has;
  2. make their readers read the input directly, unless the output is a graph output whose
     input is a graph input or another graph output (the copy is then the point);
  3. drop them.
"""

from __future__ import annotations

from ..ir import Graph


def _noop(n) -> bool:
    if n.op in ("identity", "dropout"):
        return True
    return n.op == "cast" and n.inputs[0] is not None and n.inputs[0].dtype == n.outputs[0].dtype


def remove_identity(graph: Graph) -> Graph:
    kept = []
    for n in graph.nodes:
        src, dst = n.inputs[0] if n.inputs else None, n.outputs[0]
        if not _noop(n) or src is None:
            kept.append(n)
            continue
        if graph.is_output(dst) and (src in graph.inputs or graph.is_output(src) or src.is_const):
            kept.append(n)
            continue
        if graph.is_output(dst):
            # keep the graph output's name: the producer of src now writes dst
            for m in kept:
                m.outputs = [dst if v is src else v for v in m.outputs]
            graph.replace_uses(src, dst)
        else:
            graph.replace_uses(dst, src)
    graph.nodes = kept
    return graph
