"""The `cnnrt` command line.

    cnnrt classify [IMAGE] [--model NAME_OR_PATH]   top-5 labels, params, MACs, latency
    cnnrt summary MODEL                             the per-layer accounting table
    cnnrt zoo list | cnnrt zoo export NAME -o FILE  the model builders
    cnnrt backends                                  registered backends
"""

from __future__ import annotations

import argparse
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
    path = cache_dir() / f"{spec}.onnx"
    if not path.exists():
        tmp = path.with_suffix(".onnx.tmp")
        models.build(spec, path=str(tmp))
        tmp.replace(path)
    return str(path)


def cmd_classify(args) -> int:
    path = resolve_model(args.model)
    image = args.image or str(resources.files("cnnrt").joinpath("data/cat.jpg"))
    t0 = time.perf_counter()
    m = cnnrt.load(path, backend=args.backend, num_threads=args.threads)
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
    print(f"latency {np.median(times) * 1e3:.2f} ms median of {len(times)} runs "
          f"(batch 1, backend {rep.get('backend')}, {rep.get('isa', '')} {rep.get('num_threads', '')} threads; "
          f"load+compile+first predict {first * 1e3:.0f} ms)")
    return 0


def cmd_summary(args) -> int:
    m = cnnrt.load(resolve_model(args.model), backend=args.backend)
    print(m.summary(batch=args.batch))
    return 0


def cmd_zoo(args) -> int:
    from cnnrt import models

    if args.action == "list":
        for name in models.names():
            print(name)
        return 0
    if not args.name or not args.output:
        raise SystemExit("cnnrt zoo export NAME -o FILE")
    models.build(args.name, path=args.output)
    print(f"wrote {args.output}")
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
    c.add_argument("--backend", default="cpu")
    c.set_defaults(func=cmd_classify)
    s = sub.add_parser("summary", help="per-layer params/MACs/FLOPs")
    s.add_argument("model")
    s.add_argument("--batch", type=int, default=1)
    s.add_argument("--backend", default="cpu")
    s.set_defaults(func=cmd_summary)
    z = sub.add_parser("zoo", help="model builders")
    z.add_argument("action", choices=["list", "export"])
    z.add_argument("name", nargs="?")
    z.add_argument("-o", "--output")
    z.set_defaults(func=cmd_zoo)
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
