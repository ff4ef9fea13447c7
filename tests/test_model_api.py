"""The user-facing API: load/run/predict/summary, input forms, overrides, threads."""

from __future__ import annotations

import threading

import numpy as np
import onnx
import pytest
from PIL import Image

import cnnrt

skdata = pytest.importorskip("skimage.data")
CATS = {"tabby", "tiger cat", "Egyptian cat"}


@pytest.fixture(scope="module")
def lite0_path(tmp_path_factory):
    from cnnrt import models

    path = tmp_path_factory.mktemp("m") / "efficientnet_lite0.onnx"
    models.build("efficientnet_lite0", path=str(path))
    return str(path)


@pytest.fixture(scope="module")
def lite0(lite0_path):
    return cnnrt.load(lite0_path)


def test_backends_registered():
    assert {"cpu", "reference"} <= set(cnnrt.backends())


def test_predict_accepts_every_image_form(lite0, tmp_path):
    img = skdata.chelsea()
    path = tmp_path / "cat.png"
    Image.fromarray(img).save(path)
    forms = [img, Image.fromarray(img), str(path), path, lite0.preprocess.image_to_tensor(img)]
    results = [lite0.predict(f, topk=3) for f in forms]
    for r in results:
        assert len(r) == 3 and {label for label, _ in r} == CATS
        assert [p for _, p in r] == sorted((p for _, p in r), reverse=True)
    for r in results[1:]:  # lossless forms of the same pixels give the same answer
        assert [l for l, _ in r] == [l for l, _ in results[0]]
        np.testing.assert_allclose([p for _, p in r], [p for _, p in results[0]], rtol=1e-4)


def test_predict_batch_list(lite0):
    out = lite0.predict([skdata.chelsea(), skdata.coffee()], topk=2)
    assert len(out) == 2 and out[0][0][0] in CATS and out[1][0][0] == "espresso"
    single = lite0.predict(skdata.coffee(), topk=2)
    np.testing.assert_allclose(out[1][0][1], single[0][1], rtol=1e-4)


def test_run_returns_named_raw_outputs(lite0):
    x = np.random.default_rng().standard_normal((2, 3, 224, 224)).astype(np.float32)
    out = lite0.run({"input": x})
    assert list(out) == ["logits"] and out["logits"].shape == (2, 1000)
    np.testing.assert_allclose(lite0.run(x)["logits"], out["logits"], rtol=1e-5, atol=1e-5)
    assert x.flags.writeable  # the caller's array is left alone


def test_summary_counts(lite0):
    s = lite0.summary()
    text = str(s)
    assert s.total.params == 4_652_008  # weights + biases + BN gamma/beta of the checkpoint
    assert 0.38e9 < s.total.macs < 0.42e9  # EfficientNet-Lite0 ~0.4 GMACs at 224x224
    assert s.total.flops > 2 * s.total.macs
    assert s.optimized_total.macs == s.total.macs  # fusion changes the steps, not the arithmetic
    assert "total" in text and "conv3x3" in text and "model metadata" in text
    assert s.report["arena_bytes"] < s.report["naive_bytes"]
    opt = s.optimized_table()
    assert "conv1x1+clip" in opt and "batch_norm" not in opt  # BN folded, ReLU6 fused
    assert len(s.optimized_rows) < len(s.rows)


def test_summary_says_when_preprocessing_is_defaulted(lite0_path, tmp_path):
    m = onnx.load(lite0_path)
    del m.metadata_props[:]
    path = tmp_path / "nometa.onnx"
    onnx.save(m, path)
    assert "ImageNet defaults" in str(cnnrt.load(str(path)).summary())


def test_preprocess_and_labels_overrides(lite0_path):
    labels = [f"c{i}" for i in range(1000)]
    m = cnnrt.load(lite0_path, preprocess={"size": [224, 224], "resize": None, "crop": None,
                                           "scale": 1.0, "mean": [127, 127, 127], "std": [128, 128, 128]},
                   labels=labels)
    top = m.predict(skdata.chelsea(), topk=1)
    assert top[0][0].startswith("c")
    assert m.preprocess.resize is None
    with pytest.raises(ValueError, match="labels"):
        cnnrt.load(lite0_path, labels=["a", "b"]).predict(skdata.chelsea())


def test_optimize_false_and_threads_agree(lite0_path):
    x = np.random.default_rng().standard_normal((1, 3, 224, 224)).astype(np.float32)
    a = cnnrt.load(lite0_path, num_threads=1).run(x)["logits"]
    b = cnnrt.load(lite0_path, optimize=False, num_threads=2).run(x)["logits"]
    assert np.abs(a - b).max() < 1e-4 * np.abs(a).max()


def test_run_from_many_threads_at_once(lite0):
    rng = np.random.default_rng()
    xs = [rng.standard_normal((1, 3, 224, 224)).astype(np.float32) for _ in range(6)]
    want = [lite0.run(x)["logits"] for x in xs]
    got = [None] * len(xs)

    def work(i):
        for _ in range(2):
            got[i] = lite0.run(xs[i])["logits"]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_load_accepts_serialized_bytes_and_names_garbage():
    import numpy as np
    import cnnrt.models as zoo
    proto = zoo.build("lenet5")
    x = np.random.default_rng().standard_normal((1, 1, 32, 32)).astype(np.float32)
    a = cnnrt.load(proto).run(x)
    b = cnnrt.load(proto.SerializeToString()).run(x)
    np.testing.assert_array_equal(next(iter(a.values())), next(iter(b.values())))
    with pytest.raises(cnnrt.ModelLoadError, match="not a serialized ONNX model"):
        cnnrt.load(b"\x08\x07not an onnx model\xff\xff")
