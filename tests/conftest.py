"""Puts tests/ on sys.path (for `import oracle`) and, in a source checkout where cnnrt is not
installed, python/ too."""

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)
try:
    import cnnrt  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(_here), "python"))
