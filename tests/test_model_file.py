"""The compiled-model file (.cnnrt, engine/MODEL_FILE.md): Model.save / `cnnrt compile` write
it, cnnrt.load reads it through the C++ reader. Round trips against onnxruntime on fresh random
data; the reader's refusals (version, size, checksum, forged content, shapes) by name."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
from importlib import resources

import numpy as np
import onnx
import pytest
from onnx import helper

import cnnrt
from cnnrt import model_file
from cnnrt.compiled_model import load_compiled
from oracle import assert_close, make_model, random_input, require_backend, run_ort

pytestmark = pytest.mark.usefixtures("_cpu")


@pytest.fixture
def _cpu():
    require_backend("cpu")


def _convnet(rng, opset=11) -> onnx.ModelProto:
    """conv+BN+ReLU, max pool, depthwise conv with a residual add, GAP, flatten, gemm, softmax
    (opset 11: the 2-D softmax lowering), batch symbolic."""
    r = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    inits = {"W1": r(8, 3, 3, 3) * .3, "B1": r(8), "s": np.abs(r(8)) + .5, "b": r(8), "m": r(8) * .1,
             "v": np.abs(r(8)) + .5, "W2": r(8, 1, 3, 3) * .3, "Wf": r(10, 8) * .3, "Bf": r(10)}
    nodes = [helper.make_node("Conv", ["x", "W1", "B1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c1", "s", "b", "m", "v"], ["bn"]),
             helper.make_node("Relu", ["bn"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p", "W2"], ["c2"], pads=[1, 1, 1, 1], group=8),
             helper.make_node("Add", ["c2", "p"], ["res"]),
             helper.make_node("GlobalAveragePool", ["res"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "Wf", "Bf"], ["logits"], transB=1),
             helper.make_node("Softmax", ["logits"], ["prob"], axis=1)]
    return make_model(nodes, [("x", ["N", 3, 12, 12])], [("prob", None)], inits, opset=opset)


def _multi_io(rng) -> onnx.ModelProto:
    """Two inputs, a concat, three outputs: computed, a graph input passed through, a constant."""
    k = rng.standard_normal((2, 6, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("Concat", ["a", "b"], ["cat"], axis=1),
             helper.make_node("Conv", ["cat", "k"], ["y"]),
             helper.make_node("Sigmoid", ["y"], ["z"])]
    return make_model(nodes, [("a", [1, 2, 5, 5]), ("b", [1, 4, 5, 5])],
                      [("z", None), ("a", [1, 2, 5, 5]), ("k", [2, 6, 1, 1])], {"k": k})


def _save_and_load(model, path, **kw) -> tuple[cnnrt.Model, cnnrt.Model]:
    m = cnnrt.load(model)
    m.save(path, **kw)
    return m, cnnrt.load(str(path))


@pytest.mark.parametrize("build", [_convnet, _multi_io])
def test_round_trip_matches_onnxruntime(build, tmp_path):
    rng = np.random.default_rng()
    model = build(rng)
    m, c = _save_and_load(model, tmp_path / "m.cnnrt")
    assert type(c).__name__ == "CompiledModel" and c.outputs == m.outputs and c.inputs != []
    feeds = {name: random_input(tuple(d if isinstance(d, int) else 1 for d in shape), rng)
             for name, shape, _ in m.inputs}
    want = run_ort(model, feeds)
    got = c.run(feeds)
    for name, w in zip(c.outputs, want):
        assert_close(got[name], w, rtol=1e-4, what=name)
        np.testing.assert_array_equal(got[name], m.run(feeds)[name])  # same steps, same kernels
    rep, orig = c.compiled().report, m.compiled().report
    assert {k: rep[k] for k in ("backend", "isa", "kernels", "arena_bytes")} == \
        {k: orig[k] for k in ("backend", "isa", "kernels", "arena_bytes")}
    assert rep["model_file"]["compiled_kernels"] == orig["kernels"] and "recompiled" not in rep


def test_batch_is_fixed_at_compile(tmp_path):
    rng = np.random.default_rng()
    model = _convnet(rng)
    _, c = _save_and_load(model, tmp_path / "b3.cnnrt", batch=3)
    x = random_input((3, 3, 12, 12), rng)
    assert_close(c.run(x)["prob"], run_ort(model, {"x": x})[0], rtol=1e-4)
    with pytest.raises(cnnrt.InputError, match=r"b3\.cnnrt.*\(3, 3, 12, 12\).*--batch"):
        c.run(x[:1])
    assert c.predict(x)[0][0][1] == pytest.approx(float(run_ort(model, {"x": x})[0][0].max()), rel=1e-4)


def test_recognised_by_magic_not_extension(tmp_path):
    rng = np.random.default_rng()
    cnnrt.load(_convnet(rng)).save(tmp_path / "model.bin")
    assert model_file.is_model_file(tmp_path / "model.bin")
    assert type(cnnrt.load(str(tmp_path / "model.bin"))).__name__ == "CompiledModel"
    onnx_path = tmp_path / "m.onnx"
    onnx.save(_convnet(rng), onnx_path)
    assert not model_file.is_model_file(onnx_path) and not model_file.is_model_file(tmp_path / "none")


def test_metadata_preprocess_and_labels_travel(tmp_path):
    rng = np.random.default_rng()
    model = _convnet(rng)
    spec = {"size": [12, 12], "resize": 14, "crop": "center", "scale": 1 / 255, "mean": [.5, .4, .3],
            "std": [.2, .25, .3], "channel_order": "BGR", "interpolation": "bicubic", "layout": "NCHW"}
    helper.set_model_props(model, {"cnnrt.preprocess": json.dumps(spec), "cnnrt.weights": "random"})
    names = [f"thing {i}" for i in range(10)]
    m = cnnrt.load(model, labels=names)
    m.save(tmp_path / "m.cnnrt")
    c = cnnrt.load(str(tmp_path / "m.cnnrt"))
    assert c.metadata == m.metadata and c.metadata["cnnrt.weights"] == "random"
    assert {k: v for k, v in vars(c.preprocess).items() if k != "source"} == \
        {k: v for k, v in vars(m.preprocess).items() if k != "source"}
    img = (rng.random((20, 17, 3)) * 255).astype(np.uint8)
    top_m, top_c = m.predict(img, topk=3), c.predict(img, topk=3)
    assert [label for label, _ in top_c] == [label for label, _ in top_m]
    assert top_c[0][0].startswith("thing ")
    np.testing.assert_allclose([p for _, p in top_c], [p for _, p in top_m], rtol=1e-6)


def test_zoo_resnet18_round_trip(tmp_path):
    from cnnrt import models

    model = models.build("resnet18", weights="random", seed=0, size=64)
    _, c = _save_and_load(model, tmp_path / "r18.cnnrt", batch=2)
    x = random_input((2, 3, 64, 64), np.random.default_rng())
    want = run_ort(model, {"input": x})[0]
    got = c.run({"input": x})["logits"]
    assert float(np.abs(got - want).max() / np.abs(want).max()) < 1e-4
    assert c.predict(x)[0][0][0] in c.predict(x, topk=1000)[0][0]  # ImageNet labels carried


def test_real_efficientnet_lite0_classifies_the_cat(tmp_path):
    from cnnrt import models

    m = cnnrt.load(models.build("efficientnet_lite0"))
    m.save(tmp_path / "lite0.cnnrt")
    c = cnnrt.load(str(tmp_path / "lite0.cnnrt"))
    cat = str(resources.files("cnnrt").joinpath("data/cat.jpg"))
    top_c, top_m = c.predict(cat), m.predict(cat)
    assert top_c[0][0] in {"tabby", "tiger cat", "Egyptian cat"}
    assert [label for label, _ in top_c] == [label for label, _ in top_m]
    np.testing.assert_allclose([p for _, p in top_c], [p for _, p in top_m], rtol=1e-5)


def test_saving_a_compiled_model_copies_its_file(tmp_path):
    cnnrt.load(_convnet(np.random.default_rng())).save(tmp_path / "a.cnnrt", batch=2)
    c = cnnrt.load(str(tmp_path / "a.cnnrt"))
    c.save(tmp_path / "b.cnnrt")
    assert (tmp_path / "b.cnnrt").read_bytes() == (tmp_path / "a.cnnrt").read_bytes()
    with pytest.raises(cnnrt.BackendError, match=r"a\.cnnrt.*batch 2.*batch 4"):
        c.save(tmp_path / "c.cnnrt", batch=4)


def test_cli_compile(tmp_path):
    onnx.save(_convnet(np.random.default_rng()), tmp_path / "m.onnx")
    from cnnrt.cli import main

    assert main(["compile", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "m.cnnrt"), "--batch", "2"]) == 0
    c = cnnrt.load(str(tmp_path / "m.cnnrt"))
    assert c.inputs[0][1] == (2, 3, 12, 12)
    r = subprocess.run([sys.executable, "-m", "cnnrt.cli", "compile", str(tmp_path / "missing.onnx"),
                        "-o", str(tmp_path / "x.cnnrt")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "missing.onnx" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "cnnrt.cli", "compile", str(tmp_path / "m.onnx"),
                        "-o", str(tmp_path / "b.cnnrt"), "--precision", "bf16"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "fp32 only" in r.stderr and "bf16" in r.stderr
    assert not (tmp_path / "b.cnnrt").exists()


def test_other_isa_is_recompiled(tmp_path):
    rng = np.random.default_rng()
    model = _convnet(rng)
    cnnrt.load(model, isa="ref").save(tmp_path / "ref.cnnrt")
    c = cnnrt.load(str(tmp_path / "ref.cnnrt"), isa="portable")
    rep = c.compiled().report
    assert rep["model_file"]["compiled_isa"] == "ref" and rep["isa"] == "portable"
    assert "compiled for ref" in rep["recompiled"] and "portable" in rep["recompiled"]
    x = random_input((1, 3, 12, 12), rng)
    assert_close(c.run(x)["prob"], run_ort(model, {"x": x})[0], rtol=1e-4)
    with pytest.raises(cnnrt.BackendError, match="ref.cnnrt.*isa"):
        cnnrt.load(str(tmp_path / "ref.cnnrt"), isa="sse9")


# --- refusals --------------------------------------------------------------------------------

def _with_crc(data: bytearray) -> bytearray:
    """The checksum made right again after a change: what a forged or buggy file looks like."""
    from cnnrt._engine import crc32c
    crc = crc32c(bytes(data[64:]), crc32c(bytes(data[:60])))
    data[60:64] = struct.pack("<I", crc)
    return data


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "m.cnnrt"
    cnnrt.load(_convnet(np.random.default_rng(1))).save(path)
    return path, bytearray(path.read_bytes())


def test_checksum_is_crc32c():
    from cnnrt._engine import crc32c
    assert crc32c(b"123456789") == 0xE3069283  # the standard check value of CRC-32C
    data = np.random.default_rng().integers(0, 256, 1000, dtype=np.uint8).tobytes()
    assert crc32c(data[300:], crc32c(data[:300])) == crc32c(data)
    assert crc32c(data[:7]) != crc32c(data[1:8])


def test_other_version_is_refused(saved, tmp_path):
    path, data = saved
    data[8:12] = struct.pack("<I", 7)
    bad = tmp_path / "v7.cnnrt"
    bad.write_bytes(_with_crc(data))
    with pytest.raises(cnnrt.ModelLoadError, match=r"v7\.cnnrt.*version 7.*reads version 1"):
        cnnrt.load(str(bad))


def test_truncated_file_is_refused_at_every_offset(saved, tmp_path):
    path, data = saved
    bad = tmp_path / "cut.cnnrt"
    for n in sorted({*range(0, 80), *range(80, len(data), 37), len(data) - 1}):
        bad.write_bytes(data[:n])
        with pytest.raises(cnnrt.CnnrtError, match="cut.cnnrt"):
            load_compiled(bad)
    bad.write_bytes(data + b"\0")
    with pytest.raises(cnnrt.ModelLoadError, match="cut.cnnrt.*past its end"):
        load_compiled(bad)


def test_flipped_byte_is_refused_anywhere(saved, tmp_path):
    path, data = saved
    bad = tmp_path / "flip.cnnrt"
    for i in sorted({*range(0, min(len(data), 600)), *range(600, len(data), 13)}):
        flipped = bytearray(data)
        flipped[i] ^= 0x10
        bad.write_bytes(flipped)
        with pytest.raises(cnnrt.ModelLoadError, match="flip.cnnrt") as e:
            load_compiled(bad)
        why = ("not a cnnrt model file" if i < 8 else "version" if i < 12 else
               "truncated|past its end" if 16 <= i < 24 else "checksum mismatch")
        assert any(w in str(e.value) for w in why.split("|")), (i, str(e.value))


def test_forged_content_with_a_valid_checksum_never_crashes(saved, tmp_path):
    """Bytes of the manifest changed and the CRC recomputed (a forged or buggy file): every case
    loads and runs, or is refused with an error; run in a child with an address-space limit, so
    that a forged huge shape fails to allocate instead of exhausting the machine."""
    path, _ = saved
    script = textwrap.dedent(f"""
        import resource, struct, sys
        import numpy as np, cnnrt
        from cnnrt._engine import crc32c
        from cnnrt.compiled_model import load_compiled
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        data = open({str(path)!r}, "rb").read()
        manifest_end = 64 + struct.unpack_from("<Q", data, 32)[0]
        rng = np.random.default_rng(0)
        loaded = refused = 0
        for trial in range(300):
            d = bytearray(data)
            for i in rng.integers(64, manifest_end, size=1 + trial % 3):
                d[i] ^= 1 << int(rng.integers(0, 8))
            d[60:64] = struct.pack("<I", crc32c(bytes(d[64:]), crc32c(bytes(d[:60]))))
            open({str(tmp_path / "forged.cnnrt")!r}, "wb").write(d)
            try:
                m = load_compiled({str(tmp_path / "forged.cnnrt")!r})
                m.run({{v[0]: np.ones(v[1], np.float32) for v in m.inputs}})
                loaded += 1
            except cnnrt.CnnrtError as e:
                assert "forged.cnnrt" in str(e), str(e)
                refused += 1
        print(loaded, refused)
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    loaded, refused = map(int, r.stdout.split())
    assert loaded + refused == 300 and refused > 100


