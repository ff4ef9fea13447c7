"""Insight into a model: where the time goes (profile), whether cnnrt computes what
onnxruntime does and, if not, where it first diverges (verify), and what the optimizer made of
the graph (summarize)."""
from .profile import LayerProfile, Profile, profile
from .roofline import Roofline, machine_roofline

__all__ = ["LayerProfile", "Profile", "Roofline", "machine_roofline", "profile"]
