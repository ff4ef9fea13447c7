"""`cnnrt bench`: cnnrt against its peers on one model, in one process, as ratios.

1. memory: each runtime loads the model and runs it three times in a fresh process of its own
   (so no runtime reuses memory another freed); its peak memory is that process's peak RSS
   (VmHWM), imports included;
2. load: in this process each runtime loads the model, and its outputs are compared with cnnrt's;
3. time: rounds of blocks of runs alternate between the runtimes, so machine noise hits all of
   them alike; a block's first run is discarded (a peer's idle workers may still hold a core).
   Latency is the median (and min) over all kept runs; throughput = batch / median.

Peers: onnxruntime (graph optimizations ALL, the same thread count, spin-waiting off: with it
on, its idle workers take the core cnnrt's next run needs) and OpenVINO (LATENCY hint, the same
thread count, INFERENCE_PRECISION_HINT f32 for fp32, its default otherwise), where installed.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import BackendError

BLOCK = 5


@dataclass
class Runner:
    name: str
    run: Callable[[], list]       # one inference on the fixed input; returns the outputs
    load_s: float
    peak_rss_mb: float | None
    detail: str = ""
    times: list[float] = field(default_factory=list)


def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _measured(name: str, load: Callable[[], Callable[[], list]], detail: str = "") -> Runner:
    t0 = time.perf_counter()
    run = load()
    load_s = time.perf_counter() - t0
    for _ in range(3):
        run()
    return Runner(name, run, load_s, None, detail)


def _child_peak(name, path, feed, threads, precision, out):
    """In a fresh process: load with runtime `name`, run 3 times, report VmHWM (MB). The feed
    comes from the parent: building it here would parse the whole model once more and count
    that parse (2x the file) against the runtime."""
    try:
        {"cnnrt": _cnnrt, **PEERS}[name](path, feed, threads, precision)
        hwm = _status_kb("VmHWM")
        out.put(hwm / 1024 if hwm is not None else None)
    except Exception as e:  # noqa: BLE001 - reported as "n/a" by the parent
        out.put(f"{type(e).__name__}: {e}")


def _peak_rss_mb(name, path, feed, threads, precision) -> float | None:
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child_peak, args=(name, path, feed, threads, precision, q))
    p.start()
    try:
        res = q.get(timeout=1800)
    finally:
        p.join()
    return res if isinstance(res, float) else None


def _cnnrt(path, feed, threads, precision):
    import cnnrt

    reports = []

    def load():
        m = cnnrt.load(path, num_threads=threads, precision=precision)
        exe = m.compiled({k: v.shape for k, v in feed.items()})
        reports.append(exe.report)
        arrays = [feed[v.name] for v in m.graph.inputs]
        return lambda: exe.run(arrays)
    r = _measured("cnnrt", load)
    rep = reports[0]
    r.detail = f"{cnnrt.__version__}, {rep.get('isa')} {rep.get('num_threads')} threads, {precision}"
    return r


def _onnxruntime(path, feed, threads, precision):
    try:
        import onnxruntime as ort
    except ImportError:
        raise BackendError("--vs onnxruntime: onnxruntime is not installed "
                           "(pip install onnxruntime)") from None

    def load():
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        return lambda: sess.run(None, feed)
    return _measured("onnxruntime", load, f"{ort.__version__}, fp32")


def _openvino(path, feed, threads, precision):
    try:
        import openvino as ov
    except ImportError:
        raise BackendError("--vs openvino: openvino is not installed (pip install openvino)") from None

    def load():
        core = ov.Core()
        cfg = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads}
        if precision == "fp32":
            cfg["INFERENCE_PRECISION_HINT"] = "f32"
        compiled = core.compile_model(path, "CPU", cfg)
        req = compiled.create_infer_request()

        def run():
            res = req.infer(feed)
            return [res[o] for o in compiled.outputs]
        return run
    hint = "f32" if precision == "fp32" else "its default (bf16 where the CPU has it)"
    return _measured("openvino", load, f"{ov.__version__}, {hint}")


PEERS = {"onnxruntime": _onnxruntime, "openvino": _openvino}


def _feed(path: str, batch: int) -> dict:
    """Fresh random inputs for the model's graph inputs, batch `batch` (symbolic dims: 1)."""
    import onnx

    model = onnx.load(path, load_external_data=False)
    init = {i.name for i in model.graph.initializer}
    rng = np.random.default_rng()
    feed = {}
    for i in model.graph.input:
        if i.name in init:
            continue
        dims = [d.dim_value if d.dim_value > 0 else 1 for d in i.type.tensor_type.shape.dim]
        dims[0] = batch
        feed[i.name] = rng.standard_normal(dims).astype(np.float32)
    return feed


