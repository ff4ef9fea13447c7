"""Conv kernel timings, cnnrt vs onnxruntime vs torch vs numpy, batch 1 (pytest-benchmark).

Each shape is a conv layer that carries much of the time in one of the survey's models
(VGG19, ResNet-50/152, EfficientNet-B0/B7, AlexNet, GoogLeNet), built as a one-node-pair ONNX
model Conv(+bias) -> Relu. cnnrt runs it with cnnrt.load (its fused conv+ReLU kernel),
onnxruntime with the same model; torch runs F.conv2d + relu under inference_mode (skipped when
torch is not installed); numpy runs im2col + matmul (skipped above NUMPY_MAX_GFLOP).

    pytest benchmarks/test_kernels_bench.py --benchmark-only --benchmark-columns=median,min
    pytest benchmarks/test_kernels_bench.py -k "resnet_3x3_64_56 or effb0_dw3x3" --benchmark-only
    CNNRT_BENCH_THREADS=1 pytest benchmarks/test_kernels_bench.py --benchmark-json=k.json

Before timing, each runtime's output on fresh random data is compared with onnxruntime's
(max |err| / max |ref| < 1e-4), so a wrong kernel cannot win. extra_info in the saved JSON:
gflop (the layer's multiply-adds x 2), gflops (gflop / median seconds), threads, the shape.
Set CNNRT_BENCH_SMOKE=1 for tiny versions of the same shapes (same ids).
"""
from __future__ import annotations

import os

import numpy as np
import pytest

SMOKE = os.environ.get("CNNRT_BENCH_SMOKE", "") not in ("", "0")
NUMPY_MAX_GFLOP = 2.0
TOL = 1e-4

# id: (cin, cout, kernel, stride, pad, group, H=W)
SHAPES = {
    "vgg19_3x3_64_224": (64, 64, 3, 1, 1, 1, 224),
    "vgg19_3x3_256_56": (256, 256, 3, 1, 1, 1, 56),
    "vgg19_3x3_512_28": (512, 512, 3, 1, 1, 1, 28),
    "vgg19_3x3_512_14": (512, 512, 3, 1, 1, 1, 14),
    "resnet_stem_7x7s2_3_64_224": (3, 64, 7, 2, 3, 1, 224),
    "resnet_1x1_256_64_56": (256, 64, 1, 1, 0, 1, 56),
    "resnet_3x3_64_56": (64, 64, 3, 1, 1, 1, 56),
    "resnet_1x1_1024_256_14": (1024, 256, 1, 1, 0, 1, 14),
    "resnet_3x3_256_14": (256, 256, 3, 1, 1, 1, 14),
    "effb0_1x1_24_144_56": (24, 144, 1, 1, 0, 1, 56),       # MBConv expand
    "effb0_dw3x3_144_56": (144, 144, 3, 1, 1, 144, 56),
    "effb0_dw5x5_240_28": (240, 240, 5, 1, 2, 240, 28),
    "effb7_dw5x5_480_75": (480, 480, 5, 1, 2, 480, 75),
    "effb7_1x1_480_80_75": (480, 80, 1, 1, 0, 1, 75),        # MBConv project
    "alexnet_11x11s4_3_64_224": (3, 64, 11, 4, 2, 1, 224),
    "googlenet_5x5_16_32_28": (16, 32, 5, 1, 2, 1, 28),
}


def _smoke(shape):
    """The same layer type at 8-16 channels and 12-19 px (big kernels need a bigger input)."""
    cin, cout, k, s, p, g, hw = shape
    if g == cin:  # depthwise stays depthwise
        cin = cout = g = min(cin, 16)
    else:
        cin, cout = min(cin, 16), min(cout, 16)
    return cin, cout, k, s, p, g, max(12, k + 8)


if SMOKE:
    SHAPES = {k: _smoke(v) for k, v in SHAPES.items()}

RUNTIMES = ["cnnrt", "onnxruntime", "torch", "numpy"]


def _gflop(cin, cout, k, s, p, g, hw):
    ho = (hw + 2 * p - k) // s + 1
    return 2 * cout * (cin // g) * k * k * ho * ho / 1e9


def _numpy_conv(x, w, b, s, p, g):
    """Conv + bias + ReLU as im2col + one batched matmul per group (x: [1, C, H, W])."""
    _, c, _, _ = x.shape
    cout, cg, k, _ = w.shape
    xp = np.pad(x[0], ((0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(1, 2))[:, ::s, ::s]
    ho, wo = win.shape[1:3]
    cols = win.transpose(0, 3, 4, 1, 2).reshape(g, cg * k * k, ho * wo)  # the im2col copy
    wm = w.reshape(g, cout // g, cg * k * k)
    y = np.matmul(wm, cols).reshape(1, cout, ho, wo)
    y += b[None, :, None, None]
    return np.maximum(y, 0, out=y)


def _runner(runtime, model, w, b, x, shape, bench_env):
    cin, cout, k, s, p, g, hw = shape
    if runtime == "cnnrt":
        import cnnrt

        m = cnnrt.load(model, num_threads=bench_env.THREADS)
        exe = m.compiled({"x": x.shape})
        run = lambda: exe.run([x])[0]
        run.kernel = ",".join(exe.report.get("kernels", {}).values())  # e.g. f32_dwconv__avx2
        return run
    if runtime == "onnxruntime":
        sess = bench_env.ort_session(model)
        return lambda: sess.run(None, {"x": x})[0]
    if runtime == "torch":
        torch = pytest.importorskip("torch")
        import torch.nn.functional as F

        torch.set_num_threads(bench_env.THREADS)
        tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))

        def run():
            with torch.inference_mode():
                return F.conv2d(tx, tw, tb, stride=s, padding=p, groups=g).relu_().numpy()
        return run
    if runtime == "numpy":
        if _gflop(*shape) > NUMPY_MAX_GFLOP:
            pytest.skip(f"numpy im2col is too slow above {NUMPY_MAX_GFLOP} GFLOP")
        return lambda: _numpy_conv(x, w, b, s, p, g)
    raise ValueError(runtime)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("shape_id", list(SHAPES))
def test_conv(benchmark, bench_env, shape_id, runtime):
    shape = SHAPES[shape_id]
    cin, cout, k, s, p, g, hw = shape
    model, w, b = bench_env.conv_relu_model(cin, cout, k, s, p, g, (hw, hw))
    x = np.random.default_rng().standard_normal((1, cin, hw, hw)).astype(np.float32)
    run = _runner(runtime, model, w, b, x, shape, bench_env)

    got = run()
    if runtime != "onnxruntime":
        want = bench_env.ort_session(model).run(None, {"x": x})[0]
        err = bench_env.rel_err(got, want)
        assert err < TOL, f"{runtime} {shape_id}: rel err {err:.2e} vs onnxruntime"

    gflop = _gflop(*shape)
    benchmark.group = f"conv {shape_id}"
    benchmark.extra_info.update(
        gflop=float(f"{gflop:.4g}"), threads=bench_env.THREADS, runtime=runtime,
        shape=f"{k}x{k}/{s} {cin}->{cout} g{g} @{hw}")
    if getattr(run, "kernel", None):
        benchmark.extra_info["kernel"] = run.kernel
    benchmark(run)
    bench_env.record_rate(benchmark, gflop, "gflops")
