"""The preprocessing a model expects, stored in the ONNX model's metadata_props.

Key ``cnnrt.preprocess`` holds a JSON object with exactly these fields:

=================  ===========================  =============================================
field              type                         meaning
=================  ===========================  =============================================
``size``           [int H, int W]               network input height and width
``resize``         int or null                  resize so the SHORTER side has this many
                                                pixels (aspect kept) before cropping; null:
                                                resize straight to ``size`` (aspect not kept)
``crop``           "center" or null             crop ``size`` out of the resized image
                                                (null only when ``resize`` is null)
``interpolation``  "bilinear" | "bicubic" |     filter used for the resize
                   "nearest"
``scale``          float                        pixel values (uint8 0..255) are multiplied
                                                by this first: 1/255 -> [0, 1], 1 -> [0, 255]
``mean``           [float] * channels           subtracted after scaling, per channel
``std``            [float] * channels           divided by after subtracting the mean
``channel_order``  "RGB", "BGR" or "L"          order of the input's channels; "L": one
                                                grayscale channel
``layout``         "NCHW" or "NHWC"             layout of the graph input tensor
=================  ===========================  =============================================

So the tensor is ``((pixels * scale) - mean) / std`` after resize and crop, with the
channels in ``channel_order``. Other keys written by the builders:
``cnnrt.labels`` ("imagenet1k"), ``cnnrt.arch`` (builder name), ``cnnrt.weights``
("real:<package>/<file>" or "random:seed=<n>").
"""
from __future__ import annotations

import json
from typing import Any

__all__ = ["KEY", "FIELDS", "imagenet", "validate", "to_metadata", "from_metadata"]

KEY = "cnnrt.preprocess"
FIELDS = ("size", "resize", "crop", "interpolation", "scale", "mean", "std",
          "channel_order", "layout")


def imagenet(**overrides: Any) -> dict:
    """The torchvision ImageNet recipe (resize 256, center crop 224, mean/std on [0, 1])."""
    spec = {"size": [224, 224], "resize": 256, "crop": "center", "interpolation": "bilinear",
            "scale": 1.0 / 255.0, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
            "channel_order": "RGB", "layout": "NCHW"}
    spec.update(overrides)
    return validate(spec)


def validate(spec: dict) -> dict:
    """Check a spec against the schema above; return it normalised (lists, floats)."""
    missing = [f for f in FIELDS if f not in spec]
    extra = [f for f in spec if f not in FIELDS]
    if missing or extra:
        raise ValueError(f"preprocess spec: missing {missing}, unknown {extra}")
    out = dict(spec)
    out["size"] = [int(v) for v in spec["size"]]
    if len(out["size"]) != 2:
        raise ValueError("preprocess spec: size must be [H, W]")
    out["resize"] = None if spec["resize"] is None else int(spec["resize"])
    if spec["crop"] not in (None, "center"):
        raise ValueError(f"preprocess spec: crop must be 'center' or null, not {spec['crop']!r}")
    if spec["interpolation"] not in ("bilinear", "bicubic", "nearest"):
        raise ValueError(f"preprocess spec: unknown interpolation {spec['interpolation']!r}")
    if spec["channel_order"] not in ("RGB", "BGR", "L") or spec["layout"] not in ("NCHW", "NHWC"):
        raise ValueError("preprocess spec: channel_order must be RGB/BGR/L, layout NCHW/NHWC")
    out["scale"] = float(spec["scale"])
    out["mean"] = [float(v) for v in spec["mean"]]
    out["std"] = [float(v) for v in spec["std"]]
    channels = 1 if spec["channel_order"] == "L" else 3
    if not len(out["mean"]) == len(out["std"]) == channels or 0.0 in out["std"]:
        raise ValueError("preprocess spec: mean and std need one non-zero entry per channel")
    return out


def to_metadata(spec: dict) -> str:
    """Serialise a spec to the JSON string stored under KEY."""
    return json.dumps(validate(spec), sort_keys=True)


def from_metadata(model) -> dict | None:
    """Read the spec back from an onnx.ModelProto (or anything with metadata_props).

    Returns None when the model carries no ``cnnrt.preprocess`` entry.
    """
    for prop in model.metadata_props:
        if prop.key == KEY:
            return validate(json.loads(prop.value))
    return None
