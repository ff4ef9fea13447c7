"""Kernel packages shipped with cnnrt: `cnnrt.kernels.triton` (kernels/triton/ in the source tree)."""
