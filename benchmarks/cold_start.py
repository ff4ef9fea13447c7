"""Cold start: cnnrt.load + the first run, from the ONNX file vs from its .cnnrt file.

    python benchmarks/cold_start.py [MODEL] [--rounds 5] [--threads 0]

MODEL: a zoo name (built into the cache once) or an ONNX path. Both are timed in one process,
alternating, after one untimed warm-up of each (so both files sit in the page cache); prints
min and median seconds and their ratio.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time

import numpy as np

import cnnrt
from cnnrt.cli import resolve_model


def cold_start(path: str, x: np.ndarray, threads: int) -> float:
    t0 = time.perf_counter()
    m = cnnrt.load(path, num_threads=threads)
    m.run(x)
    dt = time.perf_counter() - t0
    del m
    gc.collect()
    return dt


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("model", nargs="?", default="resnet152")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    onnx_path = resolve_model(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        compiled = os.path.join(tmp, "model.cnnrt")
        m = cnnrt.load(onnx_path, num_threads=args.threads)
        m.save(compiled)
        shape = m.inputs[0][1]
        x = np.random.default_rng(0).standard_normal([d if isinstance(d, int) else 1 for d in shape]).astype(np.float32)
        np.testing.assert_allclose(cnnrt.load(compiled).run(x)[m.outputs[0]], m.run(x)[m.outputs[0]], rtol=1e-5, atol=1e-6)
        del m
        times = {"onnx": [], "cnnrt": []}
        cold_start(onnx_path, x, args.threads), cold_start(compiled, x, args.threads)  # warm the page cache
        for _ in range(args.rounds):
            times["onnx"].append(cold_start(onnx_path, x, args.threads))
            times["cnnrt"].append(cold_start(compiled, x, args.threads))
        sizes = os.path.getsize(onnx_path) / 2**20, os.path.getsize(compiled) / 2**20
    print(f"{args.model}: cold start (load + first run), {args.rounds} alternating rounds, "
          f"{os.cpu_count()} cpus, threads={args.threads or 'all'}")
    for (k, t), size in zip(times.items(), sizes):
        print(f"  from .{k:<5} ({size:6.1f} MiB)  min {min(t):.3f} s  median {statistics.median(t):.3f} s  "
              f"all {' '.join(f'{v:.3f}' for v in t)}")
    print(f"  ratio .cnnrt / .onnx: min {min(times['cnnrt']) / min(times['onnx']):.3f}  "
          f"median {statistics.median(times['cnnrt']) / statistics.median(times['onnx']):.3f}")


if __name__ == "__main__":
    main()
