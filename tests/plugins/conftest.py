"""The plugin tests' fixture: a registry snapshot restored after each test (custom ops,
converters, schemas, backends, loaded kernel libraries, entry-point flags)."""

import pytest

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
