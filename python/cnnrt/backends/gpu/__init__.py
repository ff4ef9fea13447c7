"""The GPU backend (`triton`, device="cuda"): Triton kernels on NHWC activations in one arena,
launched from a CUDA graph. torch and triton are imported only when it is used."""

from .backend import TritonBackend

__all__ = ["TritonBackend"]
