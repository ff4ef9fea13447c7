"""Tensors straight to the GPU backend: DLPack tensors (torch here; cupy the same way) go to the
executable without a numpy round trip and torch tensors come back; numpy in still gives numpy
out. Under TRITON_INTERPRET=1 the "device" is the CPU: the same path, minus CUDA."""

import numpy as np
import pytest
from onnx import helper

torch = pytest.importorskip("torch")
pytest.importorskip("triton")

import cnnrt  # noqa: E402
from oracle import make_model, run_ort  # noqa: E402


def _model(rng):
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"])]
    inits = {"w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3,
             "b": rng.standard_normal(4).astype(np.float32)}
    return make_model(nodes, [("x", [1, 3, 6, 6])], [("y", [1, 4, 6, 6])], inits)


def test_torch_tensor_in_torch_tensor_out():
    rng = np.random.default_rng()
    proto = _model(rng)
    m = cnnrt.load(proto, device="cuda", precision="fp32")
    x = torch.randn(1, 3, 6, 6)
    want = run_ort(proto, {"x": x.numpy()})[0]
    got = m.run(x)["y"]
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=1e-4, atol=1e-5 * np.abs(want).max())
    again = m.run(x + 1)["y"]  # the first result is the caller's: a later run leaves it alone
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=1e-4, atol=1e-5 * np.abs(want).max())
    assert not torch.equal(again, got)
    host = m.run(x.numpy())["y"]
    assert isinstance(host, np.ndarray)
    np.testing.assert_allclose(host, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_tensor_of_the_wrong_rank_is_refused_by_name():
    m = cnnrt.load(_model(np.random.default_rng()), device="cuda", precision="fp32")
    with pytest.raises(cnnrt.InputError, match=r"input 'x' expects shape"):
        m.run(torch.randn(3, 6, 6))
