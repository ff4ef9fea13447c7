"""Backends are plugins: registered by name in code or through the `cnnrt.backends` entry points."""

from importlib import metadata

import numpy as np
import pytest
from onnx import TensorProto, helper

import cnnrt
from cnnrt.backends import registry
from cnnrt.backends.reference import ReferenceBackend


def _model():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    return helper.make_model(helper.make_graph([helper.make_node("Sigmoid", ["x"], ["y"])], "g", [x], [y]),
                             opset_imports=[helper.make_opsetid("", 13)])


class CountingBackend(ReferenceBackend):
    """A third-party backend: the reference kernels, counting what it compiles."""

    name = "counting"
    compiled = 0

    def compile(self, graph, options):
        CountingBackend.compiled += 1
        return super().compile(graph, options)


@pytest.fixture
def clean_registry():
    saved = dict(registry._FACTORIES), dict(registry._INSTANCES), registry._entry_points_loaded
    yield
    registry._FACTORIES.clear(); registry._FACTORIES.update(saved[0])
    registry._INSTANCES.clear(); registry._INSTANCES.update(saved[1])
    registry._entry_points_loaded = saved[2]


def test_register_backend_in_code(clean_registry):
    cnnrt.register_backend("counting", CountingBackend)
    assert "counting" in cnnrt.backends()
    m = cnnrt.load(_model(), backend="counting")
    assert CountingBackend.compiled == 1  # load compiles for the declared shape, N = 1
    x = np.random.default_rng().standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(m.run({"x": x})["y"], 1 / (1 + np.exp(-x)), rtol=1e-6)
    m.run({"x": x})
    m.run({"x": x[:1]})
    assert CountingBackend.compiled == 2  # once per input shape


def test_entry_point_backend(clean_registry, monkeypatch):
    ep = metadata.EntryPoint("counting-ep", f"{__name__}:CountingBackend", "cnnrt.backends")
    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points",
                        lambda **kw: [ep] if kw.get("group") == "cnnrt.backends" else real(**kw))
    registry._entry_points_loaded = False
    assert "counting-ep" in cnnrt.backends()
    assert isinstance(cnnrt.get_backend("counting-ep"), CountingBackend)


def test_unknown_backend_lists_known(clean_registry):
    with pytest.raises(cnnrt.BackendError, match="reference"):
        cnnrt.get_backend("nope")
