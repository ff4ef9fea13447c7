"""Read PyTorch checkpoint files (.pth) into numpy arrays, without torch and without
running any code the file might carry.

Two layouts are understood:

* zip (torch >= 1.6): ``<root>/data.pkl`` is the pickled object, each storage is the raw
  file ``<root>/data/<key>``, ``<root>/byteorder`` (optional) says "little" or "big".
* legacy stream (torch < 1.6, or ``_use_new_zipfile_serialization=False``): five things one
  after another in one file -- pickled magic number, pickled protocol version, pickled
  sys_info dict, the pickled object, the pickled list of storage keys -- followed by each
  storage in that order as an int64 element count and the raw little-endian bytes.

The pickles are read by ``_RestrictedUnpickler``: ``find_class`` resolves only the handful
of globals a state dict needs (tensor rebuilders, storage types, OrderedDict) to local
stand-ins, and refuses every other global with an ``UnpicklingError`` naming it, so a
crafted file cannot reach ``os.system`` & co. The still older tar layout (torch <= 0.3) is
detected and refused with a clear error.
"""
from __future__ import annotations

import collections
import os
import pickle
import struct
import tarfile
import zipfile
from typing import Any, Callable

import numpy as np

__all__ = ["load", "PthError"]

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


class PthError(pickle.UnpicklingError):
    """A checkpoint could not be read; the message names the file."""


class _StorageType:
    """Stand-in for torch.<X>Storage: only its element dtype matters."""

    def __init__(self, name: str, dtype: np.dtype):
        self.name, self.dtype = name, np.dtype(dtype).newbyteorder("<")

    def __repr__(self) -> str:
        return f"torch.{self.name}"


# bfloat16 has no numpy dtype: it is read as uint16 and widened to float32 afterwards.
_STORAGE_DTYPES = {
    "DoubleStorage": "f8", "FloatStorage": "f4", "HalfStorage": "f2", "BFloat16Storage": "u2",
    "LongStorage": "i8", "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?", "ComplexFloatStorage": "c8",
    "ComplexDoubleStorage": "c16",
}
_STORAGE_TYPES = {name: _StorageType(name, dt) for name, dt in _STORAGE_DTYPES.items()}


class _Storage:
    """One storage of the file; ``data`` is filled in once its bytes are read."""

    def __init__(self, stype: _StorageType, key: str, numel: int):
        self.stype, self.key, self.numel = stype, key, numel
        self.data: np.ndarray | None = None
        self.base: _Storage | None = None  # legacy storage views: (base, element offset)
        self.offset = 0

    def array(self) -> np.ndarray:
        if self.base is not None:
            return self.base.array()[self.offset:self.offset + self.numel]
        if self.data is None:
            raise PthError(f"storage {self.key!r} was never read")
        return self.data


