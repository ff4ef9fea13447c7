"""cnnrt: a CNN inference engine.

    import cnnrt
    m = cnnrt.load("efficientnet_lite0.onnx")   # backend="cpu" by default
    m.predict("cat.jpg")                        # [("tiger cat", 0.38), ...]
    m.run({"input": x})                         # raw outputs
    print(m.summary())                          # params, MACs, FLOPs per layer
"""

from __future__ import annotations

import os

from .backends.registry import backend_names, get_backend, register_backend
from .errors import (BackendError, CnnrtError, ImageError, InputError, ModelLoadError,
                     ModelNotFoundError, PluginError, ShapeError, UnsupportedOpError)
from .c_api import cmake_dir
from .model import Model
from .plugins import load_plugin, plugin_include_dir, register_op

__version__ = "0.1.0"


def _cpu():
    from .backends.cpu import CpuBackend
    return CpuBackend()


def _reference():
    from .backends.reference import ReferenceBackend
    return ReferenceBackend()


def _triton():
    from .backends.gpu import TritonBackend
    return TritonBackend()


register_backend("cpu", _cpu)
register_backend("reference", _reference)
register_backend("triton", _triton)


def backends() -> list[str]:
    """Names of the registered backends (built-in and plugins)."""
    return backend_names()


DEVICES = {"cpu": "cpu", "cuda": "triton"}


def load(model, backend: str | None = None, *, device: str | None = None,
         precision: str | None = None, optimize: bool = True, num_threads: int = 0,
         isa: str = "auto", preprocess=None, labels=None, options: dict | None = None,
         fallback=None) -> Model:
    """Loads an ONNX model (a path, an onnx.ModelProto or its serialized bytes) for `backend`.

    device="cuda" picks the `triton` backend (cnnrt's Triton kernels on an NVIDIA GPU; needs
    `pip install cnnrt[gpu]`), device="cpu" (the default) the `cpu` backend; or name a backend.
    precision: "fp32", "fp16" or "bf16" (None: the backend's default, fp16 on the GPU, fp32 on
    the CPU). options: backend-specific settings, e.g. for triton {"matmul_precision": "tf32",
    "streams": 1, "cuda_graph": False, "autotune": "on"|"cache"|"off"}.

    The model is compiled for its declared input shape (symbolic dims as 1) before load returns;
    other shapes compile on first use. optimize=False runs the graph as given (no fusion; for
    debugging). num_threads=0 uses every core. preprocess (a dict, see cnnrt.preprocess)
    overrides the model's metadata; labels overrides the class names. Nodes the backend does
    not support run on the fallback backends (default: cpu, then reference; a list of names;
    False: none, an unsupported node is an error); the compile report says which ran where.
    A compiled-model file (.cnnrt, written by Model.save or `cnnrt compile`; recognised by its
    magic bytes) loads without import or passes, for the input shapes it was compiled for."""
    from .frontend.onnx import import_onnx
    from .model_file import is_model_file

    if isinstance(model, (str, os.PathLike)) and is_model_file(model):  # a .cnnrt file
        return _load_compiled(model, backend, device, precision, optimize, num_threads, isa,
                              preprocess, labels, options)
    if device is not None and device not in DEVICES:
        raise BackendError(f"device must be one of {sorted(DEVICES)}, not {device!r}")
    if backend is None:
        backend = DEVICES[device or "cpu"]
    elif device is not None and device not in get_backend(backend).devices:
        raise BackendError(f"backend {backend!r} does not run on device {device!r}")
    graph = import_onnx(model)
    m = Model(graph, backend, optimize=optimize, num_threads=num_threads, isa=isa,
              preprocess=preprocess, labels=labels, precision=precision, options=options,
              reload=_reloader(model), fallback=fallback)
    if all(v.shape is not None for v in graph.inputs):
        m.compiled()  # fold, optimize and compile now (batch 1), so a broken model fails at load
    return m


def verify(model, **options):
    """cnnrt against onnxruntime on random inputs (and the cat photo, for an image classifier);
    on a mismatch, the first layer that differs. See cnnrt.insight.verify."""
    from .insight.verify import verify as _verify
    return _verify(model, **options)


def _load_compiled(path, backend, device, precision, optimize, num_threads, isa, preprocess,
                   labels, options) -> Model:
    """A .cnnrt file: already optimized for the cpu backend, fp32 (see cnnrt/compiled_model.py)."""
    from .compiled_model import load_compiled
    if backend not in (None, "cpu") or device not in (None, "cpu") or precision not in (None, "fp32") \
            or options or not optimize:
        raise BackendError(f"{path}: a .cnnrt file runs on the cpu backend in fp32, as compiled; "
                           "load the ONNX model for other backends, precisions or options")
    return load_compiled(path, num_threads=num_threads, isa=isa, preprocess=preprocess, labels=labels)


def _reloader(model):
    """() -> the model imported again, for a Model that released its weights; None where that
    cannot be done safely: a ModelProto or bytearray (the caller may change it)."""
    from .errors import ModelLoadError
    from .frontend.onnx import import_onnx

    if isinstance(model, bytes):
        return lambda: import_onnx(model)
    if not isinstance(model, (str, os.PathLike)):
        return None
    path = os.fspath(model)
    stamp = _file_stamp(path)

    def reload():
        if _file_stamp(path) != stamp:
            raise ModelLoadError(f"{path}: the file changed since it was loaded; load it again "
                                 "(cnnrt re-reads it for new input shapes)")
        return import_onnx(path)
    return reload


def _file_stamp(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


__all__ = ["load", "verify", "Model", "backends", "register_backend", "get_backend", "register_op",
           "load_plugin", "plugin_include_dir", "PluginError", "CnnrtError",
           "ModelNotFoundError", "ModelLoadError", "UnsupportedOpError", "ShapeError", "InputError",
           "ImageError", "BackendError", "cmake_dir", "__version__"]