def test_forged_unknown_op_is_refused_by_name(saved, tmp_path):
    path, data = saved
    at = data.index(b"global_avg_pool")
    data[at:at + 15] = b"global_xyz_pool"
    bad = tmp_path / "op.cnnrt"
    bad.write_bytes(_with_crc(data))
    with pytest.raises(cnnrt.ModelLoadError, match=r"op\.cnnrt: invalid model file: .*global_xyz_pool"):
        cnnrt.load(str(bad))


def test_not_a_model_file(tmp_path):
    bad = tmp_path / "junk.cnnrt"
    bad.write_bytes(b"CNNRT is not enough" * 3)
    with pytest.raises(cnnrt.ModelLoadError, match="junk.cnnrt: not a cnnrt model file"):
        load_compiled(bad)
    with pytest.raises(cnnrt.ModelLoadError, match="nothere.cnnrt: cannot open"):
        load_compiled(tmp_path / "nothere.cnnrt")


def test_save_refuses_what_a_file_cannot_hold(tmp_path, monkeypatch):
    model = _convnet(np.random.default_rng())
    with pytest.raises(cnnrt.BackendError, match="cpu backend.*'reference'"):
        cnnrt.load(model, backend="reference").save(tmp_path / "r.cnnrt")
    m = cnnrt.load(model)
    monkeypatch.setattr(model_file, "FILE_OPS", model_file.FILE_OPS - {"gemm"})
    with pytest.raises(cnnrt.UnsupportedOpError, match=r"step 'Gemm_\d+' \(op 'gemm'\)"):
        m.save(tmp_path / "g.cnnrt")
    assert not (tmp_path / "g.cnnrt").exists() and os.listdir(tmp_path) == []


