"""What the GPU backend needs from the machine: torch (memory, streams, CUDA graphs) and triton,
imported only when the backend is used, and a device to run on.

The device is the CUDA GPU, or, under TRITON_INTERPRET=1, the CPU: Triton's interpreter then runs
the same kernels on CPU tensors (slowly; it is how CI tests the backend without a GPU)."""

from __future__ import annotations

import os

from ...errors import BackendError


def interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def why_unavailable() -> str | None:
    """None when the backend can run here, else the reason, in words a user can act on."""
    try:
        import torch
    except ImportError:
        return "device='cuda' needs torch and triton: pip install 'cnnrt[gpu]'"
    try:
        import triton  # noqa: F401
    except ImportError:
        return "device='cuda' needs triton: pip install 'cnnrt[gpu]'"
    if interpreting():
        return None
    if not torch.cuda.is_available():
        build = "a CPU-only build of torch" if torch.version.cuda is None else "no CUDA device"
        return (f"device='cuda' found {build} (torch {torch.__version__}); it needs an NVIDIA GPU "
                "and a CUDA build of torch (set TRITON_INTERPRET=1 to run the Triton kernels "
                "in Triton's interpreter on the CPU, slowly, for testing)")
    return None


def device():
    """The torch device the kernels run on."""
    reason = why_unavailable()
    if reason:
        raise BackendError(reason)
    import torch
    return torch.device("cpu" if interpreting() else "cuda")


def device_name() -> str:
    """The GPU's name (the autotuning cache key), or 'interpreter'."""
    import torch
    return "interpreter" if interpreting() else torch.cuda.get_device_name()


DTYPES = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}


def torch_dtype(precision: str):
    import torch
    if precision not in DTYPES:
        raise BackendError(f"precision {precision!r} is not one of {sorted(DTYPES)}")
    return getattr(torch, DTYPES[precision])
