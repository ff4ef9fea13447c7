"""Custom ops in .cnnrt files: a plugin step whose kernel is C++ (a plugin library) is saved by
name with its library's file name as a hint, and read back once that library is loaded; a numpy
kernel is refused at save by step and op; the reader refuses a file whose plugin kernel is not
registered in the process (a fresh subprocess), naming the step, the kernel and the library."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import cnnrt
from cnnrt.backends.cpu import _engine
from oracle import assert_close, random_input
from shuffle_plugin import KERNEL, LIB_NAME, build_shuffle_library, reference, register_shuffle, shuffle_model
from test_custom_ops import conv_tanh_relu_model, register_scaled_tanh


def test_a_numpy_kernel_step_is_refused_by_step_and_op(tmp_path):
    register_scaled_tanh()(lambda x, alpha, beta: alpha * np.tanh(beta * x))
    model, _ = conv_tanh_relu_model(np.random.default_rng())
    m = cnnrt.load(model)  # on cpu the custom op runs as a plugin step calling numpy
    with pytest.raises(cnnrt.UnsupportedOpError, match=r"step 'tanh' \(op 'plugin', custom op "
                                                      r"test.ops::ScaledTanh\) runs a numpy \(Python\) "
                                                      r"kernel.*give the op a C\+\+ kernel"):
        m.save(tmp_path / "m.cnnrt")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def saved_shuffle(tmp_path):
    """conv -> ChannelShuffle (C++ kernel) -> conv, saved for batch 2: (path, lib, model, weights)."""
    lib = build_shuffle_library(tmp_path)
    register_shuffle()
    assert cnnrt.load_plugin(lib) == [KERNEL]
    model, weights = shuffle_model(np.random.default_rng())
    m = cnnrt.load(model)
    path = tmp_path / "shuffle.cnnrt"
    m.save(path, batch=2)
    return path, lib, m, weights


def test_cpp_kernel_step_round_trips(saved_shuffle):
    path, lib, m, weights = saved_shuffle
    c = cnnrt.load(str(path))
    x = random_input((2, 3, 8, 8), np.random.default_rng())
    got = c.run(x)["y"]
    assert_close(got, reference(weights, x), rtol=1e-4)
    np.testing.assert_array_equal(got, m.run(x)["y"])  # the same steps and kernels
    report = c.compiled().report
    assert report["kernels"]["shuffle"] == f"plugin_{KERNEL} ({lib})"
    # the file names the library by its file name only: a path here means nothing elsewhere
    assert report["model_file"]["compiled_kernels"]["shuffle"] == f"plugin_{KERNEL} ({LIB_NAME})"
    data = path.read_bytes()
    assert b"PLUG" in data and LIB_NAME.encode() in data and str(path.parent).encode() not in data


def test_cli_compile_loads_the_plugin_library(tmp_path):
    import onnx
    from cnnrt.cli import main

    lib = build_shuffle_library(tmp_path)
    register_shuffle()  # as an installed package's cnnrt.ops entry point would
    model, weights = shuffle_model(np.random.default_rng())
    onnx.save(model, tmp_path / "shuffle.onnx")
    assert main(["compile", str(tmp_path / "shuffle.onnx"), "-o", str(tmp_path / "s.cnnrt"),
                 "--plugin", lib]) == 0
    x = random_input((1, 3, 8, 8), np.random.default_rng())
    assert_close(cnnrt.load(str(tmp_path / "s.cnnrt")).run(x)["y"], reference(weights, x), rtol=1e-4)


def test_reader_refuses_a_plugin_kernel_not_loaded(saved_shuffle, tmp_path):
    """A fresh process (empty kernel registry): refused by name with what to do; after
    cnnrt.load_plugin the same file loads and gives this process's results."""
    path, lib, m, _ = saved_shuffle
    x = random_input((2, 3, 8, 8), np.random.default_rng())
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent(f"""
        import json, numpy as np, cnnrt
        try:
            cnnrt.load({str(path)!r})
            print(json.dumps(["loaded"]))
        except cnnrt.ModelLoadError as e:
            msg = str(e)
        cnnrt.load_plugin({lib!r})
        y = cnnrt.load({str(path)!r}).run(np.load({str(tmp_path / 'x.npy')!r}))["y"]
        np.save({str(tmp_path / 'y.npy')!r}, y)
        print(json.dumps(msg))
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    msg = json.loads(r.stdout.strip().splitlines()[-1])
    assert msg.startswith(str(path) + ": step 'shuffle' runs the plugin kernel " + KERNEL), msg
    assert f"from {LIB_NAME}" in msg and "cnnrt.load_plugin(" in msg and "cnnrt_load_plugin(" in msg, msg
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), m.run(x)["y"])


def test_a_kernel_unregistered_since_is_refused_in_process(saved_shuffle):
    path, lib, *_ = saved_shuffle
    _engine().unregister_plugin_kernel(KERNEL)
    with pytest.raises(cnnrt.ModelLoadError, match=rf"shuffle.cnnrt: step 'shuffle' runs the plugin kernel "
                                                   rf"{KERNEL}.*from {LIB_NAME}.*load it first"):
        cnnrt.load(str(path))
    assert cnnrt.load_plugin(lib) == [KERNEL]  # registers it again
    assert KERNEL in _engine().plugin_kernels()
    cnnrt.load(str(path))


def test_forged_plugin_steps(saved_shuffle, tmp_path):
    """Without the PLUG record (skipped as unknown) the refusal still names step and kernel; a
    plugin step that names no kernel is an invalid file."""
    from test_model_file import _with_crc

    path, *_ = saved_shuffle
    data = bytearray(path.read_bytes())
    no_hint = bytearray(data)
    at = no_hint.index(b"PLUG")
    no_hint[at:at + 4] = b"PLUX"
    (tmp_path / "nohint.cnnrt").write_bytes(_with_crc(no_hint))
    cnnrt.load(str(tmp_path / "nohint.cnnrt"))  # the kernel is loaded: the hint is not needed
    _engine().unregister_plugin_kernel(KERNEL)
    with pytest.raises(cnnrt.ModelLoadError, match=rf"nohint.cnnrt: step 'shuffle' runs the plugin kernel "
                                                   rf"{KERNEL}.*an unnamed library"):
        cnnrt.load(str(tmp_path / "nohint.cnnrt"))
    at = data.index(b"plugin_kernel")
    data[at:at + 13] = b"plugin_kernex"
    (tmp_path / "nokernel.cnnrt").write_bytes(_with_crc(data))
    with pytest.raises(cnnrt.ModelLoadError, match=r"nokernel.cnnrt: invalid model file: step 'shuffle' "
                                                   r"\(plugin\) does not name its kernel"):
        cnnrt.load(str(tmp_path / "nokernel.cnnrt"))
