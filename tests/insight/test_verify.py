"""cnnrt.verify / `cnnrt verify`: PASS on healthy models, FAIL naming exactly the layer whose
weights were deliberately broken after import."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

import cnnrt
from cnnrt.cli import main
from cnnrt.frontend.onnx import import_onnx
from cnnrt.ir import Value

pytest.importorskip("onnxruntime")




@pytest.fixture(scope="module")
def lite0_path(tmp_path_factory):
    from cnnrt import models
    path = tmp_path_factory.mktemp("m") / "efficientnet_lite0.onnx"
    models.build("efficientnet_lite0", path=str(path))  # real ImageNet weights
    return str(path)


def broken(path: str, onnx_node: str, factor: float = 1.01) -> cnnrt.Model:
    """The model with the weights of the cnnrt node made from `onnx_node` scaled by `factor`
    (a new array: the imported one is shared and read-only)."""
    g = import_onnx(path)
    node = next(n for n in g.nodes if onnx_node in n.origin and n.op in ("conv", "gemm"))
    w = node.inputs[1]
    node.inputs[1] = Value(w.name, w.dtype, w.shape, np.asarray(w.const) * np.float32(factor))
    return cnnrt.Model(g, "cpu")  # no reload: keeps the broken weights


def test_healthy_small_model_passes(small_path):
    report = cnnrt.verify(small_path)
    assert report.passed and report.divergence is None
    assert [c.name for c in report.cases] == [f"random (seed {s})" for s in range(3)]
    for case in report.cases:
        (out,) = case.outputs
        assert out.name == "prob" and out.rel < 1e-5 and out.top1 == 1.0 and out.passed
    assert "PASS" in str(report)


@pytest.mark.parametrize("layer, step, origin, last", [
    ("c1", "c1", [("c1", "Conv"), ("bn1", "BatchNormalization"), ("r1", "Relu")], None),
    ("c2", "c2", [("c2", "Conv"), ("add", "Add"), ("r2", "Relu")], "r1_out"),
    ("fc", "fc", [("fc", "Gemm")], "flat_out"),
])
def test_broken_layer_is_named(small_path, layer, step, origin, last):
    report = cnnrt.verify(broken(small_path, layer), onnx_model=small_path)
    assert not report.passed and all(not c.passed for c in report.cases)
    d = report.divergence
    assert d.step == step and d.origin == origin and d.last_agreeing == last
    assert d.rel > 1e-4 and d.probes >= 1
    assert f"step {step!r}" in str(report) and "FAIL" in str(report)


def test_real_weights_and_the_cat_photo_pass(lite0_path):
    report = cnnrt.verify(lite0_path, seeds=[0])
    assert report.passed
    image = report.cases[-1]
    assert image.name == "image cat.jpg" and image.outputs[0].top1 == 1.0


def test_calibrated_random_zoo_model_passes(tmp_path):
    from cnnrt import models
    path = tmp_path / "resnet18.onnx"
    models.build("resnet18", path=str(path), weights="random", seed=0, size=64)
    report = cnnrt.verify(str(path), seeds=[0, 1])
    assert report.passed and len(report.cases) == 2  # 64 px: the photo's 224 does not fit
    logits = [cnnrt.load(str(path)).run(np.random.default_rng(s).standard_normal(
        (1, 3, 64, 64)).astype(np.float32))["logits"] for s in (0, 1)]
    assert np.abs(logits[0] - logits[1]).max() > 0.1 * np.abs(logits[0]).max()  # alive


def test_broken_layer_deep_in_a_real_model_is_named(lite0_path):
    g = import_onnx(lite0_path)
    convs = [n for n in g.nodes if n.op == "conv"]
    target = convs[len(convs) // 2].origin[0]
    report = cnnrt.verify(broken(lite0_path, target), seeds=[0], images=None,
                          onnx_model=lite0_path)
    assert not report.passed
    d = report.divergence
    assert d.origin[0][0] == target and d.step == target
    assert d.probes <= 8  # binary search over ~60 values


def test_verify_without_the_onnx_file_says_so(small_path):
    m = cnnrt.Model(import_onnx(onnx.load(small_path)), "cpu")
    with pytest.raises(cnnrt.ModelLoadError, match="onnx_model="):
        cnnrt.verify(m)


def test_cli(small_path, capsys):
    assert main(["verify", small_path, "--seeds", "1"]) == 0
    assert "PASS" in capsys.readouterr().out
    assert main(["verify", small_path, "--seeds", "1", "--tol", "0", "--no-bisect"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "first divergence" not in out
