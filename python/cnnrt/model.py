"""What the user holds: a loaded model that can run, predict and account for itself.

Shape work is kept apart from running (XNNPACK's create/reshape/setup): the imported graph
keeps its symbolic batch; each distinct set of input shapes is prepared (passes) and compiled
(backend) once, cached, and then run as often as asked.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from .accounting import account, format_table
from .backends.base import CompileOptions, Executable
from .backends.partition import compile_with_fallback, fallback_backends
from .backends.registry import get_backend
from .errors import BackendError, ImageError, InputError
from .ir import Graph
from .labels import labels_for
from .passes import prepare
from .preprocess import Preprocess
from .tensors import as_array, as_output, check_no_overlap


class Model:
    def __init__(self, graph: Graph, backend: str = "cpu", *, optimize: bool = True,
                 num_threads: int = 0, isa: str = "auto", preprocess: dict | Preprocess | None = None,
                 labels=None, precision: str | None = None, options: dict | None = None,
                 reload=None, fallback=None):
        self.graph = graph
        # reload() -> the same graph, weights included, imported again (None: never release
        # them). With a backend that keeps its own copy of every weight, the graph's weights
        # are released at the first compile, so the model does not hold them twice (peak and
        # resident memory); a later compile for new shapes, or summary(), reloads them.
        self._reload = reload
        self._released = False
        self.backend = get_backend(backend)
        if not self.backend.available():
            raise BackendError(f"{graph.source}: backend {backend!r} is not available on this "
                               f"machine: {self.backend.why_unavailable()}")
        self.optimize = optimize
        self.fallback = fallback  # None/True: cpu then reference; False: none; or a list of names
        self.options = CompileOptions(num_threads=num_threads, isa=isa, precision=precision,
                                      extra=dict(options or {}))
        if isinstance(preprocess, dict):
            preprocess = Preprocess.from_dict(preprocess, source="given to load()")
        self.preprocess = preprocess or Preprocess.from_metadata(graph.metadata)
        self._labels = labels
        self._compiled: dict[tuple, Executable] = {}
        self._lock = threading.Lock()

    # --- description ---------------------------------------------------------------------
    @property
    def inputs(self) -> list[tuple[str, tuple, str]]:
        return [(v.name, v.shape, v.dtype) for v in self.graph.inputs]

    @property
    def outputs(self) -> list[str]:
        return [v.name for v in self.graph.outputs]

    @property
    def metadata(self) -> dict:
        return dict(self.graph.metadata)

    # --- compile -------------------------------------------------------------------------
    def compiled(self, shapes: dict[str, tuple] | None = None) -> Executable:
        """The executable for these input shapes (symbolic dims default to 1), compiled once."""
        shapes = dict(shapes or {})
        for v in self.graph.inputs:  # the key is the bound shapes: () and (1, ...) are one entry
            if v.name not in shapes and v.shape is not None:
                shapes[v.name] = v.bound_shape()
        key = tuple(tuple(shapes.get(v.name, ())) for v in self.graph.inputs)
        with self._lock:
            exe = self._compiled.get(key)
            if exe is None:
                g = prepare(self._graph_with_weights(), shapes, optimize=self.optimize)
                if self._reload is not None and getattr(self.backend, "owns_weights", False):
                    # before compile: what only this graph held (BN's raw weights) goes now,
                    # the rest as the backend packs it
                    self.graph.release_weights(min_bytes=1 << 16)
                    self._released = True
                exe = compile_with_fallback(g, self.backend,
                                            fallback_backends(self.backend, self.fallback), self.options)
                self._compiled[key] = exe
        return exe

    def save(self, path, batch: int | None = None) -> None:
        """Writes the model compiled for the cpu backend (declared input shape, first dimension
        `batch` if given) as a .cnnrt file that cnnrt.load and the C API read (cnnrt/model_file.py)."""
        from .model_file import save
        save(self, path, batch=batch)

    def _graph_with_weights(self) -> Graph:
        return self._reload() if self._released else self.graph

    # --- run -----------------------------------------------------------------------------
    def run(self, feeds, out=None) -> dict[str, np.ndarray]:
        """Raw outputs by name. feeds: {input name: array}, or one array for a one-input model;
        an array is anything numpy or DLPack reads (torch/cupy/jax tensors in host memory are
        read in place, no copy). out: None, or {output name: array} (or a list in output order)
        of caller buffers, float32 C-contiguous of the output shapes, written in place (numpy
        arrays or DLPack host tensors such as torch's); the returned arrays are those buffers.
        The returned arrays export DLPack (`torch.from_dlpack(out)` shares their memory).
        On a GPU backend, DLPack tensors in (torch, cupy: no host round trip) give torch
        tensors on the device out."""
        tensors = self._device_feeds(feeds) if out is None else None
        if tensors is not None:
            exe = self.compiled({v.name: tuple(t.shape) for v, t in zip(self.graph.inputs, tensors)})
            if exe.run_tensors is not None:
                return dict(zip(self.outputs, exe.run_tensors(tensors)))
        arrays = self._check_feeds(feeds)
        exe = self.compiled({v.name: a.shape for v, a in zip(self.graph.inputs, arrays)})
        if out is None:
            return dict(zip(self.outputs, exe.run(arrays)))
        bufs = self._check_out(out, exe, arrays)
        exe.run_into(arrays, bufs)
        return dict(zip(self.outputs, bufs))

    def _device_feeds(self, feeds) -> list | None:
        """The feeds in input order when every one is a DLPack tensor that is not a numpy array
        (torch, cupy, ...) and the backend runs on a device: those go to the executable as
        tensors. None otherwise (numpy path)."""
        if not self.backend.devices or self.backend.devices == ("cpu",):
            return None
        names = [v.name for v in self.graph.inputs]
        if not isinstance(feeds, dict):
            feeds = {names[0]: feeds} if len(names) == 1 else {}
        items = [feeds.get(n) for n in names]
        if len(feeds) != len(names) or not all(
                hasattr(x, "__dlpack__") and not isinstance(x, np.ndarray) for x in items):
            return None
        for v, x in zip(self.graph.inputs, items):
            if v.shape is not None and len(x.shape) != len(v.shape):
                raise InputError(f"{self.graph.source}: input {v.name!r} expects shape "
                                 f"{tuple(v.shape)}, got {tuple(x.shape)}")
        return items

    def _check_out(self, out, exe: Executable, arrays: list[np.ndarray]) -> list[np.ndarray]:
        names = self.outputs
        if not isinstance(out, dict):
            if not isinstance(out, (list, tuple)) or len(out) != len(names):
                raise InputError(f"{self.graph.source}: out= needs a dict by output name or a list "
                                 f"of {len(names)} arrays (outputs {names})")
            out = dict(zip(names, out))
        unknown, missing = set(out) - set(names), [n for n in names if n not in out]
        if unknown or missing:
            raise InputError(f"{self.graph.source}: out= must name every output {names}; "
                             f"unknown {sorted(unknown)}, missing {missing}")
        shapes = exe.output_shapes()
        bufs = [as_output(out[n], f"{self.graph.source}: output {n!r}", shape)
                for n, shape in zip(names, shapes)]
        check_no_overlap(list(zip(names, bufs)),
                         [(v.name, a) for v, a in zip(self.graph.inputs, arrays)], self.graph.source)
        return bufs

    def _check_feeds(self, feeds) -> list[np.ndarray]:
        names = [v.name for v in self.graph.inputs]
        if not isinstance(feeds, dict):
            if len(names) != 1:
                raise InputError(f"{self.graph.source}: the model has inputs {names}; pass a dict")
            feeds = {names[0]: feeds}
        unknown = set(feeds) - set(names)
        missing = [n for n in names if n not in feeds]
        if unknown or missing:
            raise InputError(f"{self.graph.source}: expected inputs {names}; "
                             f"unknown {sorted(unknown)}, missing {missing}")
        arrays = []
        for v in self.graph.inputs:
            a = as_array(feeds[v.name], f"{self.graph.source}: input {v.name!r}")
            if a.dtype.kind != "f":
                raise InputError(f"{self.graph.source}: input {v.name!r} must be floating point "
                                 f"({v.dtype}), got {a.dtype}")
            if v.shape is not None and a.ndim != len(v.shape):
                raise InputError(f"{self.graph.source}: input {v.name!r} expects shape {tuple(v.shape)}, "
                                 f"got {a.shape}")
            arrays.append(np.asarray(a, dtype=v.dtype, order="C"))  # keeps 0-d arrays 0-d
        return arrays

    # --- classify ------------------------------------------------------------------------
    def predict(self, images, topk: int = 5):
        """Top-k (label, probability) for one image, or a list of such lists for a batch.

        images: a path, a PIL image, an HWC uint8 array, a preprocessed CHW/NCHW float array,
        or a list of any of these (a batch)."""
        batch, single = self._to_batch(images)
        name = self.graph.inputs[0].name
        logits = self.run({name: batch})[self.outputs[0]].reshape(len(batch), -1)
        probs = logits if self._ends_in_softmax() else _softmax(logits)
        labels = labels_for(self.graph.metadata, probs.shape[1], self._labels)
        k = min(topk, probs.shape[1])
        result = []
        for p in probs:
            top = np.argsort(-p, kind="stable")[:k]
            result.append([(labels[i], float(p[i])) for i in top])
        return result[0] if single else result

    def _to_batch(self, images) -> tuple[np.ndarray, bool]:
        if isinstance(images, np.ndarray) and images.dtype.kind == "f":
            if images.ndim == 3:
                return images[None].astype(np.float32), True
            if images.ndim == 4:
                return images.astype(np.float32), False
            raise ImageError(f"a float array must be CHW or NCHW (preprocessed), got shape {images.shape}")
        if isinstance(images, (list, tuple)):
            if not images:
                raise ImageError("empty list of images")
            return np.stack([self._one(im) for im in images]), False
        return self._one(images)[None], True

    def _one(self, image) -> np.ndarray:
        if isinstance(image, np.ndarray) and image.dtype.kind == "f":
            if image.ndim != 3:
                raise ImageError(f"a float image must be CHW (preprocessed), got shape {image.shape}")
            return image.astype(np.float32)
        return self.preprocess.image_to_tensor(image)

    def _ends_in_softmax(self) -> bool:
        out = self.graph.outputs[0]
        return any(n.op == "softmax" and out in n.outputs for n in self.graph.nodes)

    # --- insight -------------------------------------------------------------------------
    def summary(self, batch: int = 1) -> "Summary":
        """Per-layer params/MACs/FLOPs/shape for the graph as given, and the optimized totals."""
        shapes = {v.name: v.bound_shape(batch) for v in self.graph.inputs if v.shape is not None}
        full = self._graph_with_weights()
        given = prepare(full, shapes, optimize=False)
        optimized = prepare(full, shapes, optimize=True)
        return Summary(self, given, optimized, self.compiled(shapes))

    def profile(self, runs: int = 10, warmup: int = 2, shapes: dict | None = None,
                remeasure: bool = False) -> "Profile":
        """Measured time per layer (median of `runs` after `warmup`), GFLOP/s, bytes moved and
        efficiency against this machine's roofline (cached; remeasure: measure it again); the
        cpu backend only (cnnrt.insight)."""
        from .insight.profile import profile
        return profile(self, runs=runs, warmup=warmup, shapes=shapes, remeasure=remeasure)


class Summary:
    """The accounting table; str() / repr() render it."""

    def __init__(self, model: Model, given: Graph, optimized: Graph, exe: Executable):
        self.rows, self.total = account(given)
        self.optimized_rows, self.optimized_total = account(optimized)
        self.report = exe.report
        self.model = model
        self.text = self._render(given, optimized)

    def _render(self, given: Graph, optimized: Graph) -> str:
        t, o = self.total, self.optimized_total
        lines = [format_table(self.rows, t, title=f"{Path(given.source).name}: {len(given.nodes)} layers as given"),
                 "",
                 f"params {t.params:,}   MACs {t.macs:,} ({t.macs / 1e9:.3f} G)   "
                 f"FLOPs {t.flops:,} ({t.flops / 1e9:.3f} G)   (FLOPs = 2 x MACs + elementwise work)",
                 f"optimized graph: {len(optimized.nodes)} steps, MACs {o.macs:,}, FLOPs {o.flops:,}, "
                 f"activations+weights moved {(o.bytes_read + o.bytes_written) / 2**20:.1f} MiB",
                 f"backend {self.report.get('backend')}"
                 + (f" ({self.report['isa']}, {self.report['num_threads']} threads)" if "isa" in self.report else "")
                 + (f", activation arena {self.report['arena_bytes'] / 2**20:.2f} MiB planned vs "
                    f"{self.report['naive_bytes'] / 2**20:.2f} MiB unplanned" if "arena_bytes" in self.report else ""),
                 f"preprocessing: {self.model.preprocess.describe()}"]
        if "segments" in self.report:  # some nodes fell back to other backends
            lines.append("placement: " + "; ".join(
                f"{s['backend']}: {', '.join(s['nodes'])}" for s in self.report["segments"]))
        return "\n".join(lines)

    def optimized_table(self) -> str:
        """The per-step table of what the optimized graph executes (fused ops named by parts)."""
        return format_table(self.optimized_rows, self.optimized_total,
                            title=f"optimized: {len(self.optimized_rows)} steps")

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
