"""Triton tests: run kernels under the interpreter (TRITON_INTERPRET=1, torch CPU tensors) unless a
CUDA device is present. Must run before anything imports triton: tests/conftest.py already sets
it on machines without an NVIDIA device node; this asks torch, for containers that hide /dev."""

import os


def _has_cuda():
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


if not _has_cuda():
    os.environ.setdefault("TRITON_INTERPRET", "1")

