"""Whole models through the GPU backend (device="cuda") against onnxruntime.

Without a GPU, conftest.py sets TRITON_INTERPRET=1 and the backend runs its Triton kernels in
Triton's interpreter on CPU tensors: the same lowering, arena and launches, minus CUDA graphs and
streams. The interpreter costs ~45 ms per program instance, so the models are small: the real
LeNet-5, EfficientNet-B0 at 32 px and width 0.25, and one block of each kind the survey's
networks are made of (inception with LRN, bottleneck residuals, an AlexNet/VGG-style classifier
reading an NHWC flatten)."""

import os

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("triton")
ort = pytest.importorskip("onnxruntime")

import cnnrt  # noqa: E402
import cnnrt.models as zoo  # noqa: E402
from cnnrt.models import googlenet, resnet  # noqa: E402
from cnnrt.models.onnx_builder import GraphBuilder  # noqa: E402
from cnnrt.models.weights import RandomWeights  # noqa: E402


def _mini_inception():
    """Stem 7x7/2, max pool 3/2 (ceil), LRN, two inception blocks, global pool, classifier."""
    g = GraphBuilder("mini_inception", RandomWeights(1))
    x = g.input("x", ["N", 3, 24, 24])
    x = g.relu(g.conv(x, "stem", 3, 16, 7, 2, pads=3, bias=True))
    x = g.lrn(g.max_pool(x, 3, 2, ceil=True), 5)
    x, c = googlenet._inception(g, x, "a", 16, (8, 8, 16, 4, 8, 8))
    x, c = googlenet._inception(g, x, "b", c, (16, 8, 16, 4, 8, 8))
    y = g.gemm(g.flatten(g.global_avg_pool(x)), "fc", c, 10)
    g.output(g.node("Softmax", [y], axis=1), "y", ["N", 10])
    return g.model({})


def _mini_resnet():
    """Stem, a projection bottleneck (stride 2) and an identity bottleneck: residual adds fused
    into the conv epilogue, ReLU after the add."""
    g = GraphBuilder("mini_resnet", RandomWeights(2))
    x = g.input("x", ["N", 3, 16, 16])
    x = resnet._conv_bn(g, x, "stem.", 1, 3, 16, 3)
    x, _ = resnet._block(g, x, "l1.", "bottleneck", 16, 8, 2)
    x, _ = resnet._block(g, x, "l2.", "bottleneck", 32, 8, 1)
    g.output(g.gemm(g.flatten(g.global_avg_pool(x)), "fc", 32, 10), "y", ["N", 10])
    return g.model({})


def _mini_classifier():
    """AlexNet/VGG tail: conv, max pool, flatten of a 4x4 map (the Gemm reads the NHWC bytes
    with its weight rows permuted), Gemm+ReLU, Gemm."""
    g = GraphBuilder("mini_classifier", RandomWeights(3))
    x = g.input("x", ["N", 3, 16, 16])
    x = g.relu(g.conv(x, "c1", 3, 16, 3, 1, pads=1, bias=True))
    x = g.max_pool(g.relu(g.conv(x, "c2", 16, 16, 3, 2, pads=1, bias=True)), 2, 2)
    x = g.relu(g.gemm(g.flatten(x), "fc1", 16 * 4 * 4, 32))
    g.output(g.gemm(x, "fc2", 32, 10), "y", ["N", 10])
    return g.model({})


MODELS = {
    "lenet5_real": lambda: zoo.build("lenet5"),
    "efficientnet_b0_32px_w025": lambda: zoo.build("efficientnet_b0", weights="random",
                                                   size=32, width=0.25),
    "mini_inception": _mini_inception,
    "mini_resnet": _mini_resnet,
    "mini_classifier": _mini_classifier,
}


def _inputs(proto, batch, rng):
    i = proto.graph.input[0]
    dims = [d.dim_value or batch for d in i.type.tensor_type.shape.dim]
    dims[0] = batch
    return i.name, rng.standard_normal(dims).astype(np.float32)


