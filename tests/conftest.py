"""Puts tests/ on sys.path (for `import oracle`) and, in a source checkout where cnnrt is not
installed, python/ too. On a machine without an NVIDIA GPU it sets TRITON_INTERPRET=1 before any
test module can import torch (which may import triton): triton decides at import time whether it
interprets, and the Triton tests need it to."""

import glob
import os
import sys

if not glob.glob("/dev/nvidia[0-9]*"):
    os.environ.setdefault("TRITON_INTERPRET", "1")

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)
try:
    import cnnrt  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(_here), "python"))
