"""The backend plugin interface.

A backend turns an optimized graph with concrete shapes into an Executable. Built-in backends
(`cpu`, `reference`) register through the same registry third-party ones use (see registry.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ir import Graph, Node


@dataclass
class CompileOptions:
    num_threads: int = 0        # 0: all cores
    isa: str = "auto"           # cpu backend: auto | avx512 | avx2 | portable | ref
    extra: dict = field(default_factory=dict)


class Executable:
    """A compiled graph: run() takes the graph inputs in order and returns the outputs in order."""

    #: facts for reports: kernel per node, arena bytes, ...
    report: dict

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError


class Backend:
    """A plugin: a name, the devices it serves, which nodes it supports, and compile()."""

    name: str = ""
    devices: tuple[str, ...] = ("cpu",)

    def available(self) -> bool:
        """Whether this backend can run on this machine at all (libraries, hardware)."""
        return True

    def supports(self, node: Node) -> bool:
        raise NotImplementedError

    def compile(self, graph: Graph, options: CompileOptions) -> Executable:
        raise NotImplementedError
