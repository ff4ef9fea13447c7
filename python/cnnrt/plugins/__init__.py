"""Plugins: custom ops (register_op, the `cnnrt.ops` entry points) and their kernel libraries
(load_plugin). Backend plugins live in backends/registry.py; fallback between backends in
backends/partition.py."""

from .custom_ops import CUSTOM_OPS, CustomOp, custom_op, load_entry_points, register_op, unregister_op
from .library import load_plugin, plugin_include_dir

__all__ = ["CUSTOM_OPS", "CustomOp", "custom_op", "load_entry_points", "register_op",
           "unregister_op", "load_plugin", "plugin_include_dir"]
