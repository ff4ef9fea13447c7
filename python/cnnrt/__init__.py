"""cnnrt: a CNN inference engine.

    import cnnrt
    m = cnnrt.load("efficientnet_lite0.onnx")   # backend="cpu" by default
    m.predict("cat.jpg")                        # [("tiger cat", 0.38), ...]
    m.run({"input": x})                         # raw outputs
    print(m.summary())                          # params, MACs, FLOPs per layer
"""

from __future__ import annotations

from .backends.registry import backend_names, get_backend, register_backend
from .errors import (BackendError, CnnrtError, ImageError, InputError, ModelLoadError,
                     ModelNotFoundError, ShapeError, UnsupportedOpError)
from .model import Model

__version__ = "0.1.0"


def _cpu():
    from .backends.cpu import CpuBackend
    return CpuBackend()


def _reference():
    from .backends.reference import ReferenceBackend
    return ReferenceBackend()


register_backend("cpu", _cpu)
register_backend("reference", _reference)


def backends() -> list[str]:
    """Names of the registered backends (built-in and plugins)."""
    return backend_names()


def load(model, backend: str = "cpu", *, optimize: bool = True, num_threads: int = 0,
         isa: str = "auto", preprocess=None, labels=None) -> Model:
    """Loads an ONNX model (a path or an onnx.ModelProto) for `backend`.

    The model is compiled for its declared input shape (symbolic dims as 1) before load returns;
    other shapes compile on first use. optimize=False runs the graph as given (no fusion; for
    debugging). num_threads=0 uses every core. preprocess (a dict, see cnnrt.preprocess)
    overrides the model's metadata; labels overrides the class names."""
    from .frontend.onnx import import_onnx

    graph = import_onnx(model)
    m = Model(graph, backend, optimize=optimize, num_threads=num_threads, isa=isa,
              preprocess=preprocess, labels=labels)
    if all(v.shape is not None for v in graph.inputs):
        m.compiled()  # fold, optimize and compile now (batch 1), so a broken model fails at load
    return m


__all__ = ["load", "Model", "backends", "register_backend", "get_backend", "CnnrtError",
           "ModelNotFoundError", "ModelLoadError", "UnsupportedOpError", "ShapeError", "InputError",
           "ImageError", "BackendError", "__version__"]
