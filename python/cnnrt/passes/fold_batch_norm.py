"""BatchNorm folding into the producing conv (or gemm).

Stages:
  1. find batch_norm nodes whose input is written by a conv/gemm with constant weights, read by
     nobody else, with no activation or residual fused yet (BN must act on the raw conv output);
  2. s = scale / sqrt(var + eps); W' = W * s (per output channel); B' = (B - mean) * s + bias —
     computed in float64 into new arrays (the model's own weights are never modified);
  3. the conv writes the BN's output; the BN node is dropped.
A BN with no such producer stays, as its own per-channel affine step.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph
from .util import single_reader, const_f32


def fold_batch_norm(graph: Graph) -> Graph:
    prod, readers = graph.producers(), graph.consumers()
    dropped = set()
    for bn in graph.nodes:
        if bn.op != "batch_norm" or not all(v.is_const for v in bn.inputs[1:]):
            continue
        conv = prod.get(id(bn.inputs[0]))
        if (conv is None or conv.op not in ("conv", "gemm") or not conv.inputs[1].is_const
                or conv.attrs.get("act", "none") != "none" or conv.input(3) is not None
                or not single_reader(graph, readers, conv.outputs[0], bn)
                or (conv.input(2) is not None and not conv.inputs[2].is_const)):
            continue
        scale, bias, mean, var = (v.const.astype(np.float64).ravel() for v in bn.inputs[1:])
        s = scale / np.sqrt(var + float(bn.attrs.get("epsilon", 1e-5)))
        w = conv.inputs[1].const  # scaled in float32: one rounding, and no float64 copy of
        w = w * s.astype(w.dtype).reshape((-1,) + (1,) * (w.ndim - 1))  # every weight
        b = conv.inputs[2].const.astype(np.float64) if conv.input(2) is not None else 0.0
        b = (b - mean) * s + bias
        conv.inputs[1] = const_f32(conv.inputs[1].name + "_bnfold", w)
        new_b = const_f32(f"{conv.name}_bias_bnfold", b)
        conv.inputs = conv.inputs[:2] + [new_b] + conv.inputs[3:]
        conv.outputs = [bn.outputs[0]]
        conv.origin += bn.origin
        dropped.add(id(bn))
    graph.nodes = [n for n in graph.nodes if id(n) not in dropped]
    return graph



