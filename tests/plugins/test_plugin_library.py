"""C++ kernels through the plugin C ABI (cnnrt/plugin.h): cnnrt.load_plugin, attributes of every
kind reaching the kernel, the engine calling it (no Python in the loop), fallback of a C++-only op
from the reference backend to cpu, and the errors of a broken library or kernel."""

import numpy as np
import pytest
from onnx import TensorProto, helper

import cnnrt
from cnnrt.backends.cpu import _engine
from plugin_build import build_plugin
from oracle import assert_close, random_input

# test.cpp::Affine: y = scale * x + offsets[c] (per channel, axis 1), then mode "relu" or "none";
# status CNNRT_KERNEL_ERROR with a message when scale is negative (to test kernel errors).
AFFINE = r"""
#include <cnnrt/plugin.h>
#include <cstdio>
#include <cstring>

static int affine(const cnnrt_tensor* in, int32_t n_in, const cnnrt_tensor* out, int32_t n_out,
                  const cnnrt_attrs* attrs, void* user_data, char* err, size_t err_len) {
  const double scale = cnnrt_attr_float(attrs, "scale", 1.0);
  const cnnrt_attr* offsets = cnnrt_find_attr(attrs, "offsets");
  const cnnrt_attr* mode = cnnrt_find_attr(attrs, "mode");
  if (scale < 0) { std::snprintf(err, err_len, "scale %g must not be negative", scale); return CNNRT_KERNEL_ERROR; }
  const int64_t c = in[0].shape[1];
  if (!offsets || offsets->kind != CNNRT_ATTR_FLOATS || offsets->n != c || !mode || mode->kind != CNNRT_ATTR_STRING) {
    std::snprintf(err, err_len, "needs offsets (%lld floats) and mode", (long long)c);
    return CNNRT_KERNEL_ERROR;
  }
  int64_t inner = 1, total = 1;
  for (int32_t d = 0; d < in[0].ndim; ++d) total *= in[0].shape[d];
  for (int32_t d = 2; d < in[0].ndim; ++d) inner *= in[0].shape[d];
  const bool relu = std::strcmp(mode->s, "relu") == 0;
  *static_cast<int*>(user_data) += 1;
  for (int64_t i = 0; i < total; ++i) {
    float y = float(scale) * in[0].data[i] + float(offsets->floats[(i / inner) % c]);
    out[0].data[i] = relu && y < 0 ? 0.f : y;
  }
  return CNNRT_KERNEL_OK;
}

static int calls = 0;
extern "C" int cnnrt_plugin_register(const cnnrt_registrar* r) {
  return r->add_kernel(r, "test.cpp::Affine", &affine, &calls);
}
extern "C" int test_calls() { return calls; }
"""


def register_affine(numpy=None):
    return cnnrt.register_op("test.cpp", "Affine", attrs={"scale": 1.0, "offsets": [], "mode": "none"},
                             cost=lambda ins, outs, a: {"flops": 2 * int(np.prod(outs[0]))}, numpy=numpy)


def affine_model(scale=1.5, offsets=(0.5, -1.0, 2.0), mode="relu"):
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"], name="sig"),
             helper.make_node("Affine", ["s"], ["a"], domain="test.cpp", scale=scale,
                              offsets=list(offsets), mode=mode, name="affine"),
             helper.make_node("Mul", ["a", "k"], ["y"], name="neg")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [helper.make_tensor("k", TensorProto.FLOAT, [], [-2.0])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("test.cpp", 1)])
    m.ir_version = 8
    return m


def affine_ref(x, scale=1.5, offsets=(0.5, -1.0, 2.0), mode="relu"):
    y = scale / (1 + np.exp(-x.astype(np.float64))) + np.asarray(offsets).reshape(1, -1, 1, 1)
    return -2 * (np.maximum(y, 0) if mode == "relu" else y)


def test_cpp_kernel_runs_in_the_engine_with_its_attributes(tmp_path):
    lib = build_plugin(tmp_path, AFFINE)
    register_affine()  # the op first, its kernel after: either order works
    assert cnnrt.load_plugin(lib) == ["test.cpp::Affine"]
    assert "test.cpp::Affine" in _engine().plugin_kernels()
    rng = np.random.default_rng(1)
    for kw in ({}, {"scale": 0.25, "offsets": (-0.5, 0.1, 0.0), "mode": "none"}):
        m = cnnrt.load(affine_model(**kw))
        assert m.compiled().report["kernels"]["affine"] == f"plugin_test.cpp::Affine ({lib})"
        x = random_input((2, 3, 4, 5), rng)
        assert_close(m.run(x)["y"], affine_ref(x, **kw), 1e-5, what=str(kw))
    import ctypes
    assert ctypes.CDLL(lib).test_calls() == 2  # the engine called the library, once per run
    assert cnnrt.load_plugin(lib) == ["test.cpp::Affine"]  # loading again changes nothing


