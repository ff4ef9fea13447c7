"""cnnrt.load_plugin: C++ kernels from a shared library (the C ABI of engine/include/cnnrt/
plugin.h). The engine dlopens it and keeps its kernels by name ("domain::OpType"); the custom op
of that name (cnnrt.register_op, before or after loading) then runs them on the cpu backend.
The engine's loader (cnnrt::load_plugin_library) is the one behind the C API's cnnrt_load_plugin
too; a .cnnrt file with a plugin step needs its library loaded here first."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import PluginError

_LOADED: dict[str, list[str]] = {}   # real path -> the kernel names it registered
_KERNEL_FROM: dict[str, str] = {}    # kernel name -> the library path


def load_plugin(path: str | os.PathLike) -> list[str]:
    """Loads a plugin library and registers its kernels; returns their names. Loading the same
    file again returns the same names and changes nothing."""
    from ..backends.cpu import _engine
    from .custom_ops import CUSTOM_OPS

    p = os.path.abspath(os.fspath(path))
    if not os.path.isfile(p):
        raise PluginError(f"{p}: no such plugin library")
    key = os.path.realpath(p)
    try:  # the engine's loader makes a repeated load a no-op (and reloads a dropped kernel)
        names = list(_engine().load_plugin(p))
    except ValueError as e:
        raise PluginError(str(e)) from None
    _LOADED[key] = names
    for name in names:
        _KERNEL_FROM[name] = p
        if name in CUSTOM_OPS:
            CUSTOM_OPS[name].cpp_library = p
    return list(names)


def cpp_library_for(name: str) -> str | None:
    """The library that registered a C++ kernel for op `name`, if one did."""
    return _KERNEL_FROM.get(name)


def plugin_include_dir() -> str:
    """The folder holding cnnrt/plugin.h, for compiling plugin libraries (-I)."""
    here = Path(__file__).resolve().parent.parent
    for d in (here / "include", here.parent.parent / "engine" / "include"):
        if (d / "cnnrt" / "plugin.h").is_file():
            return str(d)
    raise PluginError("cnnrt/plugin.h is not installed with this cnnrt (neither "
                      f"{here / 'include'} nor the source checkout's engine/include has it)")
