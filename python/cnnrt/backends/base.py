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
    precision: str | None = None  # fp32 | fp16 | bf16; None: the backend's default
    extra: dict = field(default_factory=dict)  # backend-specific options (load(options=...))


class Executable:
    """A compiled graph: run() takes the graph inputs in order and returns the outputs in order."""

    #: facts for reports: kernel per node, arena bytes, ...
    report: dict
    #: the compiled graph (concrete shapes)
    graph: Graph

    def output_shapes(self) -> list[tuple[int, ...]]:
        graph = getattr(self, "graph", None)  # a plugin's executable may not keep one
        if graph is None:
            from ..errors import BackendError
            raise BackendError(f"{type(self).__name__} does not keep its graph, so its output "
                               "shapes are unknown: run() without out=")
        return [tuple(int(d) for d in v.shape) for v in graph.outputs]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError

    #: run_tensors(inputs: list of DLPack tensors) -> device tensors, on backends that run on a
    #: device (the GPU): Model.run sends tensors there instead of through host numpy arrays
    run_tensors = None

    def run_into(self, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> None:
        """Writes the outputs into the caller's arrays (checked by the caller: shapes, dtype).
        This default copies; a backend that can write in place overrides it."""
        for dst, src in zip(outputs, self.run(inputs)):
            np.copyto(dst, src)


class Backend:
    """A plugin: a name, the devices it serves, which nodes it supports, and compile()."""

    name: str = ""
    devices: tuple[str, ...] = ("cpu",)
    # True: compile() copies (packs) every weight it needs, so the graph's arrays may be let
    # go afterwards (Model releases them); False: the executable reads the graph's arrays.
    owns_weights: bool = False

    def available(self) -> bool:
        """Whether this backend can run on this machine at all (libraries, hardware)."""
        return True

    def why_unavailable(self) -> str | None:
        """When not available(): why, in words a user can act on."""
        return None if self.available() else f"backend {self.name!r} is not available here"

    def supports(self, node: Node) -> bool:
        raise NotImplementedError

    def compile(self, graph: Graph, options: CompileOptions) -> Executable:
        raise NotImplementedError


def check_fp32_only(backend: str, graph: Graph, options: CompileOptions) -> None:
    """Refuses what an fp32-only backend without options cannot honour, naming it."""
    from ..errors import BackendError
    if options.precision not in (None, "fp32"):
        raise BackendError(f"{graph.source}: the {backend} backend runs fp32 only, not "
                           f"precision={options.precision!r}")
    if options.extra:
        raise BackendError(f"{graph.source}: the {backend} backend takes no options "
                           f"(got {sorted(options.extra)})")
