"""Shared setup for the pytest-benchmark suites in benchmarks/ (test_kernels_bench.py,
test_models_bench.py).

    CNNRT_BENCH_THREADS=N   threads for every runtime (default: all cores)
    CNNRT_BENCH_SMOKE=1     tiny shapes and models: checks the harness, not the speed
                            (tests/test_benchmarks_smoke.py runs it with --benchmark-disable)

These suites give per-runtime timing tables; for a cnnrt/peer ratio measured interleaved in
one process use `cnnrt bench` (python/cnnrt/bench.py) or compare_ort.py.

The helpers reach the test modules as the session fixture `bench_env` (a namespace of this
module's names), not by `import conftest`: tests/ has a conftest.py too, and both are
imported as the module "conftest".
"""
from __future__ import annotations

import os
import types

import numpy as np
import pytest

SMOKE = os.environ.get("CNNRT_BENCH_SMOKE", "") not in ("", "0")
THREADS = int(os.environ.get("CNNRT_BENCH_THREADS") or 0) or os.cpu_count() or 1


def rel_err(got, want) -> float:
    """max |got - want| / max |want|: the error relative to the output's scale."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30))


def ort_session(model):
    """An onnxruntime CPU session on `model` (a path or an onnx.ModelProto) set up like
    `cnnrt bench`'s peer: graph optimizations ALL, THREADS intra-op threads, no spin-waiting."""
    ort = pytest.importorskip("onnxruntime")
    so = ort.SessionOptions()
    so.intra_op_num_threads = THREADS
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    src = model if isinstance(model, (str, os.PathLike)) else model.SerializeToString()
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


def openvino_compiled(path):
    """An OpenVINO CPU model like `cnnrt bench`'s peer (f32, LATENCY, THREADS); skips when
    openvino is not installed."""
    ov = pytest.importorskip("openvino")
    cfg = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": THREADS,
           "INFERENCE_PRECISION_HINT": "f32"}
    return ov.Core().compile_model(os.fspath(path), "CPU", cfg)


def conv_relu_model(cin, cout, k, stride=1, pad=0, group=1, hw=(224, 224), seed=0):
    """A one-node-pair ONNX model: input "x" [1, cin, H, W] -> Conv(+bias) -> Relu -> "y".

    Weights ~ N(0, 1/fan_in) and bias ~ N(0, 0.1) from `seed`, so the outputs are O(1).
    Returns (model, w, b) with w [cout, cin/group, k, k] and b [cout] as float32 arrays.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    fan_in = cin // group * k * k
    w = (rng.standard_normal((cout, cin // group, k, k)) / np.sqrt(fan_in)).astype(np.float32)
    b = (0.1 * rng.standard_normal(cout)).astype(np.float32)
    conv = helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[k, k],
                            strides=[stride, stride], pads=[pad] * 4, group=group)
    relu = helper.make_node("Relu", ["c"], ["y"])
    h, wd = hw
    ho, wo = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    graph = helper.make_graph(
        [conv, relu], "conv_relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, h, wd])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, cout, ho, wo])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model, w, b


def record_rate(benchmark, work: float, unit: str):
    """extra_info[unit] = work / median seconds, once the benchmark has run (not under
    --benchmark-disable, where there are no stats)."""
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None and stats.stats.median > 0:
        benchmark.extra_info[unit] = round(work / stats.stats.median, 3)


@pytest.fixture(scope="session")
def bench_env():
    """SMOKE, THREADS, rel_err, ort_session, openvino_compiled, conv_relu_model, record_rate."""
    return types.SimpleNamespace(
        SMOKE=SMOKE, THREADS=THREADS, rel_err=rel_err, ort_session=ort_session,
        openvino_compiled=openvino_compiled, conv_relu_model=conv_relu_model,
        record_rate=record_rate)
