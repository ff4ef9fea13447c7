"""cnnrt's model zoo: builders that write ONNX models of classic image classifiers.

    from cnnrt import models
    models.names()                                   # ['efficientnet_lite0', 'mobilenet_v2']
    m = models.build("mobilenet_v2", "mnv2.onnx")    # real pretrained weights
    r = models.build("mobilenet_v2", weights="random", seed=3)

Every model has one input "input" [N, 3, H, W] (N symbolic) and one output "logits"
[N, 1000], and carries metadata_props: cnnrt.preprocess (see preprocess_meta),
cnnrt.labels = "imagenet1k", cnnrt.arch = its name, cnnrt.weights = "real:<package/file>"
or "random:seed=<n>".
"""
from __future__ import annotations

import importlib
import os

import onnx

from . import preprocess_meta
from .weights import RandomWeights

__all__ = ["names", "build", "preprocess_meta"]

# name -> "module:ATTRIBUTE" of an onnx_builder.Arch, imported only when built.
_REGISTRY = {
    "efficientnet_lite0": "efficientnet_lite:EFFICIENTNET_LITE0",
    "mobilenet_v2": "mobilenet:MOBILENET_V2",
}


def names() -> list[str]:
    """Names of the architectures build() knows, sorted."""
    return sorted(_REGISTRY)


def _arch(name: str):
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(names())}")
    module, attr = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(f".{module}", __name__), attr)


def build(name: str, path: str | os.PathLike | None = None, weights: str = "real",
          seed: int = 0) -> onnx.ModelProto:
    """Build model `name` with weights "real" (pretrained) or "random" (seeded).

    Writes the model to `path` when given, and returns it either way.
    """
    arch = _arch(name)
    if weights == "real":
        if arch.real_weights is None:
            raise ValueError(f"{name} has no real weights available; use weights='random'")
        source = arch.real_weights()
    elif weights == "random":
        source = RandomWeights(seed)
    else:
        raise ValueError(f"weights must be 'real' or 'random', not {weights!r}")
    graph = arch.graph(source)
    source.check_all_used()
    model = graph.model({
        preprocess_meta.KEY: preprocess_meta.to_metadata(arch.preprocess),
        "cnnrt.labels": "imagenet1k",
        "cnnrt.arch": name,
        "cnnrt.weights": source.tag,
    })
    if path is not None:
        onnx.save(model, os.fspath(path))
    return model
