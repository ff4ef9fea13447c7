"""Reads an ONNX file into a ModelProto, with errors that name the file and the cause.

Stages: resolve the path (ModelNotFoundError), parse the protobuf without its external data
and without its large inline weights, which are read straight into arrays
(onnx_inline_weights; ModelLoadError on garbage or truncation), check that it is a model at all
(protobuf happily parses some random bytes as an empty message), then map the external-data
tensors: each one becomes a read-only numpy memmap of its file, so a 2 GB+ model is paged in
lazily instead of copied into protobuf strings.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto
from onnx.external_data_helper import ExternalDataInfo, uses_external_data
from onnx.helper import tensor_dtype_to_np_dtype

from ..errors import ModelLoadError, ModelNotFoundError
from .onnx_inline_weights import load_without_inline_weights


def load_model_proto(path: str | os.PathLike) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """Parses `path`; returns the model and {tensor name: memmap} for its external-data tensors."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelNotFoundError(f"{path}: no such model file")
    if os.path.isdir(path):
        raise ModelLoadError(f"{path}: is a directory, not an ONNX model file")
    from ..model_file import is_model_file
    if is_model_file(path):
        raise ModelLoadError(f"{path}: a compiled cnnrt model (.cnnrt), not ONNX: cnnrt.load() runs it, "
                             "but what needs the model's layers (summary, profile, verify) needs the "
                             "ONNX model it was compiled from")
    try:  # large inline weights read straight into arrays: the file is not held twice
        model, inline = load_without_inline_weights(path)
    except Exception:  # noqa: BLE001 - not the layout it handles: parse it the usual way
        inline = {}
        try:
            model = onnx.load(path, load_external_data=False)
        except Exception as e:  # DecodeError, UnicodeDecodeError, ... all mean "not an ONNX file"
            raise ModelLoadError(f"{path}: not a readable ONNX model ({type(e).__name__}: {e})") from e
    check_model_proto(model, path)
    return model, {**inline, **map_external_data(model, os.path.dirname(os.path.abspath(path)), path)}


def check_model_proto(model: onnx.ModelProto, source: str) -> None:
    """Rejects messages that parsed but are not ONNX models (empty, truncated before the graph)."""
    if model.ir_version <= 0 or not model.HasField("graph"):
        raise ModelLoadError(f"{source}: not an ONNX model (no IR version or graph: the file is "
                             f"not ONNX, or it is truncated)")
    if not model.graph.output:
        raise ModelLoadError(f"{source}: the graph has no outputs (truncated or corrupt file?)")
    if model.ir_version < 3:
        raise ModelLoadError(f"{source}: IR version {model.ir_version} predates opset imports "
                             f"(IR 3, ONNX 1.0); re-export the model with a newer exporter")
    if not any(o.domain in ("", "ai.onnx") for o in model.opset_import):
        raise ModelLoadError(f"{source}: the model imports no opset for the default ONNX domain, "
                             f"so its ops cannot be interpreted (truncated file or broken exporter)")


def _tensors(graph: onnx.GraphProto):
    """Every TensorProto of the graph that may hold external data (initializers, Constants)."""
    yield from graph.initializer
    for node in graph.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                yield a.t


def map_external_data(model: onnx.ModelProto, base_dir: str, source: str) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for t in _tensors(model.graph):
        if not uses_external_data(t):
            continue
        info = ExternalDataInfo(t)
        file = os.path.normpath(os.path.join(base_dir, info.location))
        # a location may not escape the model's folder (the ONNX spec forbids it)
        if os.path.isabs(info.location) or not file.startswith(os.path.normpath(base_dir) + os.sep):
            raise ModelLoadError(f"{source}: tensor {t.name!r} points outside the model's folder "
                                 f"({info.location!r})")
        if not os.path.isfile(file):
            raise ModelLoadError(f"{source}: external data file {file} of tensor {t.name!r} is missing")
        arrays[t.name] = _memmap(t, file, info, source)
    return arrays


def _memmap(t: TensorProto, file: str, info, source: str) -> np.ndarray:
    if t.data_type in (TensorProto.STRING, TensorProto.UNDEFINED):
        raise ModelLoadError(f"{source}: tensor {t.name!r} has an unsupported external data type")
    dtype = np.dtype(tensor_dtype_to_np_dtype(t.data_type)).newbyteorder("<")
    shape = tuple(int(d) for d in t.dims)
    count = int(np.prod(shape, dtype=np.int64))
    offset = int(info.offset or 0)
    length = info.length or count * dtype.itemsize
    if length != count * dtype.itemsize or offset + length > os.path.getsize(file):
        raise ModelLoadError(f"{source}: external data of tensor {t.name!r} in {file} is truncated "
                             f"or mis-sized (offset {offset}, length {length}, shape {shape})")
    if count == 0:
        return np.zeros(shape, dtype)
    arr = np.memmap(file, dtype=dtype, mode="r", offset=offset, shape=shape)  # read-only view
    return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))
