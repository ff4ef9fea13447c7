"""The caller's tensors as numpy arrays: DLPack in (numpy, torch, cupy, jax ... without a copy
when they live in host memory) and caller-provided output buffers.

The cpu engine reads and writes host memory, so a tensor on a GPU is refused by name rather than
copied behind the caller's back.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

_DL_CPU = 1  # DLPack's kDLCPU
_DL_NAMES = {2: "cuda", 3: "cuda_host", 4: "opencl", 7: "vulkan", 8: "metal", 10: "rocm",
             13: "cuda_managed", 14: "oneapi"}


def as_array(x, what: str) -> np.ndarray:
    """x as an ndarray sharing its memory: an ndarray itself, a DLPack host tensor (zero-copy), or
    anything np.asarray takes (lists, scalars: a new array)."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "__dlpack__") and hasattr(x, "__dlpack_device__"):
        dev, idx = (int(d) for d in x.__dlpack_device__())
        if dev != _DL_CPU:
            raise InputError(f"{what} lives on device {_DL_NAMES.get(dev, dev)}:{idx}; this "
                             "backend reads host memory: copy it to the CPU first")
        try:
            return np.from_dlpack(x)
        except (TypeError, RuntimeError, BufferError) as e:
            raise InputError(f"{what}: cannot be read through DLPack ({e})") from None
    return np.asarray(x)


def as_output(x, what: str, shape: tuple, dtype=np.float32) -> np.ndarray:
    """A caller's output buffer as an ndarray view of the same memory, checked: writable,
    C-contiguous, of this dtype and shape (it is written in place, so nothing may be converted)."""
    a = as_array(x, what)
    if not a.flags.writeable and hasattr(x, "__array__"):  # older numpy marks DLPack views read-only
        b = np.asarray(x)
        a = b if b.flags.writeable and np.shares_memory(a, b) else a
    problems = [p for p, bad in (
        (f"dtype {a.dtype} (needs {np.dtype(dtype)})", a.dtype != dtype),
        (f"shape {a.shape} (needs {tuple(shape)})", tuple(a.shape) != tuple(shape)),
        ("not C-contiguous", not a.flags.c_contiguous),
        ("read-only", not a.flags.writeable)) if bad]
    if problems:
        raise InputError(f"{what} cannot take the result in place: {', '.join(problems)}")
    return a


def check_no_overlap(outs: list[tuple[str, np.ndarray]], ins: list[tuple[str, np.ndarray]],
                     where: str) -> None:
    """Output buffers may not share memory with each other or with an input (results would
    depend on the order the engine writes them)."""
    for i, (name, a) in enumerate(outs):
        for other, b in outs[i + 1:] + ins:
            if np.may_share_memory(a, b):
                raise InputError(f"{where}: output buffer {name!r} overlaps {other!r}; give each output "
                                 "its own memory")
