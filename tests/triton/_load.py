"""Loads kernels/triton/<name>.py by path (kernels/ is not a package, and a `triton` folder on
sys.path would shadow the triton package)."""

import importlib.util
import os

_root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "kernels", "triton")


def load_kernel_module(name):
    spec = importlib.util.spec_from_file_location(f"cnnrt_triton_{name}",
                                                  os.path.join(_root, f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
