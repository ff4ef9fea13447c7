"""Model importers: ONNX -> cnnrt IR."""
from .onnx import import_onnx, register_converter

__all__ = ["import_onnx", "register_converter"]
