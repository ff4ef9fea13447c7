"""Per-shape kernel configurations: timed once, remembered in a cache file.

A choice is keyed by (GPU name, triton version, kernel, problem key) where the problem key holds
everything that changes the best tile (shapes, dtype, fused epilogue). On a miss the candidates
are timed on the real arguments and the fastest is kept; the cache file is rewritten atomically
(merged with what other processes wrote meanwhile), so a second process starts warm.

    CNNRT_CACHE   where autotune.json lives (default ~/.cache/cnnrt)
    mode "on"         time on a miss (the default on a GPU)
         "cache"      use the cache, never time (misses take the heuristic)
         "off"        heuristic only (the default under the interpreter, where timing means nothing)
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from typing import Callable, Sequence

FORMAT = 1


def cache_path() -> str:
    root = os.environ.get("CNNRT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                             "cnnrt")
    return os.path.join(root, "autotune.json")


class Tuner:
    def __init__(self, gpu: str, mode: str = "on", path: str | None = None,
                 bench: Callable[[Callable[[], None]], float] | None = None):
        if mode not in ("on", "cache", "off"):
            raise ValueError(f"autotune mode must be on, cache or off, not {mode!r}")
        import triton
        self.prefix = f"{gpu}|triton {triton.__version__}"
        self.mode, self.path = mode, path or cache_path()
        self._bench = bench or _do_bench
        self._entries = self._read() if mode != "off" else {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        self.seconds = 0.0  # spent timing candidates (compiles included)

    def choose(self, kernel: str, key: Sequence, candidates: Sequence, heuristic,
               run: Callable[[object], None]):
        """The configuration for this problem: cached, else timed (mode "on"), else `heuristic`.
        run(config) launches the kernel once with that configuration."""
        k = f"{self.prefix}|{kernel}|{json.dumps(list(key))}"
        with self._lock:
            hit = self._entries.get(k)
        if hit is not None and list(hit["config"]) in [list(c) for c in candidates]:
            self.hits += 1
            return type(candidates[0])(hit["config"])
        if self.mode != "on" or len(candidates) == 1:
            return heuristic
        self.misses += 1
        t0 = time.perf_counter()
        timings = []
        for c in candidates:
            try:
                run(c)  # compiles it (and fails here if this GPU cannot run it)
                timings.append((self._bench(lambda c=c: run(c)), c))
            except Exception:  # noqa: BLE001 - e.g. out of shared memory: not a candidate here
                continue
        self.seconds += time.perf_counter() - t0
        if not timings:
            return heuristic
        ms, best = min(timings, key=lambda t: t[0])
        with self._lock:
            self._entries[k] = {"config": list(best), "ms": ms, "tried": len(timings)}
        return best

    def save(self) -> None:
        """Merges this process's choices into the cache file (atomic replace)."""
        if self.mode != "on" or not self.misses:
            return
        with self._lock:
            merged = {**self._read(), **self._entries}
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(self.path), suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                json.dump({"format": FORMAT, "entries": merged}, f, indent=0, sort_keys=True)
            os.replace(tmp, self.path)

    def _read(self) -> dict:
        try:
            with open(self.path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            return {}  # no cache yet, or a damaged one: start cold (it is only a cache)
        return data.get("entries", {}) if data.get("format") == FORMAT else {}


def _do_bench(fn: Callable[[], None]) -> float:
    from triton.testing import do_bench
    return do_bench(fn, warmup=5, rep=15)
