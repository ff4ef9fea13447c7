"""Where a model's GPU time goes, kernel by kernel: cnnrt fp16 next to the PyTorch eager peer.

    python benchmarks/gpu_kernel_profile.py efficientnet_b7 --batch 16     # on the GPU machine

Both sides run under torch.profiler (cnnrt without its CUDA graph and on one stream, so each
kernel shows on its own); the table lists each kernel name's total GPU time per run, largest
first. Meant to say which kernel family loses to cuDNN, not to time the model (gpu_bench.py does).
"""

from __future__ import annotations

import argparse
import sys

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import cnnrt  # noqa: E402
from gpu_bench import MODELS  # noqa: E402  (each model's build options, e.g. B7's input size)
import cnnrt.models as zoo  # noqa: E402
from cnnrt.frontend.onnx import import_onnx  # noqa: E402
from cnnrt.passes.pipeline import prepare  # noqa: E402
from torch_peer import to_torch  # noqa: E402


def kernel_table(fn, runs: int, top: int) -> list[tuple[str, float, int]]:
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(runs):
            fn()
        torch.cuda.synchronize()
    rows = [(e.key, e.device_time_total / 1e3 / runs, e.count // runs)
            for e in prof.key_averages() if e.device_time_total > 0]
    rows.sort(key=lambda r: -r[1])
    total = sum(r[1] for r in rows)
    print(f"  {'kernel':70s} {'ms/run':>8s} {'calls':>6s} {'share':>6s}")
    for name, ms, calls in rows[:top]:
        print(f"  {name[:70]:70s} {ms:8.3f} {calls:6d} {100 * ms / total:5.1f}%")
    print(f"  {'total GPU time':70s} {total:8.3f}")
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    proto = zoo.build(a.model, weights="random", seed=0, **MODELS.get(a.model, ({}, {}))[0])
    g = import_onnx(proto)
    inp = g.inputs[0]
    shape = (a.batch, *inp.shape[1:])
    x = torch.randn(shape, device="cuda")
    m = cnnrt.load(proto, device="cuda", precision="fp16",
                   options={"cuda_graph": False, "streams": 1})
    exe = m.compiled({inp.name: shape})
    print(f"cnnrt fp16 {a.model} batch {a.batch}")
    kernel_table(lambda: exe.run_torch([x]), a.runs, a.top)
    peer = to_torch(prepare(g, {inp.name: shape}, optimize=False)).eval().cuda().half()
    peer = peer.to(memory_format=torch.channels_last)
    xh = x.half().to(memory_format=torch.channels_last)
    print(f"PyTorch eager fp16 channels_last {a.model} batch {a.batch}")
    with torch.no_grad():
        kernel_table(lambda: peer(xh), a.runs, a.top)


if __name__ == "__main__":
    main()
