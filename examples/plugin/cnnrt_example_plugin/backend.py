"""Im2colBackend: a backend plugin that runs what it knows itself and leaves the rest to cnnrt.

It supports 2-D convolutions (any padding, stride, dilation; groups; bias; a fused ReLU, no
residual) as im2col + one matmul per group in numpy, and com.example ChannelShuffle. For any
other node supports() says no, and cnnrt runs it on a fallback backend (cpu, then reference),
cutting the graph into segments: Model.compiled().report["placement"] says which ran where.
"""

from __future__ import annotations

import numpy as np

from cnnrt.backends.base import Backend, CompileOptions, Executable
from cnnrt.errors import UnsupportedOpError

SHUFFLE = "com.example::ChannelShuffle"


def _conv(node, x, w, b):
    a = node.attrs
    (sh, sw), (dh, dw), g = a.get("strides", [1, 1]), a.get("dilations", [1, 1]), a.get("group", 1)
    t, l, bo, r = a.get("pads", [0, 0, 0, 0])
    n, c, _, _ = x.shape
    m, cg, kh, kw = w.shape
    oh, ow = node.outputs[0].shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (t, bo), (l, r)))
    cols = np.empty((n, c, kh, kw, oh, ow), x.dtype)  # im2col: every window's pixels
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i * dh:i * dh + sh * oh:sh, j * dw:j * dw + sw * ow:sw]
    cols = cols.reshape(n, g, cg * kh * kw, oh * ow)
    wg = w.reshape(g, m // g, cg * kh * kw)
    y = np.einsum("gmk,ngkp->ngmp", wg, cols, optimize=True).reshape(n, m, oh, ow)
    if b is not None:
        y = y + b.reshape(1, m, 1, 1)
    return np.maximum(y, 0) if a.get("act", "none") == "relu" else y


def _shuffle(node, x):
    n, c, h, w = x.shape
    g = node.attrs["groups"]
    return x.reshape(n, g, c // g, h, w).transpose(0, 2, 1, 3, 4).reshape(n, c, h, w)


class Im2colExecutable(Executable):
    def __init__(self, graph):
        self.graph = graph
        self.report = {"backend": "im2col",
                       "kernels": {n.name: f"im2col_{n.op}" for n in graph.nodes}}

    def run(self, inputs):
        env = {id(v): np.asarray(a, np.float32) for v, a in zip(self.graph.inputs, inputs)}
        get = lambda v: None if v is None else v.const if v.is_const else env[id(v)]
        for n in self.graph.nodes:
            x, w, b = ([get(v) for v in n.inputs] + [None, None])[:3]  # absent: no weight, bias
            y = _conv(n, x, w, b) if n.op == "conv" else _shuffle(n, x)
            env[id(n.outputs[0])] = y.astype(np.float32)
        return [np.array(get(v)) for v in self.graph.outputs]


class Im2colBackend(Backend):
    name = "im2col"
    devices = ("cpu",)

    def supports(self, node) -> bool:
        if node.op == SHUFFLE:
            return True
        return (node.op == "conv" and node.inputs[1].is_const and node.input(3) is None
                and len(node.inputs[0].shape) == 4
                and node.attrs.get("act", "none") in ("none", "relu"))

    def compile(self, graph, options: CompileOptions) -> Executable:
        for n in graph.nodes:
            if not self.supports(n):
                raise UnsupportedOpError(f"{graph.source}: node {n.name!r} (op {n.op}) is not "
                                         "supported by the im2col backend")
        return Im2colExecutable(graph)