def test_cpp_only_op_falls_back_from_reference_to_cpu(tmp_path):
    lib = build_plugin(tmp_path, AFFINE)
    cnnrt.load_plugin(lib)
    with pytest.raises(cnnrt.UnsupportedOpError, match=rf"'affine' uses op test.cpp Affine .*a C\+\+ kernel "
                                                        rf"for it is loaded from {lib}, but the op itself"):
        cnnrt.load(affine_model())
    register_affine()  # no numpy kernel: the reference backend cannot run it
    m = cnnrt.load(affine_model(), backend="reference")
    report = m.compiled().report
    assert report["node_backends"] == {"sig": "reference", "affine": "cpu", "neg": "reference"}, report
    x = random_input((2, 3, 4, 5), np.random.default_rng(2))
    assert_close(m.run(x)["y"], affine_ref(x), 1e-5)
    with pytest.raises(cnnrt.UnsupportedOpError, match="'affine'.*test.cpp::Affine.*reference"):
        cnnrt.load(affine_model(), backend="reference", fallback=False)


def test_kernel_error_status_names_node_and_message(tmp_path):
    cnnrt.load_plugin(build_plugin(tmp_path, AFFINE))
    register_affine()
    m = cnnrt.load(affine_model(scale=-1.0))
    with pytest.raises(cnnrt.PluginError, match=r"step 'affine' \(plugin\): kernel test.cpp::Affine "
                                                r"\(.*libplugin.so\) returned status 1: scale -1 must not be negative"):
        m.run(random_input((2, 3, 4, 5), np.random.default_rng(3)))


def test_missing_library(tmp_path):
    with pytest.raises(cnnrt.PluginError, match=r"nothere.so: no such plugin library"):
        cnnrt.load_plugin(tmp_path / "nothere.so")
    junk = tmp_path / "junk.so"
    junk.write_bytes(b"not an ELF file")
    with pytest.raises(cnnrt.PluginError, match=r"junk.so: cannot load the plugin library"):
        cnnrt.load_plugin(junk)


def test_library_without_the_registration_symbol(tmp_path):
    lib = build_plugin(tmp_path, 'extern "C" int something_else() { return 0; }', "nosym")
    with pytest.raises(cnnrt.PluginError, match=r"libnosym.so: not a cnnrt plugin: it exports no "
                                                 r"cnnrt_plugin_register"):
        cnnrt.load_plugin(lib)


def test_failing_registration_leaves_nothing_registered(tmp_path):
    source = r"""
#include <cnnrt/plugin.h>
static int k(const cnnrt_tensor*, int32_t, const cnnrt_tensor*, int32_t, const cnnrt_attrs*, void*, char*, size_t) { return 0; }
extern "C" int cnnrt_plugin_register(const cnnrt_registrar* r) {
  r->add_kernel(r, "test.fail::First", &k, nullptr);
  r->set_error(r, "the GPU this needs is missing");
  return CNNRT_KERNEL_ERROR;
}"""
    lib = build_plugin(tmp_path, source, "failing")
    with pytest.raises(cnnrt.PluginError, match=r"libfailing.so: cnnrt_plugin_register failed \(status 1\): "
                                                 r"the GPU this needs is missing"):
        cnnrt.load_plugin(lib)
    assert "test.fail::First" not in _engine().plugin_kernels()


def test_bad_kernel_name_and_a_name_taken_by_another_library(tmp_path):
    bad = AFFINE.replace('"test.cpp::Affine"', '"Affine"')
    with pytest.raises(cnnrt.PluginError, match=r'op name must be "domain::OpType".*"Affine"'):
        cnnrt.load_plugin(build_plugin(tmp_path, bad, "badname"))
    first = build_plugin(tmp_path, AFFINE, "first")
    cnnrt.load_plugin(first)
    with pytest.raises(cnnrt.PluginError, match=r"a kernel for test.cpp::Affine is already registered "
                                                 r"\(by .*libfirst.so\)"):
        cnnrt.load_plugin(build_plugin(tmp_path, AFFINE, "second"))


def test_plugin_header_compiles_as_c(tmp_path):
    import shutil
    import subprocess
    if shutil.which("cc") is None:
        pytest.skip("no C compiler (cc)")
    src = tmp_path / "check.c"
    src.write_text('#include <cnnrt/plugin.h>\nint f(const cnnrt_attrs* a) { return (int)cnnrt_attr_int(a, "k", 3); }\n')
    r = subprocess.run(["cc", "-std=c99", "-Wall", "-Werror", "-c", f"-I{cnnrt.plugin_include_dir()}",
                        str(src), "-o", str(tmp_path / "check.o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
