"""The Triton kernel modules, imported from the installed package (cnnrt.kernels.triton, which is
kernels/triton/ in the source tree): the same module objects the GPU backend launches."""

import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path


def load_kernel_module(name):
    return importlib.import_module(f"cnnrt.kernels.triton.{name}")


def kernel_modules():
    """Every kernel module that ships sm_90 compile cases (an aot_cases() function), and the
    example plugin's Triton kernel (examples/plugin, read from the source tree)."""
    import cnnrt.kernels.triton as pkg
    mods = [load_kernel_module(m.name) for m in pkgutil.iter_modules(pkg.__path__)]
    return [m for m in mods + _example_plugin() if hasattr(m, "aot_cases")]


def _example_plugin():
    path = (Path(__file__).resolve().parents[2] / "examples" / "plugin" / "cnnrt_example_plugin"
            / "triton_kernel.py")
    if not path.exists():
        return []
    name = "example_plugin_triton"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return [sys.modules[name]]
