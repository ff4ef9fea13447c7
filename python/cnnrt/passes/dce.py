"""Dead-code elimination.

Stages:
  1. mark the graph outputs live;
  2. walk nodes backwards: a node with a live output is live and marks its inputs live;
  3. drop the rest.
"""

from __future__ import annotations

from ..ir import Graph


def eliminate_dead_code(graph: Graph) -> Graph:
    live = {id(v) for v in graph.outputs}
    kept = []
    for n in reversed(graph.nodes):
        if any(id(v) in live for v in n.outputs):
            kept.append(n)
            live.update(id(v) for v in n.inputs if v is not None)
    graph.nodes = kept[::-1]
    return graph
