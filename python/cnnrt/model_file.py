"""Writing the compiled-model file (.cnnrt; the layout is engine/MODEL_FILE.md).

The file holds what the cpu backend hands the engine after every pass (values, float32
constants with BatchNorm folded, steps, io) plus the model's names, shapes, preprocessing and
labels, the kernels and ISA chosen when it was written, and the planned arena. The one reader
is C++ (engine/src/model_file.cc), shared by Python (cnnrt.load) and the C API (cnnrt.h).
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import numpy as np

from .errors import BackendError, UnsupportedOpError

MAGIC = b"CNNRT\x00\r\n"
FORMAT_VERSION = 1
HEADER_BYTES = 64
ALIGN = 64

# The engine's steps (engine/STEPS.md) a file can hold. Anything else is refused at save time by
# name, never written half-understood. A `plugin` step goes in only when its kernel is C++ (a
# plugin library, named in the file; the reader needs it loaded), never a numpy kernel.
FILE_OPS = frozenset({
    "conv", "gemm", "matmul", "activation", "binary", "batch_norm", "max_pool", "avg_pool",
    "global_avg_pool", "global_max_pool", "reduce_mean", "lrn", "softmax", "reshape",
    "transpose", "concat", "split", "slice", "pad", "gather", "copy", "plugin"})


def is_model_file(path) -> bool:
    """True when `path` is a file that starts with the .cnnrt magic bytes."""
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except (OSError, TypeError, ValueError):
        return False


def save(model, path, batch: int | None = None) -> None:
    """Writes `model` (on the cpu backend) compiled for its declared input shapes, with the
    first dimension set to `batch` when given, to `path` (replaced atomically)."""
    from .compiled_model import CompiledModel
    from .passes import prepare

    if isinstance(model, CompiledModel):
        if batch is not None and batch != model.batch:
            raise BackendError(f"{model.graph.source}: this .cnnrt file is compiled for batch "
                               f"{model.batch}; compile the ONNX model for batch {batch}")
        if os.path.abspath(path) != os.path.abspath(model.graph.source):
            shutil.copyfile(model.graph.source, path)
        return
    source = model.graph.source
    if model.backend.name != "cpu":
        raise BackendError(f"{source}: only a model on the cpu backend can be saved as a .cnnrt "
                           f"file, not one on {model.backend.name!r}")
    shapes = {}
    for v in model.graph.inputs:
        if v.shape is None:
            raise BackendError(f"{source}: input {v.name!r} has no declared shape to compile for")
        dims = list(v.bound_shape())
        if batch is not None and dims:
            dims[0] = int(batch)
        shapes[v.name] = tuple(dims)
    graph = prepare(model._graph_with_weights(), shapes, optimize=model.optimize)
    outputs = list(graph.outputs)  # (compile drops the weights, not these Value objects)
    exe = model.backend.compile(graph, model.options, record=True)
    _check_representable(source, exe.record)
    probabilities = [i == 0 and model._ends_in_softmax() for i in range(len(outputs))]
    manifest, constants = _manifest(model, graph, outputs, probabilities, exe)
    _write(path, manifest, constants)


def _check_representable(source: str, calls: list[tuple]) -> None:
    for call in calls:
        if call[0] == "unrecorded":
            raise UnsupportedOpError(f"{source}: the cpu backend built this model with Plan.{call[1]}, "
                                     "which a .cnnrt file cannot hold")
        if call[0] == "add_step" and call[1] not in FILE_OPS:
            raise UnsupportedOpError(f"{source}: step {call[5]!r} (op {call[1]!r}) is not one of the "
                                     "engine's built-in steps, so a .cnnrt file cannot hold it")
        if call[0] == "add_step" and call[1] == "plugin" and _plugin_library(call[4]) is None:
            kernel = str(call[4].get("plugin_kernel", ""))
            if not kernel.endswith("/numpy"):  # registered below Python's load_plugin
                raise UnsupportedOpError(f"{source}: step {call[5]!r} (op 'plugin') runs kernel "
                                         f"{kernel!r}, which no library loaded by cnnrt.load_plugin "
                                         "provides, so the file could not say where it comes from")
            raise UnsupportedOpError(
                f"{source}: step {call[5]!r} (op 'plugin', custom op {kernel.removesuffix('/numpy')}) "
                "runs a numpy (Python) kernel, which a .cnnrt file cannot hold (its readers, the C API "
                "included, run no Python); give the op a C++ kernel (a plugin library, "
                "cnnrt.load_plugin) and save again")


def _plugin_library(attrs: dict) -> str | None:
    """The path of the plugin library whose C++ kernel a plugin step runs; None for a numpy
    kernel (registered under "domain::OpType/numpy", see backends/cpu.py)."""
    from .plugins.library import cpp_library_for
    kernel = attrs.get("plugin_kernel")
    if not isinstance(kernel, str) or kernel.endswith("/numpy"):
        return None
    return cpp_library_for(kernel)


# --- the manifest: tagged, length-prefixed records --------------------------------------------
class _Record:
    def __init__(self, tag: bytes):
        self.tag, self.b = tag, bytearray()

    def pack(self, fmt: str, *v) -> "_Record":
        self.b += struct.pack("<" + fmt, *v)
        return self

    def str(self, s: str) -> "_Record":
        data = str(s).encode("utf-8")
        return self.pack("I", len(data)).raw(data)

    def raw(self, data: bytes) -> "_Record":
        self.b += data
        return self

    def ints(self, xs, fmt: str = "q") -> "_Record":
        xs = [int(x) for x in xs]
        return self.pack(f"I{len(xs)}{fmt}", len(xs), *xs)

    def floats(self, xs) -> "_Record":
        xs = [float(x) for x in xs]
        return self.pack(f"I{len(xs)}d", len(xs), *xs)

    def bytes(self) -> bytes:
        return self.tag + struct.pack("<I", len(self.b)) + bytes(self.b)


def _attr(rec: _Record, step: str, key: str, value) -> None:
    rec.str(key)
    if isinstance(value, (bool, int, np.integer)):
        rec.pack("Bq", 0, int(value))
    elif isinstance(value, (float, np.floating)):
        rec.pack("Bd", 1, float(value))
    elif isinstance(value, str):
        rec.pack("B", 2).str(value)
    elif isinstance(value, (list, tuple, np.ndarray)):
        items = list(np.asarray(value).ravel().tolist()) if isinstance(value, np.ndarray) else list(value)
        if all(isinstance(x, (bool, int, np.integer)) for x in items):
            rec.pack("B", 3).ints(items)
        else:
            rec.pack("B", 4).floats(items)
    else:
        raise UnsupportedOpError(f"step {step!r}: attribute {key!r} of type {type(value).__name__} "
                                 "cannot be stored in a .cnnrt file")


def _manifest(model, graph, outputs, probabilities, exe) -> tuple[bytes, list[tuple[int, np.ndarray]]]:
    from . import __version__
    from .labels import labels_for

    plan = exe.plan
    vids = dict(exe._vids)  # id(Value) -> vid, for the values the plan saw
    records = [_Record(b"MODL").str(f"cnnrt {__version__}").str(Path(graph.source).name)
               .str(plan.isa).pack("Q", plan.arena_bytes)]
    constants: list[tuple[int, np.ndarray]] = []
    next_vid = 1 + max([c[1] for c in exe.record if c[0] in ("add_value", "add_constant")], default=-1)
    for v in outputs:  # an output that is a constant no step reads: the plan never saw it
        if v.is_const and id(v) not in vids:
            vids[id(v)] = next_vid
            exe.record.append(("add_constant", next_vid, np.ascontiguousarray(v.const, dtype=np.float32)))
            next_vid += 1
    kernels = iter(plan.step_kernels())
    libraries: dict[str, str] = {}  # plugin kernel -> its library's file name (a hint for readers)
    for call in exe.record:
        if call[0] == "add_value":
            records.append(_Record(b"VALU").pack("i", call[1]).ints(call[2]).pack("B", 0))
        elif call[0] == "add_constant":
            arr = np.ascontiguousarray(call[2], dtype=np.float32)
            offset = sum(_padded(a.nbytes) for _, a in constants)
            constants.append((call[1], arr))
            records.append(_Record(b"VALU").pack("i", call[1]).ints(arr.shape).pack("BQ", 1, offset))
        elif call[0] == "add_step":
            _, op, ins, outs, attrs, name = call
            kernel = next(kernels)
            if op == "plugin":  # the library's file name only: its path here means nothing elsewhere
                lib = Path(_plugin_library(attrs)).name
                libraries[attrs["plugin_kernel"]] = lib
                kernel = f"plugin_{attrs['plugin_kernel']} ({lib})"
            rec = _Record(b"STEP").str(op).str(name).str(kernel)
            rec.ints(ins, "i").ints(outs, "i").pack("I", len(attrs))
            for key, value in attrs.items():
                _attr(rec, name, key, value)
            records.append(rec)
    for kernel, lib in libraries.items():
        records.append(_Record(b"PLUG").str(kernel).str(lib))
    for v in graph.inputs:
        records.append(_Record(b"INPT").str(v.name).str(v.dtype).ints(v.shape).pack("i", vids[id(v)]))
    for v, probs in zip(outputs, probabilities):
        records.append(_Record(b"OUTP").str(v.name).ints(v.shape).pack("iB", vids[id(v)], int(probs)))
    p = model.preprocess
    records.append(_Record(b"PREP").ints(p.size).pack("q", int(p.resize or 0)).str(p.crop or "")
                   .pack("d", float(p.scale)).floats(p.mean).floats(p.std).str(p.channel_order)
                   .str(p.interpolation).str(p.layout))
    classes = int(np.prod(outputs[0].shape[1:], dtype=np.int64)) if outputs[0].shape else 1
    labels = labels_for(graph.metadata, classes, model._labels) if classes <= 100_000 else []
    if labels == [f"class_{i}" for i in range(len(labels))]:
        labels = []  # nothing known: readers number the classes themselves
    rec = _Record(b"LABL").pack("I", len(labels))
    for label in labels:
        rec.str(label)
    records.append(rec)
    for key, value in model.graph.metadata.items():
        records.append(_Record(b"META").str(key).str(value))
    return b"".join(r.bytes() for r in records), constants


def _padded(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _write(path, manifest: bytes, constants: list[tuple[int, np.ndarray]]) -> None:
    """Header, manifest, then each constant at a 64-byte boundary; CRC-32C (the engine's, the
    one the reader checks) over all but itself. Written beside the target and renamed over it,
    so a reader never sees half a file."""
    from .backends.cpu import _engine
    crc32c = _engine().crc32c
    data_offset = _padded(HEADER_BYTES + len(manifest))
    data_bytes = sum(_padded(a.nbytes) for _, a in constants)
    file_bytes = data_offset + data_bytes
    head = MAGIC + struct.pack("<IIQQQQQI", FORMAT_VERSION, HEADER_BYTES, file_bytes, HEADER_BYTES,
                               len(manifest), data_offset, data_bytes, 0)
    assert len(head) == 60
    tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            crc = crc32c(head)
            f.write(head + b"\0\0\0\0")

            def put(data) -> None:
                nonlocal crc
                crc = crc32c(data, crc)
                f.write(data)
            put(manifest)
            put(bytes(data_offset - HEADER_BYTES - len(manifest)))
            for _, arr in constants:
                put(memoryview(arr.reshape(-1)).cast("B"))
                put(bytes(_padded(arr.nbytes) - arr.nbytes))
            f.seek(60)
            f.write(struct.pack("<I", crc))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
