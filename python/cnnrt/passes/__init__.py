"""Graph passes; pipeline.prepare() runs them in order."""
from .pipeline import OPTIMIZATIONS, prepare

__all__ = ["OPTIMIZATIONS", "prepare"]
