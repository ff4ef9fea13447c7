"""KERNELS: cnnrt op -> numpy kernel(node, arrays) -> arrays, one for every op in ir/ops.py."""

from . import nn, tensor

KERNELS = {**nn.KERNELS, **tensor.KERNELS}
