"""Large inline weights read straight from the file (onnx_inline_weights): the same arrays and
graph as onnx.load gives, and anything unusual or broken still ends in the usual errors."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import cnnrt.models as zoo
from cnnrt.errors import ModelLoadError
from cnnrt.frontend.onnx import import_onnx
from cnnrt.frontend.onnx_inline_weights import MIN_BYTES, WireError, load_without_inline_weights


@pytest.fixture()
def lenet(tmp_path):
    path = tmp_path / "lenet5.onnx"
    onnx.save(zoo.build("lenet5", weights="random", seed=int(np.random.default_rng().integers(1 << 30))),
              str(path))
    return str(path)


def test_same_weights_and_graph_as_onnx_load(lenet):
    model, arrays = load_without_inline_weights(lenet)
    full = onnx.load(lenet)
    ref = {t.name: numpy_helper.to_array(t) for t in full.graph.initializer}
    assert arrays and all(a.nbytes >= MIN_BYTES for a in arrays.values())  # fc1 (and fc2)
    for name, a in arrays.items():
        np.testing.assert_array_equal(a, ref[name])
        assert not a.flags.writeable
    small = {t.name for t in model.graph.initializer if t.raw_data}
    assert small == set(ref) - set(arrays)  # the small ones stay in the message, untouched
    assert model.graph.node == full.graph.node and model.graph.input == full.graph.input
    g = import_onnx(lenet)  # the importer takes its weights from the arrays
    consts = {v.name: v.const for v in g.values() if v.is_const}
    for name in arrays:
        np.testing.assert_array_equal(consts[name], ref[name])


def test_nothing_large_inline_is_left_to_protobuf(tmp_path):
    m = helper.make_model(helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)]))
    p = tmp_path / "small.onnx"
    onnx.save(m, str(p))
    with pytest.raises(WireError, match="no large inline float weights"):
        load_without_inline_weights(str(p))
    assert import_onnx(p).nodes  # and the loader's fallback parses it the usual way


@pytest.mark.parametrize("cut", [0.6, 0.999])
def test_a_file_cut_inside_the_weights_is_a_load_error(lenet, cut):
    data = open(lenet, "rb").read()
    open(lenet, "wb").write(data[: int(len(data) * cut)])
    with pytest.raises(WireError):
        load_without_inline_weights(lenet)
    with pytest.raises(ModelLoadError, match="lenet5.onnx"):
        import_onnx(lenet)