class _TensorRef:
    """A tensor waiting for its storage: legacy files put the bytes after the pickle."""

    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def resolve(self) -> np.ndarray:
        flat = self.storage.array()
        item = flat.itemsize
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if all(self.size) and last >= flat.size:
            raise PthError(f"tensor view runs past its storage {self.storage.key!r}")
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=[s * item for s in self.stride])
        out = np.array(view, dtype=flat.dtype.newbyteorder("="))  # own copy, native order
        if self.storage.stype.name == "BFloat16Storage":
            out = (out.astype(np.uint32) << 16).view(np.float32)
        return out


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    # _rebuild_tensor_v2 adds (requires_grad, backward_hooks[, metadata]): irrelevant here.
    if not isinstance(storage, _Storage):
        raise PthError(f"tensor rebuilt from {type(storage).__name__}, not a storage")
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, *_ignored):
    return data


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, hooks, dtype, *_):
    return _rebuild_tensor(storage, storage_offset, size, stride)


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    **{("torch", name): stype for name, stype in _STORAGE_TYPES.items()},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that knows only the globals in _ALLOWED_GLOBALS."""

    def __init__(self, file, filename: str, persistent: Callable[[tuple], Any]):
        super().__init__(file, encoding="utf-8")
        self._filename, self._persistent = filename, persistent

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise PthError(
                f"{self._filename}: refusing to load global {module}.{name} "
                f"(only tensor-rebuild globals are allowed)") from None

    def persistent_load(self, pid):
        return self._persistent(pid)


def _decode(x) -> str:
    return x.decode("ascii") if isinstance(x, bytes) else str(x)


def _storage_type(obj, filename: str) -> _StorageType:
    if not isinstance(obj, _StorageType):
        raise PthError(f"{filename}: storage has type {obj!r}, not a known torch storage")
    return obj


def _load_zip(path: str) -> Any:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
        if not pkl:
            raise PthError(f"{path}: zip archive has no <root>/data.pkl, not a torch checkpoint")
        root = pkl[0].split("/")[0]
        order = "little"
        if f"{root}/byteorder" in names:
            order = zf.read(f"{root}/byteorder").decode("ascii").strip()
        storages: dict[str, _Storage] = {}

        def persistent(pid):
            if _decode(pid[0]) != "storage":
                raise PthError(f"{path}: unknown persistent id kind {pid[0]!r}")
            stype, key, _location, numel = pid[1:5]
            key = _decode(key)
            if key not in storages:
                st = _Storage(_storage_type(stype, path), key, numel)
                member = f"{root}/data/{key}"
                try:
                    raw = zf.read(member)
                except KeyError:
                    raise PthError(f"{path}: missing storage {member}") from None
                dt = st.stype.dtype if order == "little" else st.stype.dtype.newbyteorder(">")
                st.data = np.frombuffer(raw, dtype=dt)
                if st.data.size < numel:
                    raise PthError(f"{path}: storage {member} holds {st.data.size} of {numel} elements")
                storages[key] = st
            return storages[key]

        with zf.open(pkl[0]) as f:
            return _RestrictedUnpickler(f, path, persistent).load()


def _load_legacy(path: str, f) -> Any:
    def no_storage(pid):
        raise PthError(f"{path}: storage reference in a header pickle")

    def plain():  # the header pickles hold plain values only; still restricted
        return _RestrictedUnpickler(f, path, no_storage).load()

    if plain() != _LEGACY_MAGIC:
        raise PthError(f"{path}: not a torch checkpoint (bad magic number)")
    if plain() != _LEGACY_PROTOCOL:
        raise PthError(f"{path}: unsupported legacy protocol version")
    sys_info = plain()
    if not sys_info.get("little_endian", True):
        raise PthError(f"{path}: big-endian legacy checkpoints are not supported")
    storages: dict[str, _Storage] = {}

    def persistent(pid):
        if _decode(pid[0]) != "storage":
            raise PthError(f"{path}: unsupported persistent id kind {pid[0]!r}")
        stype, root_key, _location, numel, view = pid[1:6]
        root_key = _decode(root_key)
        if root_key not in storages:
            storages[root_key] = _Storage(_storage_type(stype, path), root_key, numel)
        if view is None:
            return storages[root_key]
        view_key, offset, view_size = view
        view_key = _decode(view_key)
        if view_key not in storages:
            v = _Storage(storages[root_key].stype, view_key, view_size)
            v.base, v.offset = storages[root_key], offset
            storages[view_key] = v
        return storages[view_key]

    obj = _RestrictedUnpickler(f, path, persistent).load()
    keys = _RestrictedUnpickler(f, path, persistent).load()
    for key in map(_decode, keys):
        st = storages.get(key)
        if st is None:
            raise PthError(f"{path}: storage {key!r} listed but never referenced")
        head = f.read(8)
        if len(head) != 8:
            raise PthError(f"{path}: file ends before storage {key!r}")
        (numel,) = struct.unpack("<q", head)
        nbytes = numel * st.stype.dtype.itemsize
        raw = f.read(nbytes)
        if numel != st.numel or len(raw) != nbytes:
            raise PthError(f"{path}: storage {key!r} is truncated or has the wrong size")
        st.data = np.frombuffer(raw, dtype=st.stype.dtype)
    return obj


def _resolve(obj: Any, prefix: str, out: "collections.OrderedDict[str, np.ndarray]") -> None:
    """Flatten nested dicts into dotted names; keep tensors, drop other leaves (epoch, ...)."""
    if isinstance(obj, _TensorRef):
        out[prefix] = obj.resolve()
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _resolve(v, f"{prefix}.{k}" if prefix else str(k), out)


def load(path: str | os.PathLike) -> "collections.OrderedDict[str, np.ndarray]":
    """Read a .pth file; return name -> numpy array in the file's order.

    A checkpoint wrapping the state dict ({"state_dict": {...}, "epoch": 3}) comes back
    with dotted names ("state_dict.conv.weight"); non-tensor leaves are dropped.
    Raises PthError (a pickle.UnpicklingError) naming the file on any problem.
    """
    path = os.fspath(path)
    try:
        if zipfile.is_zipfile(path):
            obj = _load_zip(path)
        elif tarfile.is_tarfile(path):
            raise PthError(f"{path}: the pre-0.4 tar checkpoint layout is not supported")
        else:
            with open(path, "rb") as f:
                obj = _load_legacy(path, f)
    except PthError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, struct.error, zipfile.BadZipFile) as e:
        raise PthError(f"{path}: not a readable torch checkpoint ({type(e).__name__}: {e})") from e
    out: collections.OrderedDict[str, np.ndarray] = collections.OrderedDict()
    _resolve(obj, "", out)
    if not out and not isinstance(obj, dict):
        raise PthError(f"{path}: holds a {type(obj).__name__}, not a state dict")
    return out
