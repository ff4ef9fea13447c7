"""Where the installed package keeps the C API (libcnnrt, cnnrt/cnnrt.h, the CMake package),
for building C/C++ programs against a pip-installed cnnrt:

    cmake -S app -B build -Dcnnrt_DIR="$(python -m cnnrt --cmake-dir)"
    # CMakeLists.txt: find_package(cnnrt REQUIRED) ... target_link_libraries(app PRIVATE cnnrt::cnnrt)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .errors import BackendError


def _root() -> Path:
    """The folder the build installed into: beside the compiled extension cnnrt._engine."""
    spec = importlib.util.find_spec("cnnrt._engine")
    if spec is None or spec.origin is None:
        raise BackendError("cnnrt's compiled parts are not installed (pip install .); "
                           "no C library or CMake package to point at")
    return Path(spec.origin).parent


def cmake_dir() -> str:
    """The folder with cnnrtConfig.cmake (pass it as cnnrt_DIR, or add it to CMAKE_PREFIX_PATH)."""
    return str(_root() / "lib" / "cmake" / "cnnrt")


def include_dir() -> str:
    """The folder that holds cnnrt/cnnrt.h."""
    return str(_root() / "include")


def library_path() -> str:
    """The shared library libcnnrt."""
    return str(_root() / "lib" / "libcnnrt.so")
