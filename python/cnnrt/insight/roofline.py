"""This machine's ceilings for the roofline: the sgemm rate and the copy bandwidth.

Both are measured by cnnrt's own engine, timing one step with its step timer (so neither the
Python call nor the output copy is counted): for arithmetic GEMMs run as 1x1 convs (the
engine's GEMM micro-kernels, which its convs use) of a few cache-friendly shapes, the fastest
counting (one shape alone understates: 1024^3 reached 108-133 GFLOP/s on 2 Zen 3 cores where
768x192x2304 reached 145-154 and the model's own im2col convs 134); for bandwidth a 64 MiB
`copy` step (bytes read + bytes written). Best of several runs after a warm-up: on a shared
machine the best is the closest to what the hardware can do. Measured once per (CPU model,
thread count, ISA) and kept in `roofline.json` in the cnnrt cache folder (`~/.cache/cnnrt` or
$CNNRT_CACHE); `remeasure=True` (`cnnrt profile --remeasure`) measures again, e.g. when the
first measurement ran on a busy machine.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from dataclasses import asdict, dataclass

import numpy as np

# (M out channels, K in channels, map side): 1.1-2.1 GFLOP each; the fastest is the peak
GEMM_SHAPES = ((1024, 1024, 32), (768, 192, 48), (1024, 256, 32))
COPY_FLOATS = 16 << 20   # 64 MiB each way
RUNS = 7


@dataclass(frozen=True)
class Roofline:
    gflops: float       # peak: the sgemm rate, GFLOP/s
    gbytes: float       # the copy bandwidth, GB/s (read + written)
    cpu: str
    num_threads: int
    isa: str

    def attainable(self, intensity: float) -> float:
        """GFLOP/s a kernel of this arithmetic intensity (FLOP/byte) can reach here."""
        return min(self.gflops, intensity * self.gbytes)

    @property
    def ridge(self) -> float:
        """The intensity (FLOP/byte) above which a kernel is compute-bound."""
        return self.gflops / self.gbytes


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_roofline(num_threads: int, isa: str = "auto", remeasure: bool = False) -> Roofline:
    """The cached ceilings for this CPU at this thread count (measured on first use, or again
    when remeasure)."""
    from ..cli import cache_dir

    threads = _engine_threads(num_threads)
    isa = _resolve_isa(isa)
    key = f"{cpu_model()} | {threads} threads | {isa}"
    path = cache_dir() / "roofline.json"
    cache = _read(path)
    if key in cache and not remeasure:
        return Roofline(**cache[key])
    r = measure(threads, isa)
    cache = _read(path)  # another process may have added entries meanwhile
    cache[key] = asdict(r)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".roofline")
        with os.fdopen(fd, "w") as f:
            json.dump(cache, f, indent=1)
        os.replace(tmp, path)  # readers never see half a file
    except OSError:  # a read-only cache: the measurement stands, it is just not kept
        pass
    return r


def measure(num_threads: int, isa: str) -> Roofline:
    gflops = 0.0
    for m, k, side in GEMM_SHAPES:
        gemm = _gemm_plan(m, k, side, num_threads, isa)
        x = np.random.default_rng(1).standard_normal((1, k, side, side)).astype(np.float32)
        gflops = max(gflops, 2.0 * m * k * side * side / _best_step_time(gemm, x, step=0) / 1e9)
    copy = _copy_plan(COPY_FLOATS, num_threads, isa)
    moved = 2.0 * 4 * COPY_FLOATS
    gbytes = moved / _best_step_time(copy, np.random.default_rng(2).standard_normal(
        COPY_FLOATS).astype(np.float32), step=0) / 1e9
    return Roofline(round(gflops, 2), round(gbytes, 2), cpu_model(), gemm.num_threads, gemm.isa)


def _best_step_time(plan, x: np.ndarray, step: int) -> float:
    plan.profiling = True
    plan.run([x])  # warm-up: page faults, packing, caches
    best = float("inf")
    for _ in range(RUNS):
        before = plan.step_times()[step]
        plan.run([x])
        best = min(best, plan.step_times()[step] - before)
    return best


def _gemm_plan(m: int, k: int, side: int, threads: int, isa: str):
    """An (m x k) x (k x side^2) GEMM: a 1x1 conv, k channels in, m out, on a side x side map."""
    from .. import _engine
    p = _engine.Plan()
    p.add_value(0, [1, k, side, side])
    p.add_constant(1, np.random.default_rng(0).standard_normal((m, k, 1, 1)).astype(np.float32))
    p.add_value(2, [1, m, side, side])
    p.add_step("conv", [0, 1, -1, -1], [2], {"strides": [1, 1], "pads": [0, 0, 0, 0],
                                              "dilations": [1, 1], "group": 1}, "roofline/sgemm")
    p.set_io([0], [2])
    p.compile(threads, isa)
    return p


def _copy_plan(n: int, threads: int, isa: str):
    from .. import _engine
    p = _engine.Plan()
    p.add_value(0, [n])
    p.add_value(1, [n])
    p.add_step("copy", [0], [1], {}, "roofline/copy")
    p.set_io([0], [1])
    p.compile(threads, isa)
    return p


def _engine_threads(num_threads: int) -> int:
    """The thread count the engine will use for `num_threads` (0: every core)."""
    return num_threads if num_threads > 0 else _gemm_plan(8, 8, 4, 0, "ref").num_threads


def _resolve_isa(isa: str) -> str:
    return isa if isa != "auto" else _gemm_plan(8, 8, 4, 1, "auto").isa


def _read(path) -> dict:
    try:
        with open(path) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}
