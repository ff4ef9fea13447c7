"""CompositeExecutable: a graph cut into segments (partition.py), each compiled by its own
backend, run in order with the tensors passed between them as numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..ir import Graph
from .base import Executable


@dataclass
class Segment:
    backend: str
    graph: Graph          # the segment's own graph (its own Value objects)
    exe: Executable
    inputs: list[int]     # keys of the values it reads (ids of the whole graph's Values)
    outputs: list[int]    # keys of the values it writes that anything after it reads


class CompositeExecutable(Executable):
    def __init__(self, graph: Graph, segments: list[Segment]):
        self.graph, self.segments = graph, segments
        self._inputs = [(id(v), v.name, tuple(v.shape)) for v in graph.inputs]
        # (key, constant or None, whether it is a graph input that must be copied out)
        self._outputs = [(id(v), v.const, any(v is i for i in graph.inputs)) for v in graph.outputs]
        kernels = {}
        for s in segments:
            kernels.update({k: f"{s.backend}:{v}" for k, v in s.exe.report.get("kernels", {}).items()})
        self.report = {
            "backend": "+".join(dict.fromkeys(s.backend for s in segments)),
            "node_backends": {n.name: s.backend for s in segments for n in s.graph.nodes},
            "segments": [{"backend": s.backend, "nodes": [n.name for n in s.graph.nodes],
                          "report": s.exe.report} for s in segments],
            "kernels": kernels,
        }

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        if len(inputs) != len(self._inputs):
            raise InputError(f"expected {len(self._inputs)} input(s) "
                             f"({', '.join(n for _, n, _ in self._inputs)}), got {len(inputs)}")
        env = {}
        for (key, name, shape), a in zip(self._inputs, inputs):
            a = np.asarray(a)
            if a.shape != shape:
                raise InputError(f"input {name!r}: expected shape {shape}, got {a.shape}")
            env[key] = a
        for s in self.segments:
            env.update(zip(s.outputs, s.exe.run([env[k] for k in s.inputs])))
        return [np.array(const) if const is not None else np.array(env[key]) if copy else env[key]
                for key, const, copy in self._outputs]
