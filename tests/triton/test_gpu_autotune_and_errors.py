"""The autotuning cache (a second process starts warm; a damaged file is only a cold start) and
the GPU backend's errors: no GPU, unsupported nodes, bad options — each names what is at fault."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from onnx import TensorProto, helper

pytest.importorskip("torch")
pytest.importorskip("triton")

import cnnrt  # noqa: E402
from cnnrt.backends.gpu import runtime  # noqa: E402
from cnnrt.backends.gpu.autotune import Tuner  # noqa: E402

CANDIDATES = [(64, 64), (128, 64), (32, 32)]


def _tuner(path, mode="on", times=None, calls=None):
    """A tuner whose 'timings' come from `times` (config -> ms), counting benchmark calls."""
    def bench(fn):
        fn()
        calls.append(1) if calls is not None else None
        return bench.current
    tuner = Tuner("TestGPU", mode, path=str(path), bench=bench)

    def choose(key):
        def run(cfg):
            bench.current = times[cfg]
        return tuner.choose("conv2d", key, CANDIDATES, CANDIDATES[0], run)
    return tuner, choose


def test_times_on_a_miss_and_remembers_across_processes(tmp_path):
    path = tmp_path / "autotune.json"
    calls = []
    times = {(64, 64): 3.0, (128, 64): 1.0, (32, 32): 2.0}
    tuner, choose = _tuner(path, times=times, calls=calls)
    assert choose((1, 56, 56, 64)) == (128, 64)
    assert len(calls) == 3 and tuner.misses == 1
    tuner.save()
    # a new Tuner (as in a second process) hits the file and times nothing
    calls2 = []
    tuner2, choose2 = _tuner(path, times={c: 9.0 for c in CANDIDATES}, calls=calls2)
    assert choose2((1, 56, 56, 64)) == (128, 64) and not calls2 and tuner2.hits == 1
    # another problem is a miss; saving merges with what is on file, keeping the first entry
    times2 = {(64, 64): 1.0, (128, 64): 5.0, (32, 32): 2.0}
    tuner3, choose3 = _tuner(path, times=times2)
    assert choose3((8, 7, 7, 512)) == (64, 64)
    tuner3.save()
    entries = json.loads(path.read_text())["entries"]
    assert sorted(e["config"] for e in entries.values()) == [[64, 64], [128, 64]]


def test_failing_candidates_are_skipped_and_modes(tmp_path):
    path = tmp_path / "autotune.json"
    tuner = Tuner("TestGPU", "on", path=str(path), bench=lambda fn: fn() or 1.0)

    def run(cfg):
        if cfg != (32, 32):
            raise RuntimeError("out of resources: shared memory")
    assert tuner.choose("conv2d", (1,), CANDIDATES, CANDIDATES[0], run) == (32, 32)
    for mode in ("off", "cache"):
        t = Tuner("TestGPU", mode, path=str(tmp_path / f"{mode}.json"), bench=None)
        assert t.choose("conv2d", (1,), CANDIDATES, (64, 64), lambda c: 1 / 0) == (64, 64)
    with pytest.raises(ValueError, match="autotune mode"):
        Tuner("TestGPU", "sometimes")


def test_damaged_cache_file_is_a_cold_start(tmp_path):
    path = tmp_path / "autotune.json"
    path.write_text("{not json")
    tuner, choose = _tuner(path, times={(64, 64): 1.0, (128, 64): 2.0, (32, 32): 3.0})
    assert choose((2,)) == (64, 64)
    tuner.save()
    assert json.loads(path.read_text())["format"] == 1


def _model(op="Relu", **attrs):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 5, 5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes, inits = [], []
    if op == "Conv":
        w = helper.make_tensor("w", TensorProto.FLOAT, [4, 2, 3, 3],
                               np.random.default_rng().standard_normal(72).astype(np.float32))
        inits.append(w)
        nodes.append(helper.make_node("Conv", ["x", "w"], ["y"], name="grouped", **attrs))
    else:
        nodes.append(helper.make_node(op, ["x"], ["y"], name="act", **attrs))
    return helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits),
                             opset_imports=[helper.make_opsetid("", 17)])


def test_grouped_conv_is_refused_by_name():
    with pytest.raises(cnnrt.UnsupportedOpError, match="grouped.*group=2.*not depthwise"):
        cnnrt.load(_model("Conv", group=2), device="cuda", precision="fp32", fallback=False)


def test_bad_device_precision_and_options():
    with pytest.raises(cnnrt.BackendError, match="device must be one of"):
        cnnrt.load(_model(), device="tpu")
    with pytest.raises(cnnrt.BackendError, match="precision 'fp8'"):
        cnnrt.load(_model(), device="cuda", precision="fp8")
    if os.environ.get("TRITON_INTERPRET") == "1":
        with pytest.raises(cnnrt.BackendError, match="bf16.*interpreter has no bf16"):
            cnnrt.load(_model(), device="cuda", precision="bf16")
    with pytest.raises(cnnrt.BackendError, match="unknown triton backend option"):
        cnnrt.load(_model(), device="cuda", options={"warp_speed": 9})
    with pytest.raises(cnnrt.BackendError, match="cpu backend runs fp32 only"):
        cnnrt.load(_model(), precision="bf16")
    with pytest.raises(cnnrt.BackendError, match="does not run on device 'cuda'"):
        cnnrt.load(_model(), backend="cpu", device="cuda")


def test_no_gpu_is_a_clear_error_not_a_crash():
    """Without TRITON_INTERPRET and without a GPU (this CI machine), device='cuda' says why."""
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    code = ("import cnnrt, onnx, sys; sys.path.insert(0, %r); import test_gpu_autotune_and_errors "
            "as t\ntry:\n    cnnrt.load(t._model(), device='cuda')\nexcept cnnrt.BackendError as e:"
            "\n    print('ERR', e)" % os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "ERR" in r.stdout and "NVIDIA GPU" in r.stdout and "TRITON_INTERPRET=1" in r.stdout


def test_cpu_only_install_never_imports_torch_or_triton():
    code = ("import sys, numpy as np, cnnrt, cnnrt.models as zoo\n"
            "m = cnnrt.load(zoo.build('lenet5'))\nm.run(np.ones((1, 1, 32, 32), np.float32))\n"
            "print(sorted(k for k in sys.modules if k.split('.')[0] in ('torch', 'triton')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().endswith("[]")


def test_cli_classify_on_the_gpu_backend(tmp_path):
    """`cnnrt classify --device cuda` (on the GPU, or under the interpreter where there is none):
    the GPU backend's report."""
    env = dict(os.environ, CNNRT_CACHE=str(tmp_path))
    r = subprocess.run([sys.executable, "-m", "cnnrt.cli", "classify", "--model", "lenet5",
                        "--device", "cuda", "--precision", "fp32", "--repeat", "1"],
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    where = "interpreter" if runtime.interpreting() else runtime.device_name()
    assert f"backend triton, {where} fp32" in r.stdout, r.stdout


def test_constant_concat_input_is_refused_by_name():
    c = helper.make_tensor("c", TensorProto.FLOAT, [1, 2, 5, 5], np.ones(50, np.float32))
    g = helper.make_graph([helper.make_node("Concat", ["x", "c"], ["y"], axis=1, name="cat")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 5, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [c])
    with pytest.raises(cnnrt.UnsupportedOpError, match="'cat' \\(concat\\) reads a constant"):
        cnnrt.load(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]),
                   device="cuda", precision="fp32", fallback=False)
