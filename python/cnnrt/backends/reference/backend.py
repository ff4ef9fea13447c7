"""ReferenceBackend: runs a graph node by node with the numpy kernels (slow; the oracle)."""

from __future__ import annotations

import numpy as np

from ...errors import InputError, PluginError, UnsupportedOpError
from ...ir import Graph, Node
from ..base import Backend, CompileOptions, Executable, check_fp32_only
from . import evaluate, kernel_for


class ReferenceExecutable(Executable):
    def __init__(self, graph: Graph):
        self.graph = graph
        self.report = {"backend": "reference",
                       "kernels": {n.name: f"numpy_{n.op}" for n in graph.nodes}}

    def _check(self, v, arr) -> np.ndarray:
        arr = np.asarray(arr)
        if v.shape is not None:
            ok = arr.ndim == len(v.shape) and all(isinstance(d, str) or d == s
                                                  for d, s in zip(v.shape, arr.shape))
            if not ok:
                raise InputError(f"input {v.name!r}: expected shape {tuple(v.shape)}, got {arr.shape}")
        if str(arr.dtype) != v.dtype:
            raise InputError(f"input {v.name!r}: expected dtype {v.dtype}, got {arr.dtype}")
        return arr

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        g = self.graph
        if len(inputs) != len(g.inputs):
            raise InputError(f"{g.source}: expected {len(g.inputs)} input(s) "
                             f"({', '.join(v.name for v in g.inputs)}), got {len(inputs)}")
        env = {id(v): self._check(v, a) for v, a in zip(g.inputs, inputs)}

        def get(v):
            return None if v is None else (v.const if v.const is not None else env[id(v)])

        for n in g.nodes:
            try:
                outs = evaluate(n, [get(v) for v in n.inputs])
            except PluginError as e:  # a custom op's kernel failed: name the model too
                raise PluginError(f"{g.source}: {e}") from e.__cause__
            for v, out in zip(n.outputs, outs):
                env[id(v)] = out
        # copies: outputs never alias inputs, constants or each other
        return [np.array(get(v)) for v in g.outputs]


class ReferenceBackend(Backend):
    name = "reference"
    devices = ("cpu",)

    def supports(self, node: Node) -> bool:
        return kernel_for(node.op) is not None

    def compile(self, graph: Graph, options: CompileOptions | None = None) -> Executable:
        check_fp32_only("reference", graph, options or CompileOptions())
        for n in graph.nodes:
            if not self.supports(n):
                raise UnsupportedOpError(f"{graph.source}: node {n.name!r} uses op {n.op}, which "
                                         f"the reference backend has no kernel for")
        return ReferenceExecutable(graph)
