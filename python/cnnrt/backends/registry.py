"""Backend registry: built-ins, `cnnrt.register_backend`, and the `cnnrt.backends` entry points."""

from __future__ import annotations

from importlib import metadata
from typing import Callable

from ..errors import BackendError
from .base import Backend

_FACTORIES: dict[str, Callable[[], Backend]] = {}
_INSTANCES: dict[str, Backend] = {}
_entry_points_loaded = False


def register_backend(name: str, factory: Callable[[], Backend]) -> None:
    """Registers a backend factory under `name` (a later registration replaces an earlier one)."""
    _FACTORIES[name] = factory
    _INSTANCES.pop(name, None)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in metadata.entry_points(group="cnnrt.backends"):
        if ep.name not in _FACTORIES:
            _FACTORIES[ep.name] = ep.load()


def backend_names() -> list[str]:
    _load_entry_points()
    return sorted(_FACTORIES)


def get_backend(name: str) -> Backend:
    _load_entry_points()
    if name not in _FACTORIES:
        raise BackendError(f"unknown backend {name!r}; available: {', '.join(backend_names())}")
    if name not in _INSTANCES:
        _INSTANCES[name] = _FACTORIES[name]()
    return _INSTANCES[name]
