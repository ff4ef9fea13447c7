"""The C API (cnnrt.h, libcnnrt) from programs built with CMake against the installed package
(find_package(cnnrt) via `python -m cnnrt --cmake-dir`): examples/classify_cpp on the real
EfficientNet-Lite0 against Model.predict, and tests/capi/capi_test.c (plain C, no Python in
its process) for several models at once, many threads on one model, leaks and error codes, and
a model with a C++ custom op whose plugin library it loads with cnnrt_load_plugin.
Files are written by Model.save, so the Python and C paths read the same bytes."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import cnnrt
from oracle import assert_close, random_input, require_backend, run_ort
from test_model_file import _convnet, _multi_io, _with_crc

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "tests" / "plugins") not in sys.path:  # as pytest puts it there for tests/plugins/
    sys.path.append(str(REPO / "tests" / "plugins"))
from plugin_build import build_plugin  # noqa: E402
from shuffle_plugin import KERNEL, LIB_NAME, build_shuffle_library, reference, register_shuffle, shuffle_model  # noqa: E402


def _cmake_build(src: Path, build: Path) -> Path:
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    r = subprocess.run(["cmake", "-S", str(src), "-B", str(build), f"-Dcnnrt_DIR={cnnrt.cmake_dir()}"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["cmake", "--build", str(build)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return build


@pytest.fixture(scope="module")
def capi_test(tmp_path_factory) -> Path:
    require_backend("cpu")
    if not Path(cnnrt.cmake_dir(), "cnnrtConfig.cmake").exists():
        pytest.skip("the package was installed without its C API")
    return _cmake_build(REPO / "tests" / "capi", tmp_path_factory.mktemp("capi")) / "capi_test"


def _c(exe: Path, *args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def _save(model, path: Path, **kw) -> cnnrt.Model:
    m = cnnrt.load(model)
    m.save(path, **kw)
    return m


def test_cmake_dir_is_where_the_package_is():
    require_backend("cpu")
    r = subprocess.run([sys.executable, "-m", "cnnrt", "--cmake-dir"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == cnnrt.cmake_dir()
    root = Path(cnnrt.cmake_dir()).parents[2]
    assert (root / "include" / "cnnrt" / "cnnrt.h").exists() and (root / "lib" / "libcnnrt.so").exists()


@pytest.fixture(scope="module")
def classify(capi_test, tmp_path_factory) -> Path:
    return _cmake_build(REPO / "examples" / "classify_cpp", tmp_path_factory.mktemp("classify")) / "classify"


def _top5(r: subprocess.CompletedProcess) -> list[tuple[str, float]]:
    assert r.returncode == 0, r.stderr
    return [(label, float(p)) for p, label in
            (line.split(None, 1) for line in r.stdout.splitlines() if line.startswith("  "))]


def test_classify_example_matches_predict(classify, tmp_path):
    """examples/classify_cpp built against the package, on the real cat photo."""
    from PIL import Image

    from cnnrt import models

    exe = classify
    m = cnnrt.load(models.build("efficientnet_lite0"))
    m.save(tmp_path / "lite0.cnnrt")
    cat = str(resources.files("cnnrt").joinpath("data/cat.jpg"))
    with Image.open(cat) as im:
        im.convert("RGB").save(tmp_path / "cat.ppm")
    top = _top5(_c(exe, tmp_path / "lite0.cnnrt", tmp_path / "cat.ppm"))
    want = m.predict(cat)
    assert [label for label, _ in top] == [label for label, _ in want]
    np.testing.assert_allclose([p for _, p in top], [p for _, p in want], rtol=1e-4, atol=1e-6)
    assert top[0][0] in {"tabby", "tiger cat", "Egyptian cat"}


PREPROCESS_CASES = {
    "bilinear crop": {"size": [16, 16], "resize": 20, "crop": "center"},
    "bicubic BGR": {"size": [16, 12], "resize": 18, "crop": "center", "interpolation": "bicubic",
                    "channel_order": "BGR", "mean": [120, 110, 100], "std": [60, 50, 70], "scale": 1.0},
    "nearest": {"size": [15, 15], "resize": 23, "crop": "center", "interpolation": "nearest"},
    "no resize first": {"size": [17, 13], "resize": None, "crop": None},
    "gray": {"size": [16, 16], "resize": 19, "crop": "center", "channel_order": "L", "mean": [0.5], "std": [0.25]},
    "NHWC": {"size": [14, 14], "resize": 16, "crop": "center", "layout": "NHWC"},
}


@pytest.mark.parametrize("case", list(PREPROCESS_CASES))
def test_classify_example_preprocesses_as_python(classify, tmp_path, case):
    """The example's preprocessing against preprocess.py on noise images of odd sizes: a linear
    model over every input value, so one pixel off by one level moves the probabilities ~1e-4.
    (Bit-exact with Pillow 13, which picks the order of its two resampling passes as the example
    does; older Pillow always goes horizontal first, a level off here and there.)"""
    import json

    import PIL

    import onnx
    from onnx import helper
    from PIL import Image

    from oracle import make_model

    spec = {**PREPROCESS_CASES[case]}
    rng = np.random.default_rng()
    (h, w), c = spec["size"], 1 if spec.get("channel_order") == "L" else 3
    shape = [1, h, w, c] if spec.get("layout") == "NHWC" else [1, c, h, w]
    wt = (rng.standard_normal((10, c * h * w)) * 0.5 / np.sqrt(c * h * w)).astype(np.float32)
    model = make_model([helper.make_node("Flatten", ["x"], ["f"]), helper.make_node("Gemm", ["f", "W"], ["y"], transB=1)],
                       [("x", shape)], [("y", None)], {"W": wt})
    helper.set_model_props(model, {"cnnrt.preprocess": json.dumps(spec)})
    labels = [f"class {chr(65 + i)}" for i in range(10)]
    m = cnnrt.load(model, labels=labels)
    m.save(tmp_path / "m.cnnrt")
    for k, size in enumerate([(45, 31), (29, 52), (16, 16), (60, 23)]):
        img = tmp_path / f"img{k}.ppm"
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(img)
        top = _top5(_c(classify, tmp_path / "m.cnnrt", img))
        want = m.predict(str(img))
        assert [label for label, _ in top] == [label for label, _ in want], (case, size)
        atol = 2e-6 if int(PIL.__version__.split(".")[0]) >= 13 else 2e-3
        np.testing.assert_allclose([p for _, p in top], [p for _, p in want], atol=atol, err_msg=f"{case} {size}")


def test_several_models_at_once_match_onnxruntime(capi_test, tmp_path):
    rng = np.random.default_rng()
    args, cases = [], []
    for k, (build, batch) in enumerate([(_convnet, 2), (_multi_io, None), (_convnet, 1)]):
        model = build(rng)
        m = _save(model, tmp_path / f"m{k}.cnnrt", batch=batch)
        feeds = {name: random_input(tuple(batch if i == 0 and batch else d if isinstance(d, int) else 1
                                          for i, d in enumerate(shape)), rng)
                 for name, shape, _ in m.inputs}
        np.concatenate([a.ravel() for a in feeds.values()]).tofile(tmp_path / f"in{k}.bin")
        args += [tmp_path / f"m{k}.cnnrt", tmp_path / f"in{k}.bin", tmp_path / f"out{k}.bin"]
        cases.append((model, feeds))
    r = _c(capi_test, "run", *args, env={"CAPI_THREADS": "2"})
    assert r.returncode == 0, r.stderr
    for k, (model, feeds) in enumerate(cases):
        got, at = np.fromfile(tmp_path / f"out{k}.bin", np.float32), 0
        want = run_ort(model, feeds)
        for w in want:
            assert_close(got[at:at + w.size].reshape(w.shape), w, rtol=1e-4, what=f"model {k}")
            at += w.size
        assert at == got.size


@pytest.mark.parametrize("engine_threads", ["1", "2"])
def test_one_model_from_eight_threads_gives_single_thread_results(capi_test, tmp_path, engine_threads):
    from cnnrt import models

    _save(models.build("resnet18", weights="random", seed=0, size=32), tmp_path / "r18.cnnrt")
    random_input((1, 3, 32, 32), np.random.default_rng()).tofile(tmp_path / "in.bin")
    r = _c(capi_test, "threads", tmp_path / "r18.cnnrt", tmp_path / "in.bin", 8, 12,
           env={"CAPI_THREADS": engine_threads})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "mismatches 0 distinct 1" in r.stdout


def test_no_leak_over_ten_thousand_runs(capi_test, tmp_path):
    _save(_convnet(np.random.default_rng()), tmp_path / "m.cnnrt")
    random_input((1, 3, 12, 12), np.random.default_rng()).tofile(tmp_path / "in.bin")
    r = _c(capi_test, "leak", tmp_path / "m.cnnrt", tmp_path / "in.bin")
    assert r.returncode == 0, r.stderr
    words = r.stdout.split()
    rss = {words[i]: int(words[i + 1]) for i in range(1, len(words), 2)}
    # A leak of 100 bytes a run would add 880 KiB over the 9,000 runs; allocator warm-up adds
    # a little at first, then RSS stays flat (measured: +68..212 KiB by 10,000, +0 after).
    assert rss["runs10000"] - rss["runs1000"] < 512, rss
    assert rss["loads500"] - rss["loads50"] < 1024, rss  # 450 load/run/free cycles


def test_load_errors_are_statuses_naming_the_file(capi_test, tmp_path):
    _save(_convnet(np.random.default_rng()), tmp_path / "ok.cnnrt")
    data = bytearray((tmp_path / "ok.cnnrt").read_bytes())
    (tmp_path / "cut.cnnrt").write_bytes(data[:len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 1
    (tmp_path / "flip.cnnrt").write_bytes(flipped)
    v9 = bytearray(data)
    v9[8:12] = struct.pack("<I", 9)
    (tmp_path / "v9.cnnrt").write_bytes(_with_crc(v9))
    forged = bytearray(data)
    at = forged.index(b"global_avg_pool")
    forged[at:at + 6] = b"GLOBAL"
    (tmp_path / "forged.cnnrt").write_bytes(_with_crc(forged))
    (tmp_path / "text.cnnrt").write_text("hello")
    cases = {"ok": "CNNRT_OK", "cut": "CNNRT_CORRUPT_FILE", "flip": "CNNRT_CORRUPT_FILE",
             "v9": "CNNRT_VERSION_MISMATCH", "forged": "CNNRT_INVALID_MODEL",
             "text": "CNNRT_NOT_A_MODEL_FILE", "missing": "CNNRT_IO_ERROR"}
    for name, status in cases.items():
        r = _c(capi_test, "load", tmp_path / f"{name}.cnnrt")
        assert r.returncode == 0, r.stderr
        assert r.stdout.split()[0] == status, (name, r.stdout)
        if status != "CNNRT_OK":
            assert f"{name}.cnnrt" in r.stdout, r.stdout
    assert "version 9" in _c(capi_test, "load", tmp_path / "v9.cnnrt").stdout


def test_misuse_is_reported_not_crashed(capi_test, tmp_path):
    m = _save(_convnet(np.random.default_rng()), tmp_path / "m.cnnrt")
    r = _c(capi_test, "misuse", tmp_path / "m.cnnrt")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "unknown isa 'sse9'" in r.stdout and "input 0 ('x') is NULL" in r.stdout
    assert f"isa {m.compiled().report['isa']}" in r.stdout


@pytest.fixture
def shuffle_file(tmp_path):
    """A .cnnrt file with a plugin step (examples/plugin's ChannelShuffle, C++), saved here with
    the library loaded; the op and kernel are forgotten again afterwards."""
    from cnnrt.backends.cpu import _engine
    from cnnrt.plugins import custom_ops, library

    lib = build_shuffle_library(tmp_path)
    register_shuffle()
    try:
        cnnrt.load_plugin(lib)
        model, weights = shuffle_model(np.random.default_rng())
        m = cnnrt.load(model)
        m.save(tmp_path / "shuffle.cnnrt", batch=2)
        yield tmp_path / "shuffle.cnnrt", lib, m, weights
    finally:
        custom_ops.unregister_op("com.example", "ChannelShuffle")
        _engine().unregister_plugin_kernel(KERNEL)
        library._LOADED.pop(os.path.realpath(lib), None)
        library._KERNEL_FROM.pop(KERNEL, None)


def test_plugin_model_runs_after_cnnrt_load_plugin(capi_test, shuffle_file, tmp_path):
    path, lib, m, weights = shuffle_file
    x = random_input((2, 3, 8, 8), np.random.default_rng())
    x.tofile(tmp_path / "in.bin")
    r = _c(capi_test, "plugin", lib, path, tmp_path / "in.bin", tmp_path / "out.bin")
    assert r.returncode == 0, r.stdout + r.stderr
    before = r.stdout.splitlines()[0]
    assert before.startswith(f"before CNNRT_PLUGIN_ERROR {path}: step 'shuffle' runs the plugin kernel "
                             "com.example::ChannelShuffle"), before
    assert f"from {LIB_NAME}" in before and "cnnrt_load_plugin(" in before, before
    got = np.fromfile(tmp_path / "out.bin", np.float32).reshape(2, 4, 8, 8)
    np.testing.assert_array_equal(got, m.run(x)["y"])  # the same file, Python's results
    assert_close(got, reference(weights, x), rtol=1e-4)


def test_cnnrt_load_plugin_errors_name_the_library(capi_test, tmp_path):
    nosym = build_plugin(tmp_path, 'extern "C" int something_else() { return 0; }', "nosym")
    failing = build_plugin(tmp_path, r"""
#include <cnnrt/plugin.h>
extern "C" int cnnrt_plugin_register(const cnnrt_registrar* r) {
  r->set_error(r, "the GPU this needs is missing");
  return CNNRT_KERNEL_ERROR;
}""", "failing")
    (tmp_path / "junk.so").write_bytes(b"not an ELF file")
    cases = {tmp_path / "nothere.so": ("CNNRT_IO_ERROR", "nothere.so: no such plugin library"),
             tmp_path / "junk.so": ("CNNRT_PLUGIN_ERROR", "junk.so: cannot load the plugin library"),
             nosym: ("CNNRT_PLUGIN_ERROR", "libnosym.so: not a cnnrt plugin: it exports no cnnrt_plugin_register"),
             failing: ("CNNRT_PLUGIN_ERROR", "libfailing.so: cnnrt_plugin_register failed (status 1): "
                                             "the GPU this needs is missing")}
    for path, (status, message) in cases.items():
        r = _c(capi_test, "loadplugin", path)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split()[0] == status and message in r.stdout, (path, r.stdout)
