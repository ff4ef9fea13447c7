"""Class labels: ImageNet-1k by default (shipped in data/imagenet_labels.txt), or the digits."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def imagenet_labels() -> tuple[str, ...]:
    text = resources.files("cnnrt").joinpath("data/imagenet_labels.txt").read_text(encoding="utf-8")
    labels = tuple(line.strip() for line in text.splitlines() if line.strip())
    assert len(labels) == 1000, f"imagenet_labels.txt holds {len(labels)} labels, expected 1000"
    return labels


def labels_for(metadata: dict, num_classes: int, override=None) -> list[str]:
    """The label list for a model's output: an override, the metadata's set, or class indices."""
    if override is not None:
        labels = list(override)
        if len(labels) != num_classes:
            raise ValueError(f"{len(labels)} labels given for a model with {num_classes} classes")
    elif metadata.get("cnnrt.labels") == "digits" and num_classes == 10:
        labels = [str(d) for d in range(10)]
    elif metadata.get("cnnrt.labels", "imagenet1k") == "imagenet1k" and num_classes in (1000, 1001):
        labels = list(imagenet_labels())
        if num_classes == 1001:  # TF-style models put a background class first
            labels = ["background"] + labels
    else:
        labels = []
    if len(labels) != num_classes:
        labels = [f"class_{i}" for i in range(num_classes)]
    return labels
