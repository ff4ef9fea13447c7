"""EfficientNet B0..B7 and L2 (random weights): sizes, costs, and cnnrt vs onnxruntime."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cnnrt
from cnnrt import models
from cnnrt.models import efficientnet

ort = pytest.importorskip("onnxruntime")

# torchvision's parameter counts; L2 from Noisy Student (Xie et al. 2020): "480M"
PARAMS = {"b0": 5_288_548, "b1": 7_794_184, "b2": 9_109_994, "b3": 12_233_232,
          "b4": 19_341_616, "b5": 30_389_784, "b6": 43_040_704, "b7": 66_347_960}
GMACS = {"b0": 0.39, "b7": 37.75}  # torchvision, at 224 and 600


class _CountOnly:
    """A weight source that counts parameters and hands out 1-element placeholders, so
    even L2 (1.9 GB) is counted without materializing it; the graph is never run."""
    tag = "count"

    def __init__(self):
        self.params = 0

    def get(self, name, shape, role):
        if not role.startswith("bn_running"):  # buffers, not parameters
            self.params += int(np.prod(shape))
        return np.zeros(1, np.float32)


def _count(variant):
    source = _CountOnly()
    efficientnet.graph(source, variant=variant, calibrate=False)
    return source.params


def _ort(model_or_path, x):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    src = model_or_path if isinstance(model_or_path, str) else model_or_path.SerializeToString()
    sess = ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0]


def _rel_err(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def _check_alive(logits):
    """Random weights must give live logits: neither vanished nor exploded, and input-dependent."""
    std = logits.std(axis=1)
    assert np.all((std > 0.1) & (std < 10)), std
    assert _rel_err(logits[0], logits[1]) > 1e-2


def test_round_filters_matches_the_reference_rule():
    assert [efficientnet.round_filters(32, w) for w in (1.0, 1.1, 1.2, 1.4, 2.0, 4.3)] == \
        [32, 32, 40, 48, 64, 136]
    assert efficientnet.round_filters(16, 0.6) == 16  # 9.6 -> 8 would lose > 10%: up to 16
    assert efficientnet.round_filters(16, 0.25) == 8  # never below 8
    assert [efficientnet.round_repeats(n, 3.1) for n in (1, 2, 3, 4)] == [4, 7, 10, 13]


@pytest.mark.parametrize("variant", sorted(PARAMS))
def test_param_count_matches_torchvision(variant):
    assert _count(variant) == PARAMS[variant]


def test_l2_param_count_without_materializing():
    assert abs(_count("l2") / 480e6 - 1) < 0.005


@pytest.mark.parametrize("variant", ["b0", "b7"])
def test_params_and_macs_from_cnnrt_accounting(variant):
    # full resolution (B7: 600); no BN calibration -- costs do not depend on weight values
    model = models.build(f"efficientnet_{variant}", weights="random", calibrate=False)
    total = cnnrt.load(model).summary().total
    assert total.params == PARAMS[variant]
    assert abs(total.macs / 1e9 / GMACS[variant] - 1) < 0.03


def test_metadata_and_silu_as_sigmoid_mul():
    model = models.build("efficientnet_b3", weights="random", size=32)
    meta = models.preprocess_meta.from_metadata(model)
    assert meta["size"] == [300, 300] and meta["resize"] == 332
    assert meta["interpolation"] == "bicubic"
    ops = [n.op_type for n in model.graph.node]
    assert "Sigmoid" in ops and "Mul" in ops and not {"Swish", "HardSwish"} & set(ops)
    bns = [n for n in model.graph.node if n.op_type == "BatchNormalization"]
    assert all(abs(a.f - 1e-3) < 1e-9 for n in bns for a in n.attribute if a.name == "epsilon")


# reduced sizes for B1..B7, some giving odd map sizes (72 -> 36 -> 18 -> 9 -> 5 -> 3)
@pytest.mark.parametrize("variant,size", [("b0", 224), ("b1", 64), ("b2", 72), ("b3", 80),
                                          ("b4", 88), ("b5", 64), ("b6", 64), ("b7", 64)])
def test_matches_onnxruntime(variant, size):
    model = models.build(f"efficientnet_{variant}", weights="random", seed=size, size=size)
    x = np.random.default_rng().standard_normal((2, 3, size, size)).astype(np.float32)
    got = cnnrt.load(model).run({"input": x})["logits"]
    want = _ort(model, x)
    assert got.shape == want.shape == (2, 1000)
    _check_alive(want)
    assert _rel_err(got, want) < 1e-4


def test_se_gates_stay_open():
    """Random-weight squeeze-excite gates neither close (0) nor saturate (1) in the deepest B*."""
    from onnx import TensorProto, helper

    model = models.build("efficientnet_b7", weights="random", size=64)
    gates = [n.output[0] for n in model.graph.node
             if n.op_type == "Sigmoid" and n.input[0].endswith(".fc2")]
    assert len(gates) == 55
    model.graph.output.extend(helper.make_tensor_value_info(g, TensorProto.FLOAT, None)
                              for g in gates)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng().standard_normal((2, 3, 64, 64)).astype(np.float32)
    values = np.concatenate([v.ravel() for v in sess.run(gates, {"input": x})])
    assert 0.3 < values.mean() < 0.7
    assert np.quantile(values, 0.01) > 0.02 and np.quantile(values, 0.99) < 0.98


def test_oversized_model_without_path_is_a_clear_error(monkeypatch):
    # L2's code path (1.9 GB of weights) on a tiny model, with the threshold lowered
    monkeypatch.setattr(models, "EXTERNAL_DATA_BYTES", 1000)
    with pytest.raises(ValueError, match="external data"):
        models.build("efficientnet_b0", weights="random", size=32, width=0.25, depth=0.25)


def test_external_data_roundtrip(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "EXTERNAL_DATA_BYTES", 1000)
    path = tmp_path / "b0.onnx"
    model = models.build("efficientnet_b0", path=path, weights="random", size=32, width=0.25,
                         depth=0.25)
    assert (tmp_path / "b0.onnx.data").stat().st_size > 4 * 100_000  # the weights went there
    assert os.path.getsize(path) < 100_000 and model.ByteSize() < 100_000
    x = np.random.default_rng().standard_normal((2, 3, 32, 32)).astype(np.float32)
    got = cnnrt.load(str(path)).run({"input": x})["logits"]
    assert _rel_err(got, _ort(str(path), x)) < 1e-4


# --- full size ---------------------------------------------------------------------------
@pytest.mark.slow
def test_b7_at_600_matches_onnxruntime():
    model = models.build("efficientnet_b7", weights="random")
    x = np.random.default_rng().standard_normal((2, 3, 600, 600)).astype(np.float32)
    got = cnnrt.load(model).run({"input": x})["logits"]
    want = _ort(model, x)
    _check_alive(want)
    assert _rel_err(got, want) < 1e-4


def _rss_gib():
    with open("/proc/self/status") as f:
        return {k: int(v.split()[0]) / 2**20 for k, v in (l.split(":", 1) for l in f)
                if k in ("VmRSS", "VmHWM")}


@pytest.mark.slow
def test_l2_at_800_external_data(tmp_path):
    path = str(tmp_path / "l2.onnx")
    models.build("efficientnet_l2", path=path, weights="random")
    assert os.path.getsize(path + ".data") > 1.9e9 and os.path.getsize(path) < 2**20
    m = cnnrt.load(path)
    x = np.random.default_rng().standard_normal((1, 3, 800, 800)).astype(np.float32)
    got = m.run({"input": x})["logits"]
    print("after cnnrt load + run:", _rss_gib())
    assert np.isfinite(got).all() and 0.1 < got.std() < 10
    del m
    want = _ort(path, x)
    assert _rel_err(got, want) < 1e-4
