"""A model loaded from a file or bytes lets go of its weights once the cpu backend holds its own
copy (no second copy in memory), and imports them again when new input shapes need a compile
or summary() needs them: results stay those of onnxruntime, a changed file is refused by name."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import cnnrt
import cnnrt.models as zoo
from cnnrt.ir.graph import ReleasedConst


@pytest.fixture()
def lenet_path(tmp_path):
    path = tmp_path / "lenet5.onnx"
    onnx.save(zoo.build("lenet5", weights="random", seed=1), str(path))
    return str(path)


def _released(m) -> list:
    return [v for v in m.graph.values() if isinstance(v.const, ReleasedConst)]


def test_weights_released_at_load_and_reloaded_for_a_new_batch(lenet_path):
    m = cnnrt.load(lenet_path)
    big = _released(m)
    assert big and all(v.const.nbytes >= 1 << 16 for v in big)  # fc1: 120 x 400 floats
    with pytest.raises(RuntimeError, match="released after compiling"):
        np.asarray(big[0].const)
    rng = np.random.default_rng()
    name = m.graph.inputs[0].name
    for batch in (1, 3):  # 3: a new shape, compiled from the file read again
        x = rng.standard_normal((batch, 1, 32, 32)).astype(np.float32)
        got = m.run({name: x})[m.outputs[0]]
        ref = ort.InferenceSession(lenet_path, providers=["CPUExecutionProvider"]).run(
            None, {name: x})[0]
        assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()
    assert _released(m)  # still released: the reload was only for that compile
    assert m.summary().total.params > 60_000  # summary() folds BN: reads the weights again


def test_a_file_changed_after_load_is_refused_by_name(lenet_path):
    m = cnnrt.load(lenet_path)
    onnx.save(zoo.build("lenet5", weights="random", seed=2), lenet_path)
    x = np.zeros((2, 1, 32, 32), np.float32)
    with pytest.raises(cnnrt.ModelLoadError, match="lenet5.onnx: the file changed since it was loaded"):
        m.run({m.graph.inputs[0].name: x})


def test_a_model_proto_keeps_its_weights():
    """The caller may change a ModelProto after load: nothing is released, nothing re-read."""
    m = cnnrt.load(zoo.build("lenet5", weights="random", seed=1))
    assert not _released(m)
    x = np.random.default_rng().standard_normal((2, 1, 32, 32)).astype(np.float32)
    assert m.run({m.graph.inputs[0].name: x})[m.outputs[0]].shape == (2, 10)
