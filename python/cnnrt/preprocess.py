"""Image preprocessing as a model's metadata describes it (metadata_props `cnnrt.preprocess`).

The JSON keys (written by cnnrt.models builders; any may be omitted):
  size [H, W]            network input size
  resize int | null      shorter side resized to this first (then `crop`); null: resize to size
  crop "center" | null   how to cut `size` out of the resized image
  scale float            multiplies the 0..255 pixel values first (1/255 for [0, 1] inputs)
  mean, std [3]          then (x - mean) / std per channel, in the scaled units
  channel_order "RGB" | "BGR" | "L" (one grayscale channel)
  interpolation "bilinear" | "bicubic" | "nearest"
  layout "NCHW" | "NHWC"  of the network input
A model without metadata gets the ImageNet defaults below, and summary() says so.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .errors import ImageError

IMAGENET_DEFAULTS = {"size": [224, 224], "resize": 256, "crop": "center", "scale": 1 / 255,
                     "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                     "channel_order": "RGB", "interpolation": "bilinear", "layout": "NCHW"}


@dataclass
class Preprocess:
    size: list = field(default_factory=lambda: [224, 224])
    resize: int | None = 256
    crop: str | None = "center"
    scale: float = 1 / 255
    mean: list = field(default_factory=lambda: [0.485, 0.456, 0.406])
    std: list = field(default_factory=lambda: [0.229, 0.224, 0.225])
    channel_order: str = "RGB"
    interpolation: str = "bilinear"
    layout: str = "NCHW"
    source: str = "ImageNet defaults"

    @classmethod
    def from_dict(cls, d: dict, source: str) -> "Preprocess":
        known = {k: v for k, v in {**IMAGENET_DEFAULTS, **d}.items() if k in cls.__dataclass_fields__}
        p = cls(**known, source=source) if "source" not in known else cls(**known)
        channels = 1 if p.channel_order == "L" else 3
        if (p.channel_order not in ("RGB", "BGR", "L") or p.layout not in ("NCHW", "NHWC")
                or len(p.mean) != channels or len(p.std) != channels or len(p.size) != 2):
            raise ValueError(f"invalid preprocessing description: {d}")
        return p

    @classmethod
    def from_metadata(cls, metadata: dict) -> "Preprocess":
        text = metadata.get("cnnrt.preprocess")
        if not text:
            return cls(source="ImageNet defaults (the model has no cnnrt.preprocess metadata)")
        return cls.from_dict(json.loads(text), source="model metadata")

    def describe(self) -> str:
        d = asdict(self)
        src = d.pop("source")
        return f"{src}: " + ", ".join(f"{k}={v}" for k, v in d.items())

    # --- the pipeline -------------------------------------------------------------------
    def image_to_tensor(self, image) -> np.ndarray:
        """One image (path, PIL image, HWC uint8 array) -> a (C, H, W) float32 array (HWC for NHWC)."""
        from PIL import Image

        img = _to_pil(image)
        if self.channel_order == "L":
            img = img.convert("L")
        h, w = self.size
        interp = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "nearest": Image.NEAREST}[self.interpolation]
        if self.resize:
            iw, ih = img.size  # shorter side -> resize, longer side truncated (as torchvision)
            nw, nh = (self.resize, int(self.resize * ih / iw)) if iw <= ih else (int(self.resize * iw / ih), self.resize)
            img = img.resize((max(w, nw), max(h, nh)), interp)
            if self.crop == "center":
                left, top = int(round((img.size[0] - w) / 2)), int(round((img.size[1] - h) / 2))
                img = img.crop((left, top, left + w, top + h))
        if img.size != (w, h):
            img = img.resize((w, h), interp)
        x = np.asarray(img, dtype=np.float32) * np.float32(self.scale)
        if x.ndim == 2:
            x = x[..., None]
        if self.channel_order == "BGR":
            x = x[..., ::-1]
        x = (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return np.ascontiguousarray(x if self.layout == "NHWC" else x.transpose(2, 0, 1), dtype=np.float32)


def _to_pil(image):
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, (str, Path)):
        try:
            with Image.open(image) as im:
                return im.convert("RGB")
        except FileNotFoundError:
            raise ImageError(f"image file not found: {image}") from None
        except (UnidentifiedImageError, OSError) as e:
            raise ImageError(f"cannot decode image {image}: {e}") from None
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4))):
            raise ImageError(f"expected an HWC uint8 image array, got dtype {image.dtype} shape {image.shape} "
                             "(float arrays must be NCHW/CHW, already preprocessed)")
        arr = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
        return Image.fromarray(arr).convert("RGB")
    raise ImageError(f"cannot use a {type(image).__name__} as an image (give a path, a PIL image or an array)")
