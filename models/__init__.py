"""cnnrt's model zoo: builders that write ONNX models of classic image classifiers.

    from cnnrt import models
    models.names()                                   # ['efficientnet_lite0', 'mobilenet_v2']
    m = models.build("mobilenet_v2", "mnv2.onnx")    # real pretrained weights
    r = models.build("mobilenet_v2", weights="random", seed=3)

Every model has one input "input" [N, C, H, W] (N symbolic) and one output "logits"
[N, classes] (1000 ImageNet classes; LeNet-5: 10 digits), and carries metadata_props:
cnnrt.preprocess (see preprocess_meta), cnnrt.labels ("imagenet1k" or "digits"), cnnrt.arch = its name, cnnrt.weights = "real:<package/file>"
or "random:seed=<n>".
"""
from __future__ import annotations

import importlib
import os

import onnx

from . import preprocess_meta
from .weights import RandomWeights

__all__ = ["names", "build", "info", "preprocess_meta"]

# Initializer bytes above which build() writes external data (protobuf's limit is 2 GiB).
EXTERNAL_DATA_BYTES = 1 << 30

# name -> "module:ATTRIBUTE" of an onnx_builder.Arch, imported only when built.
_REGISTRY = {
    "efficientnet_lite0": "efficientnet_lite:EFFICIENTNET_LITE0",
    "mobilenet_v2": "mobilenet:MOBILENET_V2",
    "lenet5": "lenet:LENET5",
    "alexnet": "alexnet:ALEXNET",
    "zfnet": "alexnet:ZFNET",
    "vgg16": "vgg:VGG16",
    "vgg19": "vgg:VGG19",
    "googlenet": "googlenet:GOOGLENET",
    **{f"resnet{d}": f"resnet:RESNET{d}" for d in (18, 34, 50, 101, 152)},
    **{f"efficientnet_b{i}": f"efficientnet:EFFICIENTNET_B{i}" for i in range(8)},
    "efficientnet_l2": "efficientnet:EFFICIENTNET_L2",
}


def names() -> list[str]:
    """Names of the architectures build() knows, sorted."""
    return sorted(_REGISTRY)


def _arch(name: str):
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(names())}")
    module, attr = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(f".{module}", __name__), attr)


def info(name: str) -> dict:
    """What is known without building: the input size and whether real weights exist."""
    arch = _arch(name)
    return {"name": name, "size": list(arch.preprocess["size"]),
            "weights": "real" if arch.real_weights is not None else "random"}


def build(name: str, path: str | os.PathLike | None = None, weights: str = "real",
          seed: int = 0, **options) -> onnx.ModelProto:
    """Build model `name` with weights "real" (pretrained) or "random" (seeded).

    Writes the model to `path` when given, and returns it either way. `options` go to the
    architecture's graph function (e.g. size=64: a reduced input resolution, for tests).

    Weights over EXTERNAL_DATA_BYTES (efficientnet_l2: 1.93 GB, near protobuf's 2 GiB limit)
    go to `<path>.data` next to the file as ONNX external data, and the returned proto only
    refers to it (load the model from `path`). Such a model needs a `path`; without one
    build() raises ValueError once the graph is built.
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
    graph = arch.graph(source, **options)
    source.check_all_used()
    external = graph.nbytes() > EXTERNAL_DATA_BYTES
    if external:
        if path is None:
            raise ValueError(f"{name}: {graph.nbytes() / 2**30:.1f} GiB of weights are too much "
                             f"for one ONNX protobuf (2 GiB limit); pass path= to write them "
                             f"as external data next to the model file")
        path = os.path.abspath(os.fspath(path))
        graph.move_to_external_data(os.path.dirname(path), os.path.basename(path) + ".data")
    model = graph.model({
        preprocess_meta.KEY: preprocess_meta.to_metadata(arch.preprocess),
        "cnnrt.labels": arch.labels,
        "cnnrt.arch": name,
        "cnnrt.weights": source.tag,
    }, check=not external)  # the in-memory checker cannot see the external data file
    if path is not None:
        onnx.save(model, os.fspath(path))
    if external:
        onnx.checker.check_model(os.fspath(path))
    return model
