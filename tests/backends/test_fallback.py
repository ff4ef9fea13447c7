"""Fallback between backends (backends/partition.py): a toy backend registered here supports
only elementwise ops; the rest of the model runs on cpu (or the reference backend), cut into
segments run in order, matching onnxruntime, with the placement in the compile report."""

import numpy as np
import pytest
from onnx import helper, numpy_helper

import cnnrt
from cnnrt.backends import registry
from cnnrt.backends.reference import ReferenceBackend
from oracle import assert_close, make_model, random_input, run_ort


class ElementwiseOnly(ReferenceBackend):
    """A third-party backend that runs only activations and binary ops (with numpy kernels)."""

    name = "elementwise"
    compiled: list = []

    def supports(self, node):
        return node.op in ("activation", "binary")

    def compile(self, graph, options):
        ElementwiseOnly.compiled.append([n.name for n in graph.nodes])
        exe = super().compile(graph, options)
        exe.report["backend"] = self.name
        return exe


@pytest.fixture
def toy():
    saved = dict(registry._FACTORIES), dict(registry._INSTANCES)
    cnnrt.register_backend("elementwise", ElementwiseOnly)
    ElementwiseOnly.compiled = []
    yield
    for d, s in zip((registry._FACTORIES, registry._INSTANCES), saved):
        d.clear()
        d.update(s)


def model(rng):
    """conv -> maxpool -> sigmoid -> add(sigmoid, maxpool) -> conv -> gap -> flatten -> gemm,
    with the sigmoid also a graph output (read by a later segment and by the caller)."""
    w1 = rng.standard_normal((6, 3, 3, 3)).astype(np.float32) / 3
    w2 = rng.standard_normal((4, 6, 3, 3)).astype(np.float32) / 4
    fc = rng.standard_normal((5, 4)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
             helper.make_node("MaxPool", ["c1"], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
             helper.make_node("Sigmoid", ["p"], ["s"], name="sig"),
             helper.make_node("Add", ["s", "p"], ["a"], name="add"),
             helper.make_node("Conv", ["a", "w2"], ["c2"], name="conv2"),
             helper.make_node("GlobalAveragePool", ["c2"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "fc"], ["y"], transB=1, name="fc")]
    inits = [numpy_helper.from_array(a, n) for n, a in (("w1", w1), ("w2", w2), ("fc", fc))]
    return make_model(nodes, [("x", ["N", 3, 10, 10])], [("y", None), ("s", None)], inits)


def test_unsupported_nodes_fall_back_to_cpu_and_match_onnxruntime(toy):
    rng = np.random.default_rng(1)
    m_onnx = model(rng)
    with pytest.warns(RuntimeWarning, match=r"6 of 8 nodes fall back from elementwise to cpu"):
        m = cnnrt.load(m_onnx, backend="elementwise")
    for batch in (1, 3):  # a new shape compiles (and partitions) again
        x = random_input((batch, 3, 10, 10), rng)
        out = m.run(x)
        for name, ref in zip(("y", "s"), run_ort(m_onnx, {"x": x})):
            assert_close(out[name], ref, 1e-4, what=f"{name}, batch {batch}")
    bufs = {name: np.empty_like(a) for name, a in out.items()}  # the caller's buffers work too
    assert all(m.run(x, out=bufs)[n] is bufs[n] for n in bufs)
    for name, ref in zip(("y", "s"), run_ort(m_onnx, {"x": x})):
        assert_close(bufs[name], ref, 1e-4, what=f"{name} into a caller buffer")
    report = m.compiled().report
    assert report["backend"] == "cpu+elementwise"
    assert report["node_backends"] == {"conv1": "cpu", "pool": "cpu", "sig": "elementwise",
                                   "add": "elementwise", "conv2": "cpu", "gap": "cpu", "flat": "cpu",
                                   "fc": "cpu"}, report["node_backends"]
    assert [(s["backend"], s["nodes"]) for s in report["segments"]] == [
        ("cpu", ["conv1", "pool"]), ("elementwise", ["sig", "add"]), ("cpu", ["conv2", "gap", "flat", "fc"])]
    assert report["kernels"]["sig"] == "elementwise:numpy_activation"
    assert report["kernels"]["conv1"].startswith("cpu:f32_conv")
    assert ElementwiseOnly.compiled == [["sig", "add"]] * 2
    assert "placement: cpu: conv1, pool; elementwise: sig, add; cpu: conv2, gap, flat, fc" in str(m.summary())


def test_fallback_order_and_no_fallback(toy):
    rng = np.random.default_rng(2)
    m_onnx = model(rng)
    m = cnnrt.load(m_onnx, backend="elementwise", fallback=["reference"])
    assert set(m.compiled().report["node_backends"].values()) == {"elementwise", "reference"}
    assert cnnrt.load(m_onnx, backend="elementwise", fallback="reference").compiled().report[
        "node_backends"] == m.compiled().report["node_backends"]
    with pytest.raises(cnnrt.BackendError, match="unknown backend 'nope'"):
        cnnrt.load(m_onnx, backend="elementwise", fallback=["nope"])
    x = random_input((2, 3, 10, 10), rng)
    assert_close(m.run(x)["y"], run_ort(m_onnx, {"x": x})[0], 1e-4)
    with pytest.raises(cnnrt.UnsupportedOpError, match="node 'conv1'"):
        cnnrt.load(m_onnx, backend="elementwise", fallback=False)


def test_a_backend_that_supports_everything_gets_everything():
    rng = np.random.default_rng(3)
    m = cnnrt.load(model(rng), backend="cpu")
    report = m.compiled().report
    assert report["backend"] == "cpu" and "segments" not in report
    assert set(report["node_backends"].values()) == {"cpu"} and len(report["node_backends"]) == 8


def test_parallel_branches_are_grouped_into_few_segments(toy):
    """conv1 -> (mul1 | conv2 -> mul2) -> add: in file order the backends alternate four times;
    grouped, the two convs run in one cpu segment and the three elementwise ops in one more."""
    rng = np.random.default_rng(4)
    w1 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32) / 3
    w2 = rng.standard_normal((4, 4, 3, 3)).astype(np.float32) / 4
    k1, k2 = (rng.standard_normal((1, 4, 1, 1)).astype(np.float32) for _ in range(2))
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
             helper.make_node("Mul", ["c1", "k1"], ["m1"], name="mul1"),
             helper.make_node("Conv", ["c1", "w2"], ["c2"], pads=[1, 1, 1, 1], name="conv2"),
             helper.make_node("Mul", ["c2", "k2"], ["m2"], name="mul2"),
             helper.make_node("Add", ["m1", "m2"], ["y"], name="add")]
    inits = [numpy_helper.from_array(a, n) for n, a in (("w1", w1), ("w2", w2), ("k1", k1), ("k2", k2))]
    m_onnx = make_model(nodes, [("x", [2, 3, 6, 6])], [("y", None)], inits)
    m = cnnrt.load(m_onnx, backend="elementwise")
    report = m.compiled().report
    assert [(s["backend"], s["nodes"]) for s in report["segments"]] == [
        ("cpu", ["conv1", "conv2"]), ("elementwise", ["mul1", "mul2", "add"])], report["segments"]
    x = random_input((2, 3, 6, 6), rng)
    assert_close(m.run(x)["y"], run_ort(m_onnx, {"x": x})[0], 1e-4)
