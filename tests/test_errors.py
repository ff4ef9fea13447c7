"""Bad input gets a clear cnnrt error naming what is at fault; nothing crashes."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import cnnrt


def _tiny_model(op="Relu", path=None, **attrs):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    node = helper.make_node(op, ["x"], ["y"], name=f"my_{op.lower()}", **attrs)
    m = helper.make_model(helper.make_graph([node], "g", [x], [y]),
                          opset_imports=[helper.make_opsetid("", 13)])
    if path:
        onnx.save(m, path)
    return m


def test_missing_file(tmp_path):
    with pytest.raises(cnnrt.ModelNotFoundError, match="nope.onnx"):
        cnnrt.load(str(tmp_path / "nope.onnx"))


def test_not_onnx(tmp_path):
    p = tmp_path / "junk.onnx"
    p.write_bytes(np.random.default_rng().bytes(1000))
    with pytest.raises(cnnrt.ModelLoadError, match="junk.onnx"):
        cnnrt.load(str(p))


def test_unsupported_op_names_op_node_opset_and_file(tmp_path):
    p = tmp_path / "det.onnx"
    _tiny_model("Resize", path=p)
    with pytest.raises(cnnrt.UnsupportedOpError) as e:
        cnnrt.load(str(p))
    msg = str(e.value)
    assert "Resize" in msg and "my_resize" in msg and "13" in msg and "det.onnx" in msg


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_wrong_input_name_shape_dtype(tmp_path, backend):
    p = tmp_path / "relu.onnx"
    _tiny_model(path=p)
    m = cnnrt.load(str(p), backend=backend)
    x = np.random.default_rng().standard_normal((1, 3, 4, 4)).astype(np.float32)
    np.testing.assert_array_equal(m.run({"x": x})["y"], np.maximum(x, 0))
    with pytest.raises(cnnrt.InputError, match="'x'"):
        m.run({"input": x})
    with pytest.raises(cnnrt.InputError, match=r"\(1, 3, 5, 4\)"):
        m.run({"x": np.ones((1, 3, 5, 4), np.float32)})
    with pytest.raises(cnnrt.InputError, match="int64"):
        m.run({"x": np.ones((1, 3, 4, 4), np.int64)})
    with pytest.raises(cnnrt.InputError):
        m.run({"x": np.ones((3, 4, 4), np.float32)})


def test_undecodable_image(tmp_path):
    p = tmp_path / "relu.onnx"
    _tiny_model(path=p)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    m = cnnrt.load(str(p))
    with pytest.raises(cnnrt.ImageError, match="broken.jpg"):
        m.predict(str(bad))
    with pytest.raises(cnnrt.ImageError, match="not_there.png"):
        m.predict(str(tmp_path / "not_there.png"))
    with pytest.raises(cnnrt.ImageError):
        m.predict(np.zeros((4, 4, 7), np.uint8))


def test_unknown_backend(tmp_path):
    with pytest.raises(cnnrt.BackendError, match="cpu"):
        cnnrt.load(_tiny_model(), backend="tpu")


def test_shape_error_names_node(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = helper.make_tensor("w", TensorProto.FLOAT, [2, 5, 3, 3], np.ones(90, np.float32))
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="bad_conv")
    m = helper.make_model(helper.make_graph([node], "g", [x], [y], [w]),
                          opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(cnnrt.ShapeError, match="bad_conv"):
        cnnrt.load(m)  # caught at load, before any run
