"""Measured time per layer of the optimized graph, against this machine's roofline.

A layer is one node of the optimized graph the cpu backend runs (one engine step; two more for
a legacy 2-D softmax). Its time comes from the engine's per-step timers, switched on for the
profiled runs only; its FLOPs and bytes from the op schema's cost (`ir.ops.node_cost`, as the
accounting reads them); its ONNX nodes from `Node.origin`. Per layer: the median over the runs,
after a warm-up; the end-to-end time of each run (`Executable.run`, Python included) is kept
next to the sum of its steps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..accounting.report import describe_op, human
from ..errors import BackendError
from ..ir.ops import node_cost
from .origins import coverage
from .roofline import Roofline, machine_roofline


@dataclass
class LayerProfile:
    name: str
    op: str                 # the fused op, described as the accounting table does
    kernel: str             # the engine kernel ("" when the engine eliminated the step)
    origin: list[str]       # the ONNX nodes this layer stands for
    flops: int
    bytes: int              # read + written, from the op schema's cost
    times: list[float]      # seconds, one per profiled run
    roofline: Roofline

    @property
    def time(self) -> float:
        """Median seconds per run."""
        return float(np.median(self.times))

    @property
    def intensity(self) -> float:
        """FLOPs per byte moved."""
        return self.flops / self.bytes if self.bytes else 0.0

    @property
    def gflops(self) -> float:
        return self.flops / self.time / 1e9 if self.time > 0 else 0.0

    @property
    def gbytes(self) -> float:
        return self.bytes / self.time / 1e9 if self.time > 0 else 0.0

    @property
    def attainable(self) -> float:
        """GFLOP/s the roofline allows at this intensity."""
        return self.roofline.attainable(self.intensity)

    @property
    def efficiency(self) -> float | None:
        """Achieved / attainable: GFLOP/s against the roofline, or, for a layer without
        arithmetic (data movement), bandwidth against the copy bandwidth. None: not timed."""
        if self.time <= 0:
            return None
        if self.flops:
            return self.gflops / self.attainable
        return self.gbytes / self.roofline.gbytes


@dataclass
class Profile:
    source: str
    shapes: dict
    layers: list[LayerProfile]   # in execution order
    run_times: list[float]       # end-to-end seconds per profiled run
    roofline: Roofline
    folded: list[tuple[str, str]] = field(default_factory=list)  # ONNX nodes with no step
    runs: list[dict] = field(default_factory=list)  # per run: start, end_to_end, step seconds
    step_layer: list[int] = field(default_factory=list)   # per engine step: its layer's index
    step_kernels: list[str] = field(default_factory=list)  # per engine step ("": eliminated)

    @property
    def total(self) -> float:
        """Median end-to-end seconds per run."""
        return float(np.median(self.run_times))

    @property
    def layer_sum(self) -> float:
        """Sum of the layers' median times."""
        return sum(layer.time for layer in self.layers)

    def top(self, n: int | None = None) -> list[LayerProfile]:
        return sorted(self.layers, key=lambda layer: -layer.time)[:n]

    def table(self, top: int | None = 20) -> str:
        rows = self.top(top)
        total = self.total
        name_w = min(max([len(layer.name) for layer in rows] + [5]), 32)
        op_w = min(max([len(layer.op) for layer in rows] + [2]), 24)
        head = (f"{'layer':<{name_w}}  {'op':<{op_w}} {'ms':>8} {'%':>5} {'GFLOP/s':>8} {'moved':>8} "
                f"{'FLOP/B':>7} {'roof':>6} {'eff.':>5}  ONNX nodes")
        r = self.roofline
        lines = [f"{Path(self.source).name}: {len(self.layers)} layers, inputs {self.shapes}, "
                 f"{len(self.run_times)} runs (medians), {r.isa}, {r.num_threads} threads",
                 head, "-" * len(head)]
        for layer in rows:
            eff = layer.efficiency
            lines.append(
                f"{layer.name[:name_w]:<{name_w}}  {layer.op[:op_w]:<{op_w}} {layer.time * 1e3:>8.3f} "
                f"{100 * layer.time / total:>5.1f} {layer.gflops:>8.2f} {human(layer.bytes) + 'B':>8} "
                f"{layer.intensity:>7.2f} {layer.attainable:>6.1f} "
                f"{(f'{100 * eff:.0f}%' if eff is not None else '-'):>5}  {_origins(layer.origin)}")
        lines.append("-" * len(head))
        flops = sum(layer.flops for layer in self.layers)
        lines += [
            f"end to end {total * 1e3:.3f} ms median; layers sum to {self.layer_sum * 1e3:.3f} ms "
            f"({100 * self.layer_sum / total:.1f}%; the rest is the call itself: input checks, "
            f"output copies)",
            f"{flops / 1e9:.3f} GFLOP per run: {flops / total / 1e9:.2f} GFLOP/s end to end",
            f"roofline ({r.cpu}, {r.num_threads} threads, {r.isa}): sgemm {r.gflops:.1f} GFLOP/s, "
            f"copy {r.gbytes:.1f} GB/s, ridge at {r.ridge:.1f} FLOP/B; roof = min(peak, FLOP/B x "
            f"bandwidth), eff. = achieved / roof (bandwidth / copy bandwidth without FLOPs)"]
        if self.stale_roof():
            lines.append(f"layers computing the direct algorithm reach {self.stale_roof():.0f}% of "
                         "the cached sgemm peak: it was measured while the machine was busier "
                         "(`cnnrt profile --remeasure`, `profile(remeasure=True)` measures again)")
        if any("winograd" in layer.kernel for layer in self.layers):
            lines.append("FLOPs are the direct algorithm's (as the accounting counts them): a "
                         "Winograd conv does fewer, so its GFLOP/s and eff. can pass the roof")
        if self.folded:
            lines.append(f"ONNX nodes with no step of their own (folded or removed): "
                         f"{_origins([n for n, _ in self.folded], 12)}")
        return "\n".join(lines)

    def stale_roof(self) -> float | None:
        """When a layer that does all its counted FLOPs (not Winograd) beats the cached peak by
        more than 10%, that peak was measured on a busy machine: the best such rate, in % of it."""
        best = max((layer.gflops for layer in self.layers
                    if layer.flops and "winograd" not in layer.kernel), default=0.0)
        return 100 * best / self.roofline.gflops if best > 1.1 * self.roofline.gflops else None

    def to_dict(self) -> dict:
        """Everything, as plain Python data (JSON-serializable)."""
        return {
            "source": self.source, "shapes": {k: list(v) for k, v in self.shapes.items()},
            "run_times": self.run_times, "total": self.total, "layer_sum": self.layer_sum,
            "roofline": {"gflops": self.roofline.gflops, "gbytes": self.roofline.gbytes,
                         "cpu": self.roofline.cpu, "num_threads": self.roofline.num_threads,
                         "isa": self.roofline.isa},
            "folded": [list(f) for f in self.folded],
            "layers": [{"name": layer.name, "op": layer.op, "kernel": layer.kernel, "origin": layer.origin,
                        "time": layer.time, "times": layer.times, "flops": layer.flops, "bytes": layer.bytes,
                        "intensity": layer.intensity, "gflops": layer.gflops, "attainable": layer.attainable,
                        "efficiency": layer.efficiency} for layer in self.layers],
        }

    def chrome_trace(self, path) -> None:
        from .trace import write_chrome_trace
        write_chrome_trace(self, path)

    def roofline_plot(self, path) -> None:
        from .plot import plot_roofline
        plot_roofline(self, path)

    def __str__(self) -> str:
        return self.table()

    __repr__ = __str__


