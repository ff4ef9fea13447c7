"""cnnrt on the GPU vs PyTorch: eager (cuDNN, fp16, channels_last) and torch.compile.

    python benchmarks/gpu_bench.py --json out.json            # on the GPU machine
    python benchmarks/gpu_bench.py --smoke                    # CPU harness check (TRITON_INTERPRET=1)

The PyTorch peer (benchmarks/torch_peer.py) runs the same cnnrt graph unfused (BN as BN), so
both sides compute the same model with the same random weights. Work runs in passes, most
important first, so that the --budget-s cut drops the least useful part:
  1. per model/batch: cnnrt fp16 (cold compile + timing), eager fp16 timing, and max rel error
     of cnnrt fp16 vs the eager fp32 peer on a fixed random batch;
  2. torch.compile (default mode) of the eager fp16 module: compile time and timing;
  3. cnnrt fp32 at the largest batch: top-1 agreement with cnnrt fp16;
  4. GoogLeNet at batch 1 on one stream: what running inception branches on separate streams
     buys (the default) against one stream.
Timing: warmup, then the median of --reps synchronized wall-clock runs (inputs prepared
outside the timing; cnnrt's run_torch includes its copy of the float32 input).
The ratio table prints last and goes to --json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
import traceback

SMOKE = "--smoke" in sys.argv
if SMOKE:  # must be set before triton is imported: cnnrt's kernels then run on CPU tensors
    os.environ.setdefault("TRITON_INTERPRET", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cnnrt  # noqa: E402
import cnnrt.models as zoo  # noqa: E402
from cnnrt.frontend.onnx import import_onnx  # noqa: E402
from cnnrt.passes.pipeline import prepare  # noqa: E402
from torch_peer import to_torch  # noqa: E402

# model -> (build options, {requested batch: batch actually run})
MODELS = {
    "resnet152": ({}, {}),
    "efficientnet_b7": ({}, {64: 16}),  # 600 px: batch 64 needs too much memory/time
    "googlenet": ({}, {}),
    "vgg19": ({"size": 224}, {}),
}
SMOKE_MODELS = {"lenet5": ({}, {})}


class Budget(BaseException):
    """Out of time; a BaseException so the per-measurement `except Exception` lets it through."""


class Bench:
    def __init__(self, args):
        self.args = args
        self.dev = "cpu" if args.smoke else "cuda"
        self.t0 = time.perf_counter()
        self.rows: dict[tuple, dict] = {}   # (model, batch) -> row
        self.notes: list[str] = []
        self.protos, self.graphs = {}, {}
        self.cnnrt_models = {}

    # --- helpers -------------------------------------------------------------------------
    def left(self) -> float:
        return self.args.budget_s - (time.perf_counter() - self.t0)

    def check_budget(self, what: str, need: float = 0.0):
        """Raises Budget unless `need` seconds (a guess at the step's length) are left."""
        if self.left() <= need:
            raise Budget(f"budget of {self.args.budget_s:.0f} s spent: skipped {what} and the rest")

    def sync(self):
        if self.dev == "cuda":
            torch.cuda.synchronize()

    def bench(self, fn, warmup=None) -> float:
        """Median milliseconds of fn(), synchronized each run; fewer reps for slow runs."""
        for _ in range(self.args.warmup if warmup is None else warmup):
            fn()
        self.sync()
        t = time.perf_counter()
        fn()
        self.sync()
        est = time.perf_counter() - t
        reps = max(min(3, self.args.reps), min(self.args.reps, int(self.args.rep_s / max(est, 1e-6))))
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            fn()
            self.sync()
            times.append(time.perf_counter() - t)
        return statistics.median(times) * 1e3

    def row(self, name, batch) -> dict:
        return self.rows.setdefault((name, batch), {"model": name, "batch": batch, "errors": []})

    def error(self, r, what, e):
        msg = f"{what}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
        r["errors"].append(msg)
        print(f"  ERROR {r['model']} b{r['batch']} {msg}", flush=True)
        if self.args.verbose:
            traceback.print_exc()

    def model(self, name):
        if name not in self.protos:
            opts = (SMOKE_MODELS if self.args.smoke else MODELS).get(name, ({}, {}))[0]
            t = time.perf_counter()
            self.protos[name] = zoo.build(name, weights="random", seed=0, **opts)
            self.graphs[name] = import_onnx(self.protos[name])
            print(f"[{self.elapsed()}] built {name} in {time.perf_counter() - t:.1f} s", flush=True)
        return self.protos[name], self.graphs[name]

    def elapsed(self) -> str:
        return f"{time.perf_counter() - self.t0:6.1f}s"

    def input(self, g, batch):
        inp = g.inputs[0]
        shape = (batch, *inp.shape[1:])
        gen = torch.Generator().manual_seed(1234 + batch)  # fixed random batch, same for all
        return inp.name, shape, torch.randn(shape, generator=gen).to(self.dev)

    def peer(self, g, name, shape, dtype):
        p = to_torch(prepare(g, {name: shape}, optimize=False)).eval()
        p = p.to(self.dev, dtype)
        return p.to(memory_format=torch.channels_last) if len(shape) == 4 else p

    # --- passes --------------------------------------------------------------------------
    def pass_main(self, name, batch):
        """cnnrt fp16 + eager peer timings, cnnrt fp16 vs eager fp32 error."""
        r = self.row(name, batch)
        proto, g = self.model(name)
        inp, shape, x = self.input(g, batch)
        ref = None
        try:  # eager fp32 reference output, then the timed eager peer (fp16; smoke: fp32)
            with torch.inference_mode():
                pe = self.peer(g, inp, shape, torch.float32)
                xe = x.contiguous(memory_format=torch.channels_last)
                ref = pe(xe).float().clone()
                if not self.args.smoke:
                    del pe
                    pe = self.peer(g, inp, shape, torch.float16)
                    xe = xe.half()
                r["eager_ms"] = self.bench(lambda: pe(xe), max(self.args.warmup, 2))
                del pe
            print(f"[{self.elapsed()}] {name} b{batch} eager {r['eager_ms']:.3f} ms", flush=True)
        except Exception as e:
            self.error(r, "eager", e)
        self.free()
        self.check_budget(f"cnnrt {name} b{batch}")
        try:
            t = time.perf_counter()
            exe = self.cnnrt_model(name, proto, "fp16").compiled({inp: shape})
            r["cnnrt_compile_s"] = round(exe.report.get("compile_s", float("nan")), 2)
            r["cnnrt_load_compile_wall_s"] = round(time.perf_counter() - t, 2)
            y = exe.run_torch([x])[0].float().clone()  # outputs are overwritten by the next run
            self.sync()
            if ref is not None:
                r["fp16_vs_eager32_rel_err"] = float((y - ref).abs().max() / ref.abs().max())
            r["_cnnrt_top1"] = y.reshape(batch, -1).argmax(1).cpu()
            r["cnnrt_ms"] = self.bench(lambda: exe.run_torch([x]))
            print(f"[{self.elapsed()}] {name} b{batch} cnnrt {r['cnnrt_ms']:.3f} ms "
                  f"(compile {r['cnnrt_compile_s']} s)", flush=True)
        except Exception as e:
            self.error(r, "cnnrt", e)
        self.free()

    def cnnrt_model(self, name, proto, precision):
        # one Model per precision, so each batch compiles only its own shape. load() compiles
        # the declared shape (batch 1) at once: the first batch's wall time is the cold
        # compile; later batches find Triton's kernel cache warm.
        key = (name, precision)
        if key not in self.cnnrt_models:
            self.cnnrt_models = {}  # one model's executables on the GPU at a time
            self.free()
            self.cnnrt_models[key] = cnnrt.load(proto, device="cuda", precision=precision)
        return self.cnnrt_models[key]

    def pass_compile(self, name, batch):
        r = self.row(name, batch)
        proto, g = self.model(name)
        inp, shape, x = self.input(g, batch)
        try:
            torch._dynamo.reset()  # each shape compiles from scratch: fair compile times
            with torch.inference_mode():
                pe = self.peer(g, inp, shape, torch.float16)
                xe = x.half().contiguous(memory_format=torch.channels_last)
                fn = torch.compile(pe, dynamic=False)
                t = time.perf_counter()
                fn(xe)
                self.sync()
                r["torch_compile_s"] = round(time.perf_counter() - t, 2)
                r["compile_ms"] = self.bench(lambda: fn(xe))
            print(f"[{self.elapsed()}] {name} b{batch} torch.compile {r['compile_ms']:.3f} ms "
                  f"(compile {r['torch_compile_s']} s)", flush=True)
        except Exception as e:
            self.error(r, "torch.compile", e)
        self.free()

    def pass_agreement(self, name, batch):
        r = self.row(name, batch)
        proto, g = self.model(name)
        inp, shape, x = self.input(g, batch)
        if "_cnnrt_top1" not in r:
            return
        try:
            exe = self.cnnrt_model(name, proto, "fp32").compiled({inp: shape})
            top32 = exe.run_torch([x])[0].float().reshape(batch, -1).argmax(1).cpu()
            r["top1_agree_fp16_fp32"] = float((top32 == r["_cnnrt_top1"]).float().mean())
            print(f"[{self.elapsed()}] {name} b{batch} top-1 agreement fp16/fp32 "
                  f"{r['top1_agree_fp16_fp32']:.3f}", flush=True)
        except Exception as e:
            self.error(r, "cnnrt fp32", e)
        self.free()

    def pass_one_stream(self, name, batch):
        r = self.row(name, batch)
        proto, g = self.model(name)
        inp, shape, x = self.input(g, batch)
        try:
            self.cnnrt_models = {}
            self.free()
            m = cnnrt.load(proto, device="cuda", precision="fp16", options={"streams": 1})
            exe = m.compiled({inp: shape})
            r["cnnrt_1stream_ms"] = self.bench(lambda: exe.run_torch([x]))
            print(f"[{self.elapsed()}] {name} b{batch} cnnrt one stream "
                  f"{r['cnnrt_1stream_ms']:.3f} ms", flush=True)
        except Exception as e:
            self.error(r, "cnnrt 1 stream", e)
        self.free()

    def free(self):
        import gc
        gc.collect()
        if self.dev == "cuda":
            torch.cuda.empty_cache()

    def run(self, models, batches):
        table = SMOKE_MODELS if self.args.smoke else MODELS
        plan = list(dict.fromkeys((m, table.get(m, ({}, {}))[1].get(b, b))
                                  for m in models for b in batches))
        for m, b in plan:
            if b not in batches:
                self.row(m, b)["note"] = f"batch {b} instead of {max(batches)} (memory/time)"
        try:
            for m, b in plan:
                self.check_budget(f"{m} b{b}")
                self.pass_main(m, b)
            self.cnnrt_models = {}  # free cnnrt's GPU memory for the torch.compile pass
            self.free()
            if not self.args.smoke and not self.args.no_compile:
                for m, b in plan:
                    self.check_budget(f"torch.compile {m} b{b}", need=30)
                    self.pass_compile(m, b)
            big = {m: max(b for mm, b in plan if mm == m) for m in models}
            for m in models:
                self.check_budget(f"fp16/fp32 agreement {m}")
                self.pass_agreement(m, big[m])
            if "googlenet" in models and not self.args.smoke:
                self.check_budget("googlenet on one stream")
                self.pass_one_stream("googlenet", min(batches))
        except Budget as e:
            self.notes.append(str(e))
            print(f"NOTE {e}", flush=True)


# --- report ------------------------------------------------------------------------------

def _f(v, fmt):
    """format(v, fmt), or a "-" as wide as fmt's field."""
    return format(v, fmt) if v is not None else "-".rjust(int(fmt.split(".")[0] or 0))


def finish(bench: Bench) -> list[dict]:
    rows = []
    for r in bench.rows.values():
        r = {k: v for k, v in r.items() if not k.startswith("_")}
        b = r["batch"]
        for k in ("cnnrt", "eager", "compile"):
            if r.get(f"{k}_ms"):
                r[f"{k}_img_s"] = round(b / r[f"{k}_ms"] * 1e3, 1)
        c = r.get("cnnrt_ms")
        r["eager_over_cnnrt"] = round(r["eager_ms"] / c, 3) if c and r.get("eager_ms") else None
        r["compile_over_cnnrt"] = round(r["compile_ms"] / c, 3) if c and r.get("compile_ms") else None
        # the issue's targets: batch 1 latency <= torch.compile; large batch >= 1.5x eager, >= 1x compile
        goals = ({"b1 latency <= compile": ("compile_over_cnnrt", 1.0)} if b == 1 else
                 {">=1.5x eager": ("eager_over_cnnrt", 1.5), ">=1.0x compile": ("compile_over_cnnrt", 1.0)})
        r["targets"] = {k: "n/a" if r[key] is None else "met" if r[key] >= goal else "missed"
                        for k, (key, goal) in goals.items()}
        rows.append(r)
    return rows


def print_tables(rows, notes):
    print("\nAccuracy and compile times")
    print(f"{'model':16s} {'batch':>5s} {'cnnrt compile s':>15s} {'torch.compile s':>15s} "
          f"{'fp16 vs eager32 rel err':>23s} {'top1 fp16/fp32':>14s} {'1-stream ms':>11s}  errors")
    for r in rows:
        print(f"{r['model']:16s} {r['batch']:5d} {_f(r.get('cnnrt_compile_s'), '15.2f')} "
              f"{_f(r.get('torch_compile_s'), '15.2f')} {_f(r.get('fp16_vs_eager32_rel_err'), '23.2e')} "
              f"{_f(r.get('top1_agree_fp16_fp32'), '14.3f')} {_f(r.get('cnnrt_1stream_ms'), '11.3f')}"
              f"  {'; '.join(r['errors'])}")
    for n in notes:
        print("NOTE", n)
    print("\nThroughput (ratios > 1: cnnrt faster)")
    print(f"{'model':16s} {'batch':>5s} {'cnnrt ms':>9s} {'eager ms':>9s} {'compile ms':>10s} "
          f"{'cnnrt img/s':>11s} {'eager img/s':>11s} {'compile img/s':>13s} {'eager/cnnrt':>11s} "
          f"{'compile/cnnrt':>13s}  targets")
    for r in rows:
        tg = ", ".join(f"{k} {v}" for k, v in r["targets"].items())
        note = f"  ({r['note']})" if r.get("note") else ""
        print(f"{r['model']:16s} {r['batch']:5d} {_f(r.get('cnnrt_ms'), '9.3f')} "
              f"{_f(r.get('eager_ms'), '9.3f')} {_f(r.get('compile_ms'), '10.3f')} "
              f"{_f(r.get('cnnrt_img_s'), '11.1f')} {_f(r.get('eager_img_s'), '11.1f')} "
              f"{_f(r.get('compile_img_s'), '13.1f')} {_f(r.get('eager_over_cnnrt'), '11.2f')} "
              f"{_f(r.get('compile_over_cnnrt'), '13.2f')}  {tg}{note}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=None, help="comma-separated (default: resnet152, "
                    "efficientnet_b7, googlenet, vgg19; --smoke: lenet5)")
    ap.add_argument("--batches", default=None, help="comma-separated (default 1,64; --smoke 1,2)")
    ap.add_argument("--budget-s", type=float, default=420.0,
                    help="stop starting new work after this many seconds")
    ap.add_argument("--json", default=None, help="write the table (rows, notes, versions) here")
    ap.add_argument("--smoke", action="store_true", help="CPU harness check: lenet5, eager fp32, "
                    "cnnrt under TRITON_INTERPRET=1, no torch.compile")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rep-s", type=float, default=3.0, help="cap timed seconds per measurement")
    ap.add_argument("-v", "--verbose", action="store_true", help="tracebacks for errors")
    ap.add_argument("--show", metavar="JSON", help="only print the tables of an earlier --json")
    args = ap.parse_args(argv)
    if args.show:
        with open(args.show) as f:
            saved = json.load(f)
        print(" ".join(f"{k} {v}" for k, v in saved["info"].items()))
        return print_tables(saved["rows"], saved["notes"])
    models = (args.models or ("lenet5" if args.smoke else ",".join(MODELS))).split(",")
    batches = [int(b) for b in (args.batches or ("1,2" if args.smoke else "1,64")).split(",")]
    if args.smoke:
        args.reps, args.warmup = 1, 0  # the interpreter is slow: timings mean nothing here
    elif not torch.cuda.is_available():
        sys.exit("no CUDA device: run on the GPU machine, or use --smoke here")
    else:
        torch.backends.cudnn.benchmark = True
        # the fp32 reference must be true fp32 (torch's default runs fp32 convs in TF32)
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False

    info = {"torch": torch.__version__, "device": torch.cuda.get_device_name() if not args.smoke
            else "cpu (TRITON_INTERPRET=1)", "cnnrt": cnnrt.__version__, "budget_s": args.budget_s}
    try:
        import triton
        info["triton"] = triton.__version__
    except ImportError:
        pass
    print(" ".join(f"{k} {v}" for k, v in info.items()), flush=True)

    bench = Bench(args)

    def on_term(signum, frame):  # `timeout` sends SIGTERM: still print what we have
        raise Budget(f"killed by signal {signum} after {time.perf_counter() - bench.t0:.0f} s")
    signal.signal(signal.SIGTERM, on_term)
    try:
        bench.run(models, batches)
    except Budget as e:
        bench.notes.append(str(e))
    rows = finish(bench)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"info": info, "notes": bench.notes, "rows": rows}, f, indent=1)
    print_tables(rows, bench.notes)


if __name__ == "__main__":
    main()