def bench(path: str, batch: int = 1, threads: int = 0, precision: str = "fp32",
          vs: tuple[str, ...] = ("onnxruntime",), rounds: int = 10) -> dict:
    """Measures cnnrt and each peer in `vs` on `path` (an ONNX file); see the module docstring."""
    unknown = [p for p in vs if p not in PEERS]
    if unknown:
        raise ValueError(f"unknown peer(s) {unknown}; known: {sorted(PEERS)}")
    threads = threads or os.cpu_count() or 1
    feed = _feed(path, batch)
    runners = [_cnnrt(path, feed, threads, precision)]
    runners += [PEERS[p](path, feed, threads, precision) for p in vs]
    for r in runners:
        r.peak_rss_mb = _peak_rss_mb(r.name, path, feed, threads, precision)
    ours = [np.asarray(o) for o in runners[0].run()]
    errors = {}
    for r in runners[1:]:
        theirs = [np.asarray(o) for o in r.run()]
        errors[r.name] = max(float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))
                             for a, b in zip(ours, theirs))
    for _ in range(rounds):
        for r in runners:
            r.run()  # discarded: the previous runtime's workers may still be winding down
            for _ in range(BLOCK):
                t = time.perf_counter()
                r.run()
                r.times.append(time.perf_counter() - t)
    rows = []
    for r in runners:
        med = statistics.median(r.times)
        rows.append({"runtime": r.name, "detail": r.detail, "median_ms": med * 1e3,
                     "min_ms": min(r.times) * 1e3, "throughput": batch / med,
                     "peak_rss_mb": r.peak_rss_mb, "load_s": r.load_s,
                     "max_rel_err_vs_cnnrt": errors.get(r.name)})
    c = rows[0]["median_ms"]
    for row in rows[1:]:
        row["cnnrt_over_peer"] = c / row["median_ms"]
    return {"model": path, "batch": batch, "threads": threads, "precision": precision,
            "rounds": rounds, "block": BLOCK, "runs_per_runtime": rounds * BLOCK, "rows": rows}


def render(res: dict) -> str:
    head = (f"{os.path.basename(res['model'])}: batch {res['batch']}, {res['threads']} threads, "
            f"{res['precision']}, {res['runs_per_runtime']} runs each in {res['rounds']} "
            f"interleaved rounds")
    lines = [head, f"{'runtime':<12} {'median ms':>10} {'min ms':>9} {'img/s':>9} {'peak MB':>8} "
             f"{'load s':>7} {'cnnrt/peer':>10} {'rel err':>9}  detail"]
    for r in res["rows"]:
        peak = f"{r['peak_rss_mb']:8.0f}" if r["peak_rss_mb"] is not None else f"{'n/a':>8}"
        ratio = f"{r['cnnrt_over_peer']:10.2f}" if "cnnrt_over_peer" in r else f"{'':>10}"
        err = (f"{r['max_rel_err_vs_cnnrt']:9.1e}" if r["max_rel_err_vs_cnnrt"] is not None
               else f"{'':>9}")
        lines.append(f"{r['runtime']:<12} {r['median_ms']:10.2f} {r['min_ms']:9.2f} "
                     f"{r['throughput']:9.1f} {peak} {r['load_s']:7.2f} {ratio} {err}  "
                     f"{r['detail']}")
    lines.append("cnnrt/peer: latency ratio (< 1: cnnrt faster); peak MB: peak RSS of a fresh "
                 "process that imports the runtime, loads the model and runs it 3 times")
    return "\n".join(lines)
