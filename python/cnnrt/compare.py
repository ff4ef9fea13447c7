"""`cnnrt compare`: the survey's Table 1 with each architecture's costs measured on this machine.

Each model is built once into the cache (cnnrt.cli.resolve_model), then measured in a child
process of its own, so that its peak memory (RSS) is its own and one model's allocations do
not slow the next. Measured: parameters and MACs (cnnrt's accounting of the graph as given),
load time (import + optimize + compile), batch-1 latency (median), batch-8 throughput, peak RSS.
Writes compare.json, compare.csv and (with matplotlib) compare.png: top-1 accuracy against
GMACs, marker area proportional to parameters, as in the EfficientNet paper's figure 1.
"""

from __future__ import annotations

import csv
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .survey import BY_ZOO, TABLE1

DEFAULT_MODELS = [r.zoo for r in TABLE1 if r.zoo != "efficientnet_l2"]
COLUMNS = ["network", "top1_err", "top5_err", "params_printed", "params", "gmacs", "input",
           "latency_ms", "throughput_b8", "peak_rss_mb", "load_s", "weights"]


def measure(path: str, backend: str, repeat: int) -> dict:
    """Measures one model file in this process (meant to run in a fresh child)."""
    import cnnrt

    t0 = time.perf_counter()
    m = cnnrt.load(path, backend=backend)
    load_s = time.perf_counter() - t0
    s = m.summary()
    name, shape, _ = m.inputs[0]
    one = tuple(1 if not isinstance(d, int) else d for d in shape)
    rng = np.random.default_rng()
    x1 = rng.standard_normal(one).astype(np.float32)
    x8 = rng.standard_normal((8,) + one[1:]).astype(np.float32)
    m.run({name: x1})
    lat = []
    for _ in range(repeat):
        t = time.perf_counter()
        m.run({name: x1})
        lat.append(time.perf_counter() - t)
    m.run({name: x8})
    b8 = []
    for _ in range(max(2, repeat // 3)):
        t = time.perf_counter()
        m.run({name: x8})
        b8.append(time.perf_counter() - t)
    return {"params": s.total.params, "gmacs": s.total.macs / 1e9, "input": "x".join(map(str, one[1:])),
            "latency_ms": statistics.median(lat) * 1e3, "throughput_b8": 8 / statistics.median(b8),
            "peak_rss_mb": _peak_rss_mb(), "load_s": load_s,
            "weights": m.metadata.get("cnnrt.weights", "?").split(":")[0]}


def _peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and
    exec, so a child would report its parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure_in_child(path: str, backend: str, repeat: int) -> dict:
    r = subprocess.run([sys.executable, "-m", "cnnrt.compare", "--measure", path, backend, str(repeat)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"measuring {path} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def run(models: list[str], backend: str = "cpu", repeat: int = 5, out_dir: str = "cnnrt-compare",
        progress=lambda msg: print(msg, file=sys.stderr, flush=True)) -> list[dict]:
    from .cli import resolve_model

    rows = []
    for i, name in enumerate(models, 1):
        progress(f"[{i}/{len(models)}] {name}: building (cached after the first time)")
        path = resolve_model(name)
        progress(f"[{i}/{len(models)}] {name}: measuring")
        row = {"zoo": name, **_survey_columns(name), **_measure_in_child(path, backend, repeat)}
        progress(f"[{i}/{len(models)}] {name}: {row['latency_ms']:.1f} ms, {row['gmacs']:.2f} GMACs")
        rows.append(row)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(rows, indent=2))
    with open(out / "compare.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["zoo", *COLUMNS, "paper", "note"], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    chart(rows, out / "compare.png", progress)
    return rows


def _survey_columns(name: str) -> dict:
    r = BY_ZOO.get(name)
    if r is None:
        return {"network": name, "top1_err": None, "top5_err": None, "params_printed": "", "paper": "", "note": ""}
    return {"network": r.network, "top1_err": r.top1_err, "top5_err": r.top5_err,
            "params_printed": r.params_printed, "paper": r.paper, "note": r.note}


def render(rows: list[dict]) -> str:
    head = (f"{'network':<22} {'top-1 err':>9} {'top-5 err':>9} {'params printed':>14} {'params':>8} "
            f"{'GMACs':>7} {'input':>9} {'b1 ms':>8} {'b8 img/s':>9} {'peak MB':>8} {'load s':>7} weights")
    lines = [head, "-" * len(head)]
    pct = lambda v: "" if v is None else f"{v:.2f}%"
    for r in rows:
        lines.append(f"{r['network'][:22]:<22} {pct(r['top1_err']):>9} {pct(r['top5_err']):>9} "
                     f"{r['params_printed']:>14} {r['params'] / 1e6:>7.2f}M {r['gmacs']:>7.2f} {r['input']:>9} "
                     f"{r['latency_ms']:>8.1f} {r['throughput_b8']:>9.1f} {r['peak_rss_mb']:>8.0f} "
                     f"{r['load_s']:>7.2f} {r['weights']}")
    notes = [f"  {r['network']}: {r['note']}" for r in rows if r.get("note")]
    sources = sorted({f"{r['network']}: {r['paper']}" for r in rows if r.get("paper")})
    lines += ["", "top-1/top-5 error and 'params printed': the survey's Table 1 (ImageNet), quoting:"]
    lines += [f"  {s}" for s in sources]
    if notes:
        lines += ["notes:", *notes]
    lines.append("measured: params and GMACs by cnnrt's accounting (graph as given, batch 1); "
                 "latency/throughput/peak RSS/load on this machine")
    return "\n".join(lines)


def chart(rows: list[dict], path: Path, progress=print) -> Path | None:
    """Top-1 accuracy vs GMACs, marker area ~ params; None (said) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        progress("matplotlib is not installed: no chart (pip install matplotlib)")
        return None
    pts = [r for r in rows if r["top1_err"] is not None]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for r in pts:
        acc = 100 - r["top1_err"]
        ax.scatter(r["gmacs"], acc, s=max(20.0, r["params"] / 1e6 * 6), alpha=0.5)
        ax.annotate(f"{r['network']}\n{r['params'] / 1e6:.0f}M, {r['latency_ms']:.0f} ms",
                    (r["gmacs"], acc), textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.set_xscale("log")
    ax.margins(x=0.2, y=0.1)  # room for the labels of the outermost points
    ax.set_xlabel("GMACs per image (log scale; measured by cnnrt)")
    ax.set_ylabel("ImageNet top-1 accuracy, % (survey Table 1)")
    ax.set_title("Accuracy vs compute; marker area ~ parameters")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--measure":
    print(json.dumps(measure(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
