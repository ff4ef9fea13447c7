"""Fixtures for the plugin tests: a registry snapshot restored after each test (custom ops,
converters, schemas, backends, loaded kernel libraries, entry-point flags), and a compiler
helper for plugin libraries."""

import subprocess

import pytest

import cnnrt
from cnnrt.backends import registry
from cnnrt.backends.cpu import _engine
from cnnrt.frontend import onnx_registry
from cnnrt.ir import ops
from cnnrt.plugins import custom_ops, library


@pytest.fixture(autouse=True)
def clean_plugins():
    saved = (dict(custom_ops.CUSTOM_OPS), dict(ops.SCHEMAS), dict(onnx_registry.CONVERTERS),
             dict(registry._FACTORIES), dict(registry._INSTANCES), registry._entry_points_loaded,
             custom_ops._entry_points_loaded, dict(library._LOADED), dict(library._KERNEL_FROM))
    kernels = set(_engine().plugin_kernels())
    yield
    for d, s in zip((custom_ops.CUSTOM_OPS, ops.SCHEMAS, onnx_registry.CONVERTERS,
                     registry._FACTORIES, registry._INSTANCES), saved):
        d.clear()
        d.update(s)
    registry._entry_points_loaded, custom_ops._entry_points_loaded = saved[5], saved[6]
    for d, s in zip((library._LOADED, library._KERNEL_FROM), saved[7:]):
        d.clear()
        d.update(s)
    for name in set(_engine().plugin_kernels()) - kernels:
        _engine().unregister_plugin_kernel(name)


def build_plugin(tmp_path, source: str, name: str = "plugin") -> str:
    """Compiles C++ source into a plugin library with the system compiler; returns its path."""
    src = tmp_path / f"{name}.cc"
    src.write_text(source)
    lib = tmp_path / f"lib{name}.so"
    r = subprocess.run(["c++", "-O1", "-std=c++17", "-shared", "-fPIC",
                        f"-I{cnnrt.plugin_include_dir()}", str(src), "-o", str(lib)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return str(lib)
