"""Concat elimination: inception branches write straight into their slice of the concat output.

Stages:
  1. find channel concats (axis 1 of a 4-D NCHW tensor);
  2. check every input is written by a node that can write into a strided channel slice — a
     conv (it takes an output batch stride) or, with batch 1 where a channel slice is one
     dense block, any step that writes its output densely — and is read by nobody else, is
     not a graph input, output or constant, and appears only once in the concat;
  3. mark the concat `inplace=1`: the engine's memory planner then places each input as a
     view of the output, and the concat step itself copies nothing.
"""

from __future__ import annotations

from ..ir import Graph
from .util import single_reader

# Ops whose cpu kernels write a dense output (a reshape output aliases its input instead).
DENSE_WRITERS = {"conv", "gemm", "max_pool", "avg_pool", "global_avg_pool", "global_max_pool",
                 "activation", "binary", "batch_norm", "lrn", "softmax", "transpose", "pad"}


def eliminate_concat(graph: Graph) -> Graph:
    prod, readers = graph.producers(), graph.consumers()
    for n in graph.nodes:
        out = n.outputs[0]
        if n.op != "concat" or len(out.shape) != 4 or n.attrs.get("axis") % 4 != 1:
            continue
        ok = len({id(v) for v in n.inputs}) == len(n.inputs)
        for v in n.inputs:
            p = prod.get(id(v))
            writable = p is not None and (p.op == "conv" or (out.shape[0] == 1 and p.op in DENSE_WRITERS))
            ok = ok and writable and not v.is_const and single_reader(graph, readers, v, n)
        if ok:
            n.attrs["inplace"] = 1
    return graph
