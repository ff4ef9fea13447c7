"""The Triton kernel modules, imported from the installed package (cnnrt.kernels.triton, which is
kernels/triton/ in the source tree): the same module objects the GPU backend launches."""

import importlib
import pkgutil


def load_kernel_module(name):
    return importlib.import_module(f"cnnrt.kernels.triton.{name}")


def kernel_modules():
    """Every kernel module that ships sm_90 compile cases (an aot_cases() function)."""
    import cnnrt.kernels.triton as pkg
    mods = [load_kernel_module(m.name) for m in pkgutil.iter_modules(pkg.__path__)]
    return [m for m in mods if hasattr(m, "aot_cases")]
