"""Reads an ONNX file's large inline weights straight into numpy, not through protobuf.

onnx.load holds the file's bytes and the parsed message at once, so loading peaks at twice the
file (AlexNet: 510 MB for 244 MB). Here a walk over the protobuf wire format finds each large
float initializer's raw_data in the file (ModelProto.graph = field 7, GraphProto.initializer =
field 5, TensorProto.raw_data = field 9), protobuf parses the message without those bytes, and
each tensor is read from its offset into its own array: the peak is the file once. Anything
the walk does not expect (groups, truncation, a field past the end) makes it give up, and the
caller parses the file the usual way, with the usual errors.
"""

from __future__ import annotations

import mmap

import numpy as np
import onnx

MIN_BYTES = 1 << 16  # smaller tensors (shapes, biases, scalars) stay in the message
_FLOAT = onnx.TensorProto.FLOAT


class WireError(ValueError):
    """The bytes are not the protobuf layout this walk handles."""


def _varint(buf, pos: int, end: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= end or shift > 63:
            raise WireError("truncated or overlong varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _fields(buf, start: int, end: int):
    """(field number, wire type, payload start, payload end, field start) of each field."""
    pos = start
    while pos < end:
        first = pos
        key, pos = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, nxt = _varint(buf, pos, end)
        elif wire == 1:
            nxt = pos + 8
        elif wire == 5:
            nxt = pos + 4
        elif wire == 2:
            length, pos = _varint(buf, pos, end)
            nxt = pos + length
        else:
            raise WireError(f"wire type {wire} (groups) is not handled")
        if nxt > end:
            raise WireError("a field runs past its message")
        yield field, wire, pos, nxt, first
        pos = nxt


def _tensor(buf, start: int, end: int, found: list) -> bytes | None:
    """The tensor message without its raw_data when that is a large float payload (recorded in
    found as (name, offset, length)); None: keep the tensor as it is."""
    name, dtype, raw, external = None, None, None, False
    for field, wire, p0, p1, _ in _fields(buf, start, end):
        if field == 8 and wire == 2:
            name = bytes(buf[p0:p1]).decode("utf-8", "replace")
        elif field == 2 and wire == 0:
            dtype = _varint(buf, p0, p1)[0]
        elif field == 9 and wire == 2:
            raw = (p0, p1)
        elif field in (13, 14):  # external_data, data_location: leave to the external loader
            external = True
    if dtype != _FLOAT or raw is None or external or name is None or raw[1] - raw[0] < MIN_BYTES:
        return None
    found.append((name, raw[0], raw[1] - raw[0]))
    out = bytearray()
    for field, wire, p0, p1, first in _fields(buf, start, end):
        if not (field == 9 and wire == 2):
            out += buf[first:p1]
    return bytes(out)


def _rewrite(buf, start: int, end: int, path: tuple[int, ...], found: list) -> bytes:
    """The message [start, end) with the tensors at `path` (field numbers down to the tensor
    list) stripped of their large raw_data."""
    out = bytearray()
    for field, wire, p0, p1, first in _fields(buf, start, end):
        if wire != 2 or field != path[0]:
            out += buf[first:p1]
            continue
        inner = _tensor(buf, p0, p1, found) if len(path) == 1 else _rewrite(buf, p0, p1, path[1:], found)
        if inner is None:
            out += buf[first:p1]
        else:
            out += _encode_varint(field << 3 | 2) + _encode_varint(len(inner)) + inner
    return bytes(out)


def load_without_inline_weights(path: str) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """The model with its large float initializers taken out, and those as {name: array}
    (read-only). Raises WireError when the file is not laid out as expected."""
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        if size == 0:
            raise WireError("empty file")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            found: list = []
            stripped = _rewrite(mm, 0, size, (7, 5), found)  # ModelProto.graph.initializer
        if not found:
            raise WireError("no large inline float weights")
        model = onnx.ModelProto()
        model.ParseFromString(stripped)
        dims = {t.name: tuple(int(d) for d in t.dims) for t in model.graph.initializer}
        arrays = {}
        for name, offset, length in found:
            shape = dims.get(name)
            if shape is None or int(np.prod(shape, dtype=np.int64)) * 4 != length:
                raise WireError(f"tensor {name!r}: {length} bytes of raw data for shape {shape}")
            arr = np.empty(shape, dtype="<f4")
            f.seek(offset)
            if f.readinto(memoryview(arr).cast("B")) != length:
                raise WireError(f"tensor {name!r}: the file ends inside its data")
            arr = arr.astype(np.float32, copy=False)  # native order (a no-op on x86/ARM)
            arr.setflags(write=False)
            arrays[name] = arr
    return model, arrays
