"""Which ONNX nodes each step of an optimized graph stands for, and which have no step.

Every cnnrt node carries `origin`, the names of the ONNX nodes it was made from (fusion merges
them); `Graph.source_nodes` lists every ONNX node the frontend imported. An ONNX node in no
origin was folded into a constant (Shape chains, Constant), removed (Identity, Dropout) or
found dead.
"""

from __future__ import annotations

from ..ir import Graph


def coverage(optimized: Graph, source_nodes: list[tuple[str, str]]
             ) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """({ONNX node name: the optimized nodes carrying it}, [(name, op type) of those without one])."""
    steps: dict[str, list[str]] = {}
    for n in optimized.nodes:
        for name in n.origin:
            steps.setdefault(name, []).append(n.name)
    folded = [(name, op) for name, op in source_nodes if name not in steps]
    return steps, folded


def fusions(optimized: Graph, source_nodes: list[tuple[str, str]]
            ) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(node name, fused op as the accounting describes it, [(ONNX name, ONNX op), ...]) for
    each optimized node standing for several ONNX nodes."""
    from ..accounting.report import describe_op
    ops = dict(source_nodes)
    return [(n.name, describe_op(n), [(o, ops.get(o, "?")) for o in n.origin])
            for n in optimized.nodes if len(n.origin) > 1]
