"""Shape inference with constant folding.

Stages:
  1. bind the graph inputs' symbolic dims (e.g. the batch "N") to the given concrete shapes;
  2. walk the nodes in topological order: a node whose inputs are all constants is evaluated
     with the reference kernels and replaced by its constant outputs (this is what turns
     PyTorch's Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains into plain constants);
     any other node gets its output shapes and dtypes from its op schema.
Folding is interleaved with inference because static inputs (reshape's target shape, slice
bounds, ...) must be constants before their consumer's shape can be inferred.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, ShapeError
from ..ir import Graph
from ..ir.ops import infer_node, is_concrete

# Folding a node whose output would be huge trades a little compute for a lot of memory.
FOLD_LIMIT_ELEMENTS = 1 << 24


def bind_inputs(graph: Graph, shapes: dict[str, tuple] | None) -> None:
    """Gives every graph input a concrete shape: `shapes[name]` if given, else its own shape
    with symbolic dims set to 1."""
    shapes = shapes or {}
    for v in graph.inputs:
        want = shapes.get(v.name)
        declared = v.shape
        if want is None:
            if declared is None:
                raise InputError(f"{graph.source}: input {v.name!r} has no declared shape; give one")
            v.shape = tuple(d if isinstance(d, (int, np.integer)) else 1 for d in declared)
            continue
        want = tuple(int(d) for d in want)
        if declared is not None:
            ok = len(declared) == len(want) and all(
                not isinstance(d, (int, np.integer)) or d == w for d, w in zip(declared, want))
            if not ok:
                raise InputError(f"{graph.source}: input {v.name!r} expects shape {tuple(declared)}, "
                                 f"got {want}")
        v.shape = want


def infer_shapes(graph: Graph, input_shapes: dict[str, tuple] | None = None) -> Graph:
    from ..backends.reference import evaluate, kernel_for  # the reference kernels fold

    bind_inputs(graph, input_shapes)
    graph.toposort()
    kept = []
    for n in graph.nodes:
        try:
            if n.op == "shape":  # needs only the input's (now concrete) shape, not its data
                infer_node(n)
                start, end = n.attrs.get("start", 0), n.attrs.get("end")
                arr = np.array(n.inputs[0].shape[start:end], dtype=np.int64)
                arr.setflags(write=False)
                n.outputs[0].const = arr
                continue
            if n.inputs and all(v is None or v.is_const for v in n.inputs) and kernel_for(n.op):
                infer_node(n)
                if all(v.size <= FOLD_LIMIT_ELEMENTS for v in n.outputs):
                    outs = evaluate(n, [v.const if v is not None else None for v in n.inputs])
                    for v, arr in zip(n.outputs, outs):
                        arr = np.asarray(arr, dtype=v.dtype)
                        arr.setflags(write=False)
                        v.const, v.shape = arr, tuple(arr.shape)
                    continue
            infer_node(n)
        except ShapeError as e:
            raise ShapeError(f"{graph.source}: {e}") from None
        for v in n.outputs:
            if not is_concrete(v.shape):
                raise ShapeError(f"{graph.source}: node {n.name!r} ({n.op}): could not infer "
                                 f"the shape of {v.name!r}")
        kept.append(n)
    graph.nodes = kept
    return graph
