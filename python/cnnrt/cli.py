"""The `cnnrt` command line.

    cnnrt classify [IMAGE] [--model NAME_OR_PATH]   top-5 labels, params, MACs, latency
    cnnrt summary MODEL                             the per-layer accounting table
    cnnrt profile MODEL [--trace F] [--roofline F]  measured time per layer vs the roofline
    cnnrt verify MODEL                              cnnrt vs onnxruntime, first diverging layer
    cnnrt zoo list | cnnrt zoo export NAME -o FILE  the model builders
    cnnrt compare [--models a,b] [--include-l2]     the survey's table, measured
    cnnrt compile MODEL -o FILE.cnnrt [--batch N] [--plugin LIB]   the optimized model as a compiled file
    cnnrt backends                                  registered backends
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np

import cnnrt

DEFAULT_MODEL = "efficientnet_lite0"


def cache_dir() -> Path:
    d = Path(os.environ.get("CNNRT_CACHE", Path.home() / ".cache" / "cnnrt"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def resolve_model(spec: str) -> str:
    """A path to an ONNX file: `spec` itself, or a zoo name built once into the cache."""
    if os.path.exists(spec) or spec.endswith(".onnx"):
        return spec
    from cnnrt import models

    if spec not in models.names():
        raise SystemExit(f"cnnrt: {spec!r} is neither a file nor a zoo model ({', '.join(models.names())})")
    weights = models.info(spec)["weights"]  # real where the zoo has them, else seeded random
    path = cache_dir() / f"{spec}.onnx"
    if not path.exists():
        folder = cache_dir() / f".{spec}.tmp"  # built aside, so an interrupted build leaves no file
        folder.mkdir(exist_ok=True)
        models.build(spec, path=str(folder / path.name), weights=weights)
        for f in folder.iterdir():  # the model, and its external-data file if it has one
            f.replace(cache_dir() / f.name)
        folder.rmdir()
    return str(path)


def cmd_classify(args) -> int:
    path = resolve_model(args.model)
    image = args.image or str(resources.files("cnnrt").joinpath("data/cat.jpg"))
    t0 = time.perf_counter()
    m = cnnrt.load(path, backend=args.backend, device=args.device, precision=args.precision,
                   num_threads=args.threads)
    top = m.predict(image, topk=args.topk)
    first = time.perf_counter() - t0
    x = m.preprocess.image_to_tensor(image)[None]
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        m.run(x)
        times.append(time.perf_counter() - t)
    s = m.summary()
    print(f"model   {path}  ({m.metadata.get('cnnrt.weights', 'weights: unknown')})")
    print(f"image   {image}")
    for label, p in top:
        print(f"  {p:7.4f}  {label}")
    print(f"params  {s.total.params:,}   MACs {s.total.macs / 1e9:.3f} G   FLOPs {s.total.flops / 1e9:.3f} G")
    rep = s.report
    where = (f"{rep.get('device')} {rep.get('precision')}" if rep.get("backend") == "triton" else
             f"{rep.get('isa', '')} {rep.get('num_threads', '')} threads")
    print(f"latency {np.median(times) * 1e3:.2f} ms median of {len(times)} runs "
          f"(batch 1, backend {rep.get('backend')}, {where}; "
          f"load+compile+first predict {first * 1e3:.0f} ms)")
    return 0


def cmd_bench(args) -> int:
    from .bench import bench, render
    res = bench(resolve_model(args.model), batch=args.batch, threads=args.threads,
                precision=args.precision, vs=tuple(p for p in args.vs.split(",") if p),
                rounds=args.rounds)
    print(render(res))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


def cmd_summary(args) -> int:
    from .insight.summary import summarize
    backend = args.backend or cnnrt.DEVICES[args.device or "cpu"]
    s = summarize(resolve_model(args.model), backend=backend, batch=args.batch,
                  precision=args.precision)
    print(s)
    if args.optimized:
        print()
        print(s.optimized_table())
    return 0


def cmd_profile(args) -> int:
    m = cnnrt.load(resolve_model(args.model), num_threads=args.threads)
    shapes = ({v.name: (args.batch, *v.shape[1:]) for v in m.graph.inputs if v.shape}
              if args.batch > 1 else None)
    prof = m.profile(runs=args.runs, warmup=args.warmup, shapes=shapes, remeasure=args.remeasure)
    print(prof.table(top=args.top))
    if args.trace:
        prof.chrome_trace(args.trace)
        print(f"wrote {args.trace} (open in chrome://tracing or ui.perfetto.dev)")
    if args.roofline:
        prof.roofline_plot(args.roofline)
        print(f"wrote {args.roofline}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(prof.to_dict(), f, indent=1)
        print(f"wrote {args.json}")
    return 0


def cmd_verify(args) -> int:
    from .insight.verify import verify
    images = args.image or (None if args.no_images else "auto")
    report = verify(resolve_model(args.model), seeds=range(args.seeds), tol=args.tol,
                    images=images, bisect=not args.no_bisect, num_threads=args.threads)
    print(report)
    return 0 if report.passed else 1


def cmd_zoo(args) -> int:
    from cnnrt import models

    if args.action == "list":
        print(f"{'name':<20} {'input':>9} {'params':>10} {'GMACs':>8}  weights")
        for name in models.names():
            meta = models.info(name)
            size = "x".join(map(str, meta["size"]))
            if name == "efficientnet_l2" and not args.all:
                print(f"{name:<20} {size:>9} {'':>10} {'':>8}  {meta['weights']} (counts: --all, builds 1.9 GB)")
                continue
            s = cnnrt.load(resolve_model(name)).summary()
            print(f"{name:<20} {size:>9} {s.total.params / 1e6:>9.2f}M {s.total.macs / 1e9:>8.3f}  {meta['weights']}")
        return 0
    if not args.name or not args.output:
        raise SystemExit("cnnrt zoo export NAME -o FILE")
    models.build(args.name, path=args.output, weights=models.info(args.name)["weights"])
    print(f"wrote {args.output}")
    return 0


def cmd_compare(args) -> int:
    from cnnrt import compare

    names = args.models.split(",") if args.models else list(compare.DEFAULT_MODELS)
    if args.include_l2 and "efficientnet_l2" not in names:
        names.append("efficientnet_l2")
    rows = compare.run(names, backend=args.backend, repeat=args.repeat, out_dir=args.out)
    print(compare.render(rows))
    print(f"\nwrote {args.out}/compare.json, compare.csv" + (", compare.png" if (Path(args.out) / "compare.png").exists() else ""))
    return 0


def cmd_compile(args) -> int:
    for lib in args.plugin or ():  # C++ kernels of custom ops (the ops come from cnnrt.ops packages)
        cnnrt.load_plugin(lib)
    m = cnnrt.load(resolve_model(args.model), precision=args.precision)  # cpu: fp32 only, says so
    m.save(args.output, batch=args.batch)
    print(f"wrote {args.output} ({os.path.getsize(args.output) / 2**20:.1f} MiB, batch {args.batch or 1}; "
          "cnnrt.load() and the C API read it)")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="cnnrt", description="CNN inference engine")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("classify", help="classify an image (default: the bundled cat photo)")
    c.add_argument("image", nargs="?")
    c.add_argument("--model", default=DEFAULT_MODEL, help="an ONNX file or a zoo name")
    c.add_argument("--topk", type=int, default=5)
    c.add_argument("--threads", type=int, default=0)
    c.add_argument("--repeat", type=int, default=20, help="timed runs for the latency")
    c.add_argument("--backend", default=None, help="default: the device's (cpu, triton)")
    c.add_argument("--device", choices=["cpu", "cuda"], default=None)
    c.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default=None)
    c.set_defaults(func=cmd_classify)
    s = sub.add_parser("summary", help="per-layer params/MACs/FLOPs")
    s.add_argument("model")
    s.add_argument("--batch", type=int, default=1)
    s.add_argument("--backend", default=None, help="default: the device's (cpu, triton)")
    s.add_argument("--device", choices=["cpu", "cuda"], default=None)
    s.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default=None)
    s.add_argument("--optimized", action="store_true", help="also the per-step table after fusion")
    s.set_defaults(func=cmd_summary)
    f = sub.add_parser("profile", help="measured time per layer against this machine's roofline")
    f.add_argument("model", help="an ONNX file or a zoo name")
    f.add_argument("--runs", type=int, default=10, help="profiled runs (medians per layer)")
    f.add_argument("--warmup", type=int, default=2)
    f.add_argument("--threads", type=int, default=0, help="0: every core")
    f.add_argument("--batch", type=int, default=1)
    f.add_argument("--top", type=int, default=20, help="rows of the table, slowest first")
    f.add_argument("--trace", help="write a Chrome-trace JSON here")
    f.add_argument("--roofline", help="write a roofline plot (PNG) here; needs matplotlib")
    f.add_argument("--json", help="write the full profile as JSON here")
    f.add_argument("--remeasure", action="store_true",
                   help="measure this machine's roofline again instead of using the cached one")
    f.set_defaults(func=cmd_profile)
    v = sub.add_parser("verify", help="cnnrt vs onnxruntime; on a mismatch, the first layer that differs")
    v.add_argument("model", help="an ONNX file or a zoo name")
    v.add_argument("--seeds", type=int, default=3, help="random-input cases")
    v.add_argument("--tol", type=float, default=1e-4, help="relative (norm-wise) tolerance")
    v.add_argument("--image", action="append", help="an image to classify too (repeatable; "
                   "default: the bundled cat photo, for an image classifier)")
    v.add_argument("--no-images", action="store_true", help="random inputs only")
    v.add_argument("--no-bisect", action="store_true", help="do not look for the first diverging layer")
    v.add_argument("--threads", type=int, default=0)
    v.set_defaults(func=cmd_verify)
    z = sub.add_parser("zoo", help="model builders")
    z.add_argument("action", choices=["list", "export"])
    z.add_argument("name", nargs="?")
    z.add_argument("-o", "--output")
    z.add_argument("--all", action="store_true", help="also count EfficientNet-L2 (slow)")
    z.set_defaults(func=cmd_zoo)
    k = sub.add_parser("compare", help="the survey's Table 1 with measured costs, + chart")
    k.add_argument("--models", help="comma-separated zoo names (default: the survey's, without L2)")
    k.add_argument("--include-l2", action="store_true", help="add EfficientNet-L2 (slow: 1.9 GB)")
    k.add_argument("--backend", default="cpu")
    k.add_argument("--repeat", type=int, default=5)
    k.add_argument("--out", default="cnnrt-compare", help="folder for compare.json/.csv/.png")
    k.set_defaults(func=cmd_compare)
    n = sub.add_parser("bench", help="latency, throughput and peak memory vs onnxruntime/openvino")
    n.add_argument("model", help="an ONNX file or a zoo name")
    n.add_argument("--batch", type=int, default=1)
    n.add_argument("--threads", type=int, default=0, help="0: every core")
    n.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    n.add_argument("--vs", default="onnxruntime", help="comma-separated peers: onnxruntime, "
                   "openvino ('' for none)")
    n.add_argument("--rounds", type=int, default=10, help="interleaved rounds of 5 runs")
    n.add_argument("--json", help="also write the results here")
    n.set_defaults(func=cmd_bench)
    o = sub.add_parser("compile", help="write the optimized model as a .cnnrt file (cnnrt.load, C API)")
    o.add_argument("model", help="an ONNX file or a zoo name")
    o.add_argument("-o", "--output", required=True, help="the .cnnrt file to write")
    o.add_argument("--batch", type=int, default=None, help="the batch it is compiled for (default 1)")
    o.add_argument("--precision", default="fp32", help="fp32 (the cpu engine's only precision today)")
    o.add_argument("--plugin", action="append", metavar="LIB",
                   help="a plugin library with C++ kernels the model's custom ops need (repeatable)")
    o.set_defaults(func=cmd_compile)
    b = sub.add_parser("backends", help="list backends")
    b.set_defaults(func=lambda a: print("\n".join(cnnrt.backends())) or 0)
    args = p.parse_args(argv)
    try:
        return args.func(args)
    except cnnrt.CnnrtError as e:
        print(f"cnnrt: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
