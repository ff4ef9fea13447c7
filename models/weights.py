"""Weight sources for the builders: `get(name, shape, role) -> float32 array`.

RealWeights serves a checkpoint's tensors by name and checks every shape, so a builder
whose layout disagrees with the checkpoint fails loudly instead of computing nonsense.
RandomWeights draws an initialisation that keeps activations of order 1 through deep
networks (He for convs followed by an activation, LeCun for linear ones and the
classifier, BatchNorm close to identity but not exactly, so BN folding is exercised).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

# Buffers of a torch state dict the graph does not need.
_UNUSED_SUFFIXES = (".num_batches_tracked",)


class RealWeights:
    def __init__(self, state_dict: Mapping[str, np.ndarray], source: str):
        self.state, self.source, self.used = state_dict, source, set()
        self.tag = f"real:{source}"

    def get(self, name: str, shape: tuple, role: str) -> np.ndarray:
        if name not in self.state:
            raise KeyError(f"{self.source}: no tensor named {name!r}")
        arr = np.asarray(self.state[name], dtype=np.float32)
        if arr.shape != tuple(shape):
            raise ValueError(f"{self.source}: {name} has shape {arr.shape}, the graph needs {shape}")
        self.used.add(name)
        return arr

    def check_all_used(self) -> None:
        """Every tensor of the checkpoint must have found its place in the graph."""
        left = [k for k in self.state if k not in self.used and not k.endswith(_UNUSED_SUFFIXES)]
        if left:
            raise ValueError(f"{self.source}: {len(left)} tensors unused by the graph, e.g. {left[:3]}")


class RandomWeights:
    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.tag = f"random:seed={seed}"

    def get(self, name: str, shape: tuple, role: str) -> np.ndarray:
        rng, shape = self.rng, tuple(shape)
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        if role == "conv":  # followed by ReLU-like: He keeps the second moment
            arr = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        elif role in ("conv_linear", "fc"):  # no activation after: LeCun keeps the variance
            arr = rng.normal(0.0, np.sqrt(1.0 / fan_in), shape)
        elif role == "bias":
            arr = rng.normal(0.0, 0.01, shape)
        elif role == "bn_weight":
            arr = rng.uniform(0.8, 1.2, shape)
        elif role == "bn_bias":
            arr = rng.normal(0.0, 0.1, shape)
        elif role == "bn_running_mean":
            arr = rng.normal(0.0, 0.1, shape)
        elif role == "bn_running_var":
            arr = rng.uniform(0.8, 1.2, shape)
        else:
            raise ValueError(f"no random initialisation for role {role!r} ({name})")
        return arr.astype(np.float32)

    def check_all_used(self) -> None:
        pass
