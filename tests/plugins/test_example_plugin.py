"""examples/plugin end to end: pip-installed into a temporary folder (its entry points found
through sys.path, the environment untouched), its C++ kernel compiled with the system compiler
and loaded, and a model with its custom op between convolutions checked against onnx.reference
running an independent implementation of the op."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference.op_run import OpRun

import cnnrt
from cnnrt.plugins import custom_ops
from oracle import assert_close, random_input

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """pip install --no-deps --target <tmp> examples/plugin; <tmp> goes on sys.path."""
    work = tmp_path_factory.mktemp("example_plugin")
    src = work / "src"
    shutil.copytree(EXAMPLE, src)  # building writes build/ and egg-info next to the sources
    target = work / "site"
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target)]
    if all(importlib.util.find_spec(m) is not None for m in ("setuptools", "wheel")):
        cmd += ["--no-build-isolation", "--no-index"]  # offline; otherwise pip fetches them
    r = subprocess.run(cmd + [str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    sys.path.insert(0, str(target))
    yield target
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m.startswith("cnnrt_example_plugin")]:
        del sys.modules[name]


@pytest.fixture
def plugin(installed):
    """The installed plugin as cnnrt first finds it: entry points not yet read, op not imported."""
    from cnnrt.backends import registry
    for name in [m for m in sys.modules if m.startswith("cnnrt_example_plugin")]:
        del sys.modules[name]
    custom_ops.unregister_op("com.example", "ChannelShuffle")
    registry._entry_points_loaded = custom_ops._entry_points_loaded = False
    return installed


class ChannelShuffle(OpRun):
    """The oracle's ChannelShuffle, written apart from the plugin's: a gather by channel index."""
    op_domain = "com.example"

    def _run(self, x, groups=2):
        c = x.shape[1]
        src = [(k % groups) * (c // groups) + k // groups for k in range(c)]
        return (x[:, src].copy(),)


def shuffle_model(rng, groups=3, c=6, hw=7, batch=2):
    w1 = rng.standard_normal((c, 3, 3, 3)).astype(np.float32) / 4
    b1 = rng.standard_normal(c).astype(np.float32)
    w2 = rng.standard_normal((2 * groups, c // groups, 1, 1)).astype(np.float32) / 2  # grouped 1x1 after it
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
             numpy_helper.from_array(w2, "w2")]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("ChannelShuffle", ["r1"], ["s"], domain="com.example", groups=groups,
                              name="shuffle"),
             helper.make_node("Conv", ["s", "w2"], ["c2"], group=groups, name="conv2"),
             helper.make_node("GlobalAveragePool", ["c2"], ["y"], name="gap")]
    g = helper.make_graph(nodes, "shufflenet_block",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, hw, hw])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2 * groups, 1, 1])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                                helper.make_opsetid("com.example", 1)])
    model.ir_version = 8
    return model, random_input((batch, 3, hw, hw), rng)


def oracle(model, x):
    from onnx.reference import ReferenceEvaluator
    return ReferenceEvaluator(model, new_ops=[ChannelShuffle]).run(None, {"x": x})[0]


def test_model_with_custom_op_matches_reference_on_every_backend(plugin, tmp_path):
    rng = np.random.default_rng(11)
    model, x = shuffle_model(rng)
    path = tmp_path / "block.onnx"
    onnx.save(model, path)
    ref = oracle(model, x)
    assert float(np.std(ref)) > 1e-3  # a live signal, not a constant

    # the op comes from the cnnrt.ops entry point; on cpu first through its numpy kernel
    m = cnnrt.load(path)
    assert_close(m.run(x)["y"], ref, 1e-5, what="cpu, numpy kernel")
    op = custom_ops.custom_op("com.example::ChannelShuffle")
    assert op.source.endswith("cnnrt_example_plugin/ops.py:" + op.source.rsplit(":", 1)[1])
    assert "numpy" in m.compiled().report["kernels"]["shuffle"]

    # then its C++ kernel, compiled here and loaded through the C ABI
    from cnnrt_example_plugin.ops import build_cpp_kernel
    lib = build_cpp_kernel(tmp_path)
    assert cnnrt.load_plugin(lib) == ["com.example::ChannelShuffle"]
    m = cnnrt.load(path)
    kernel = m.compiled({"x": x.shape}).report["kernels"]["shuffle"]
    assert str(lib) in kernel and "numpy" not in kernel, kernel
    assert_close(m.run(x)["y"], ref, 1e-5, what="cpu, C++ kernel")

    assert_close(cnnrt.load(path, backend="reference").run(x)["y"], ref, 1e-5, what="reference")


def test_backend_plugin_runs_its_ops_and_falls_back_for_the_rest(plugin):
    rng = np.random.default_rng(12)
    model, x = shuffle_model(rng, groups=2, c=8, hw=9, batch=1)
    assert "im2col" in cnnrt.backends()
    m = cnnrt.load(model, backend="im2col")
    assert_close(m.run(x)["y"], oracle(model, x), 1e-5, what="im2col + cpu")
    report = m.compiled().report
    # conv1 carries the fused relu1; the pooling is not im2col's: it runs on cpu
    assert report["node_backends"] == {"conv1": "im2col", "shuffle": "im2col", "conv2": "im2col",
                                   "gap": "cpu"}, report["node_backends"]
    assert [s["backend"] for s in report["segments"]] == ["im2col", "cpu"]
    assert "placement: im2col: conv1, shuffle, conv2; cpu: gap" in str(m.summary())


def test_custom_op_is_counted_and_not_fused_across(plugin):
    model, _ = shuffle_model(np.random.default_rng(13))
    s = cnnrt.load(model, backend="reference").summary()
    row = next(r for r in s.rows if r.name == "shuffle")
    assert row.op == "com.example::ChannelShuffle" and row.shape == (1, 6, 7, 7)
    assert row.cost.flops == 0 and row.cost.bytes_read == row.cost.bytes_written == 6 * 49 * 4
    ops_after = [r.op for r in s.optimized_rows]
    assert ops_after == ["conv3x3+relu", "com.example::ChannelShuffle", "conv1x1/g3", "global_avg_pool"]


def test_triton_kernel_and_fallback_on_the_triton_backend(plugin):
    """device="cuda" (Triton's interpreter on a machine without a GPU): the shuffle runs its Triton
    kernel; the grouped 1x1 conv, which the triton backend has no kernel for, falls back to cpu."""
    pytest.importorskip("triton")
    if cnnrt.get_backend("triton").why_unavailable():
        pytest.skip(cnnrt.get_backend("triton").why_unavailable())
    rng = np.random.default_rng(14)
    model, x = shuffle_model(rng, groups=2, c=4, hw=5, batch=1)
    m = cnnrt.load(model, device="cuda", precision="fp32")
    report = m.compiled().report
    assert report["node_backends"] == {"conv1": "triton", "shuffle": "triton", "conv2": "cpu",
                                       "gap": "triton"}, report["node_backends"]
    assert "channel_shuffle_triton" in report["kernels"]["shuffle"]
    assert_close(m.run(x)["y"], oracle(model, x), 1e-4)
