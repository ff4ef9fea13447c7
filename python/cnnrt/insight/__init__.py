"""Insight into a model: where the time goes (profile), whether cnnrt computes what
onnxruntime does and, if not, where it first diverges (verify), and what the optimizer made of
the graph (summarize)."""
from .profile import LayerProfile, Profile, profile
from .roofline import Roofline, machine_roofline
from .summary import GraphSummary, summarize
from .verify import VerifyReport, verify

__all__ = ["GraphSummary", "LayerProfile", "Profile", "Roofline", "VerifyReport",
           "machine_roofline", "profile", "summarize", "verify"]
