"""The `triton` backend: device="cuda", cnnrt's Triton kernels scheduled by GpuExecutable."""

from __future__ import annotations

from ...ir import Graph, Node
from ..base import Backend, CompileOptions
from . import runtime
from .lowering import unsupported_reason

OPTIONS = {"streams": 4, "cuda_graph": True, "autotune": None, "matmul_precision": "ieee"}


class TritonBackend(Backend):
    name = "triton"
    devices = ("cuda",)
    default_precision = "fp16"

    def available(self) -> bool:
        return runtime.why_unavailable() is None

    def why_unavailable(self) -> str | None:
        return runtime.why_unavailable()

    def supports(self, node: Node) -> bool:
        return unsupported_reason(node) is None

    def compile(self, graph: Graph, options: CompileOptions):
        from .executor import GpuExecutable
        extra = dict(options.extra)
        unknown = set(extra) - set(OPTIONS)
        if unknown:
            from ...errors import BackendError
            raise BackendError(f"unknown triton backend option(s) {sorted(unknown)}; "
                               f"known: {sorted(OPTIONS)}")
        opts = {**OPTIONS, **extra}
        return GpuExecutable(graph, precision=options.precision or self.default_precision, **opts)