def _origins(names: list[str], limit: int = 4) -> str:
    more = f" +{len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def profile(model, runs: int = 10, warmup: int = 2, shapes: dict | None = None,
            seed: int = 0, remeasure: bool = False) -> Profile:
    """Profiles `model` (a cnnrt.Model on the cpu backend) on random inputs of `shapes`
    (default: its declared shapes, symbolic dims as 1). Runs made meanwhile from other threads
    would be counted in the step times: profile a model nobody else is running."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, not {runs}")
    exe = model.compiled(shapes)
    plan = getattr(exe, "plan", None)
    if not hasattr(exe, "step_nodes") or not hasattr(plan, "profiling"):
        raise BackendError(f"{model.graph.source}: profile() needs the cpu backend's per-step "
                           f"timers; backend {model.backend.name!r} has none")
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal(v.shape).astype(v.dtype) for v in exe.graph.inputs]
    roof = machine_roofline(plan.num_threads, plan.isa, remeasure=remeasure)
    starts, run_times, steps = _timed_runs(exe, inputs, runs, warmup)
    layers, step_layer = _layers(exe, steps, roof)
    _, folded = coverage(exe.graph, model.graph.source_nodes)
    per_run = [{"start": st, "end_to_end": rt, "steps": [float(d) for d in row]}
               for st, rt, row in zip(starts, run_times, steps)]
    return Profile(model.graph.source, {v.name: tuple(v.shape) for v in exe.graph.inputs},
                   layers, run_times, roof, folded, per_run, step_layer, list(plan.step_kernels()))


def _timed_runs(exe, inputs, runs: int, warmup: int):
    """(start of each run, its end-to-end seconds, (runs, steps) array of step seconds), the
    step timers on for these runs only."""
    plan = exe.plan
    was_on = plan.profiling
    plan.profiling = True
    try:
        for _ in range(warmup):
            exe.run(inputs)
        starts, run_times, steps = [], [], []
        t_start = time.perf_counter()
        for _ in range(runs):
            before = np.array(plan.step_times())
            t0 = time.perf_counter()
            exe.run(inputs)
            run_times.append(time.perf_counter() - t0)
            starts.append(t0 - t_start)
            steps.append(np.array(plan.step_times()) - before)
    finally:
        plan.profiling = was_on
    return starts, run_times, np.stack(steps)


def _layers(exe, steps: np.ndarray, roof: Roofline) -> tuple[list[LayerProfile], list[int]]:
    """One LayerProfile per graph node, its steps' times summed; and each step's layer index."""
    kernels = exe.plan.step_kernels()
    layers, index = [], {}
    for s, node in enumerate(exe.step_nodes):
        if id(node) not in index:
            cost = node_cost(node)
            index[id(node)] = len(layers)
            layers.append(LayerProfile(node.name, describe_op(node), "", list(node.origin),
                                       cost.flops, cost.bytes_read + cost.bytes_written,
                                       [0.0] * len(steps), roof))
        layer = layers[index[id(node)]]
        layer.times = [t + float(d) for t, d in zip(layer.times, steps[:, s])]
        if kernels[s]:
            layer.kernel = "+".join(filter(None, [layer.kernel, kernels[s]]))
    return layers, [index[id(n)] for n in exe.step_nodes]
