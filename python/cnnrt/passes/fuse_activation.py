"""Conv/Gemm + bias + activation fusion.

Stages:
  1. recognize composite activations written as several nodes:
     SiLU  x * sigmoid(x)            -> activation silu
     HardSwish  x * hard_sigmoid(x)  (alpha 1/6, beta 0.5) -> activation hard_swish
  2. an activation whose input is written by a conv/gemm with no activation yet, and read by
     nobody else, becomes that producer's `act`; the activation node is dropped and the
     producer writes its output.
Bias is already an input of conv/gemm, so "conv + bias + activation" is one node afterwards.
fuse_activation_into_binary does stage 2 for binary ops (the act runs on their result); the
pipeline runs it after residual fusion, which wants add + activation left apart.
"""

from __future__ import annotations

from ..ir import Graph, Node
from .util import single_reader


def _recognize(graph: Graph) -> None:
    prod, readers = graph.producers(), graph.consumers()
    dropped = set()
    for mul in graph.nodes:
        if mul.op != "binary" or mul.attrs.get("kind") != "mul" or mul.attrs.get("act", "none") != "none":
            continue
        for x, gate in (mul.inputs, mul.inputs[::-1]):
            g = prod.get(id(gate))
            if g is None or g.op != "activation" or g.inputs[0] is not x:
                continue
            if not single_reader(graph, readers, gate, mul):
                continue
            if g.attrs["act"] == "sigmoid":
                act = "silu"
            elif (g.attrs["act"] == "hard_sigmoid" and abs(g.attrs.get("alpha", 0) - 1 / 6) < 1e-6
                  and abs(g.attrs.get("beta", 0) - 0.5) < 1e-6):
                act = "hard_swish"
            else:
                continue
            mul.op, mul.inputs, mul.attrs = "activation", [x], {"act": act, "alpha": 0.0, "beta": 0.0}
            mul.origin = g.origin + mul.origin
            dropped.add(id(g))
            break
    graph.nodes = [n for n in graph.nodes if id(n) not in dropped]


def _fuse_into_producer(graph: Graph, producers: tuple[str, ...]) -> None:
    prod, readers = graph.producers(), graph.consumers()
    dropped = set()
    for n in graph.nodes:
        if n.op != "activation":
            continue
        p: Node | None = prod.get(id(n.inputs[0]))
        if (p is None or p.op not in producers or id(p) in dropped
                or p.attrs.get("act", "none") != "none" or p.input(3) is not None
                or not single_reader(graph, readers, p.outputs[0], n)):
            continue
        p.attrs.update(act=n.attrs["act"], alpha=n.attrs.get("alpha", 0.0), beta=n.attrs.get("beta", 0.0))
        p.outputs = [n.outputs[0]]
        p.origin += n.origin
        dropped.add(id(n))
    graph.nodes = [n for n in graph.nodes if id(n) not in dropped]


def fuse_activation(graph: Graph) -> Graph:
    _recognize(graph)
    _fuse_into_producer(graph, ("conv", "gemm"))
    return graph


def fuse_activation_into_binary(graph: Graph) -> Graph:
    _fuse_into_producer(graph, ("binary",))
    return graph