def _check(proto, batch, precision, rtol, options=None):
    rng = np.random.default_rng()
    name, x = _inputs(proto, batch, rng)
    _, x2 = _inputs(proto, batch, rng)
    m = cnnrt.load(proto, device="cuda", precision=precision, options=options)
    sess = ort.InferenceSession(proto.SerializeToString())
    for feed in (x, x2):
        got = m.run({name: feed})
        ref = sess.run(None, {name: feed})
        for g, r in zip(got.values(), ref):
            assert g.shape == r.shape
            err = np.abs(g - r).max() / np.abs(r).max()
            assert err < rtol, f"rel err {err:.3g}"
    a, b = m.run({name: x}), m.run({name: x2})
    first = next(iter(a))
    assert np.abs(a[first] - b[first]).max() > 1e-3 * np.abs(a[first]).max()  # not vacuous
    return m


@pytest.mark.parametrize("name", list(MODELS))
def test_model_matches_onnxruntime_fp32(name):
    m = _check(MODELS[name](), 1, "fp32", 1e-4)
    rep = m.compiled().report
    assert rep["backend"] == "triton" and rep["arena_bytes"] <= rep["naive_bytes"]


def test_batch_of_two():
    _check(_mini_resnet(), 2, "fp32", 1e-4)


@pytest.mark.skipif(os.environ.get("TRITON_INTERPRET") == "1",
                    reason="CUDA graphs, streams and timing-based autotuning need a GPU")
@pytest.mark.parametrize("options", [{"streams": 1, "cuda_graph": False},
                                     {"streams": 4, "cuda_graph": False},
                                     {"streams": 4, "cuda_graph": True},
                                     {"autotune": "on"}], ids=str)
def test_streams_graphs_and_autotune_on_a_gpu(options, tmp_path, monkeypatch):
    """Every execution mode computes the same thing; a replayed graph reads each new input."""
    monkeypatch.setenv("CNNRT_CACHE", str(tmp_path))
    m = _check(_mini_inception(), 2, "fp32", 1e-4, options)
    assert m.compiled({"x": (2, 3, 24, 24)}).report["cuda_graph"] == options.get("cuda_graph", True)


def test_fp16_within_half_precision():
    _check(_mini_inception(), 1, "fp16", 2e-2)


def _kernels(proto):
    kernels = cnnrt.load(proto, device="cuda", precision="fp32").compiled().report["kernels"]
    return {k: v for k, v in kernels.items() if not k.startswith(("input:", "output:"))}


def test_fusions_show_in_the_compile_report():
    """Every compute step is a Triton kernel (no torch glue); concats, flattens and SE gate
    multiplies cost no step; inception's sibling 1x1s run as one conv."""
    inc = _kernels(_mini_inception())
    assert all(v.startswith("triton ") for v in inc.values()), inc
    assert not any("concat" in v for v in inc.values())
    assert sum("3 merged siblings" in v for v in inc.values()) == 2
    eff = _kernels(MODELS["efficientnet_b0_32px_w025"]())
    assert all(v.startswith("triton ") for v in eff.values()), eff
    assert sum("+SE gate" in v for v in eff.values()) == 16
    assert not any("binary mul" in v for v in eff.values())
    assert not any("flatten" in v for v in _kernels(_mini_classifier()).values())


def test_data_movement_without_kernels_of_its_own():
    """Transpose, Slice (negative step), Pad, Split, Gather and a (reordering) concat run as torch
    copies on logical views of the NHWC storage; the result still matches onnxruntime."""
    from onnx import TensorProto, helper, numpy_helper

    def c(name, v, dt=np.int64):
        return numpy_helper.from_array(np.asarray(v, dtype=dt), name)
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 1, 3, 2]),
        helper.make_node("Slice", ["t", "st", "en", "ax", "sp"], ["s"]),
        helper.make_node("Pad", ["s", "pads"], ["p"], mode="constant"),
        helper.make_node("Split", ["p", "sizes"], ["a", "b"], axis=1),
        helper.make_node("Concat", ["b", "a"], ["cc"], axis=1),
        helper.make_node("Gather", ["cc", "idx"], ["g"], axis=3),
        helper.make_node("Relu", ["g"], ["y"]),
    ]
    inits = [c("st", [-1]), c("en", [-100]), c("ax", [2]), c("sp", [-2]),
             c("pads", [0, 0, 1, 2, 0, 0, 0, 1]), c("sizes", [2, 3]), c("idx", [4, 0, 2])]
    g = helper.make_graph(nodes, "moves", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                         [1, 5, 6, 7])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    # IR 8 is the lowest that carries opset 18; onnx's default (14 with onnx 1.20) is newer than
    # some onnxruntime builds read (the GPU image's refuses IR > 13)
    _check(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=8), 1,
           "fp32", 1e-6)