def test_loading_options_that_do_not_apply_are_refused(saved):
    path, _ = saved
    with pytest.raises(cnnrt.BackendError, match="m.cnnrt.*cpu backend"):
        cnnrt.load(str(path), backend="reference")
    with pytest.raises(cnnrt.BackendError, match="m.cnnrt.*fp32"):
        cnnrt.load(str(path), precision="bf16")
    with pytest.raises(cnnrt.CnnrtError, match="m.cnnrt.*summary"):
        cnnrt.load(str(path)).summary()


def test_insight_tools_on_a_compiled_file(tmp_path):
    """verify works on a .cnnrt given its ONNX model; what needs the layers says so by name."""
    onnx.save(_convnet(np.random.default_rng()), tmp_path / "m.onnx")
    cnnrt.load(str(tmp_path / "m.onnx")).save(tmp_path / "m.cnnrt")
    c = cnnrt.load(str(tmp_path / "m.cnnrt"))
    assert cnnrt.verify(c, onnx_model=str(tmp_path / "m.onnx"), images=None, seeds=2).passed
    with pytest.raises(cnnrt.ModelLoadError, match=r"m\.cnnrt.*onnx_model="):
        cnnrt.verify(str(tmp_path / "m.cnnrt"))
    with pytest.raises(cnnrt.CnnrtError, match=r"m\.cnnrt.*profile"):
        c.profile()
    from cnnrt.insight import summarize
    with pytest.raises(cnnrt.ModelLoadError, match=r"m\.cnnrt: a compiled cnnrt model"):
        summarize(str(tmp_path / "m.cnnrt"))


def test_a_model_that_falls_back_from_cpu_is_refused_naming_the_node(tmp_path):
    """A conv whose weights are a graph input runs on the reference backend (fallback); a file
    holds only the engine's steps, so saving names that node instead of writing half a model."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv_w_input")]
    with pytest.warns(RuntimeWarning, match="fall back from cpu to reference"):
        m = cnnrt.load(make_model(nodes, [("x", [1, 2, 5, 5]), ("w", [3, 2, 3, 3])], [("y", None)]))
    rng = np.random.default_rng()
    m.run({"x": random_input((1, 2, 5, 5), rng), "w": random_input((3, 2, 3, 3), rng)})  # runs
    with pytest.raises(cnnrt.UnsupportedOpError, match="conv_w_input.*cpu"):
        m.save(tmp_path / "m.cnnrt")
    assert list(tmp_path.iterdir()) == []
