"""A custom op with a Triton kernel on the triton backend (device="cuda"; on a machine without a
GPU, Triton's interpreter runs it on the CPU: tests/conftest.py sets TRITON_INTERPRET=1), and a
custom op without one falling back to cpu inside a triton model."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import cnnrt
from oracle import assert_close, random_input

torch = pytest.importorskip("torch")
triton = pytest.importorskip("triton")
import triton.language as tl  # noqa: E402

if cnnrt.get_backend("triton").why_unavailable():
    pytest.skip(cnnrt.get_backend("triton").why_unavailable(), allow_module_level=True)


@triton.jit
def _scaled_tanh(x_ptr, y_ptr, n, alpha, beta, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    tl.store(y_ptr + offs, alpha * (2 * tl.sigmoid(2 * beta * x) - 1), mask=mask)


def scaled_tanh_launcher(x, alpha, beta):
    """y = alpha * tanh(beta * x) on a contiguous float32 tensor; one program per 1024 elements."""
    y = torch.empty_like(x)
    n = x.numel()
    _scaled_tanh[(triton.cdiv(n, 1024),)](x, y, n, alpha, beta, BLOCK=1024)
    return y


def model(op_type="ScaledTanh"):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32) / 3
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node(op_type, ["c"], ["t"], domain="test.ops", alpha=1.5, beta=0.7, name="custom"),
             helper.make_node("Relu", ["t"], ["y"], name="relu")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 5, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("test.ops", 1)])
    m.ir_version = 8
    return m, w


def reference(x, w):
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    c = sum(np.einsum("nchw,mc->nmhw", xp[:, :, i:i + 5, j:j + 5], w[:, :, i, j].astype(np.float64))
            for i in range(3) for j in range(3))
    return np.maximum(1.5 * np.tanh(0.7 * c), 0)


def test_triton_kernel_of_a_custom_op_runs_on_the_triton_backend():
    cnnrt.register_op("test.ops", "ScaledTanh", attrs={"alpha": 1.0, "beta": 1.0},
                      triton=scaled_tanh_launcher)
    proto, w = model()
    m = cnnrt.load(proto, device="cuda", precision="fp32")
    report = m.compiled().report
    assert set(report["node_backends"].values()) == {"triton"}, report["node_backends"]
    assert "scaled_tanh_launcher" in report["kernels"]["custom"]
    x = random_input((1, 3, 5, 5), np.random.default_rng(2))
    assert_close(m.run(x)["y"], reference(x, w), 1e-4)


def test_custom_op_without_a_triton_kernel_falls_back_to_cpu():
    cnnrt.register_op("test.ops", "ScaledTanhNp", attrs={"alpha": 1.0, "beta": 1.0},
                      numpy=lambda x, alpha, beta: alpha * np.tanh(beta * x))
    proto, w = model("ScaledTanhNp")
    m = cnnrt.load(proto, device="cuda", precision="fp32")
    assert m.compiled().report["node_backends"] == {"conv": "triton", "custom": "cpu", "relu": "triton"}
    x = random_input((1, 3, 5, 5), np.random.default_rng(3))
    assert_close(m.run(x)["y"], reference(x, w), 1e-4)
