"""Where each value of the graph lives on the device, and in which layout.

4-D activations are stored NHWC (the conv kernels' layout; channels contiguous), everything else
in its logical (ONNX) shape, contiguous. A value either owns a buffer in the arena, or is a view:
  alias   the same bytes as another value (Identity, Dropout, and reshapes whose logical element
          order the layout does not change, e.g. (N, C, 1, 1) <-> (N, C));
  slice   its channel slice of a concat output (the producer writes straight into the concat);
  hwc     a Flatten of an NHWC tensor read as (N, H*W*C): the bytes of its input, in (h, w, c)
          order instead of ONNX's (c, h, w); only a Gemm whose weight rows are permuted to match
          may read it (lowering checks).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...ir import Value


@dataclass
class Storage:
    value: Value
    phys_shape: tuple           # the shape of the stored tensor
    nhwc: bool                  # a 4-D value stored as (N, H, W, C)
    owner: "Storage | None" = None   # alias/slice/hwc: the storage holding the bytes
    kind: str = "own"           # own | alias | slice | hwc | input | output
    channel_offset: int = 0     # slice: first channel in the owner
    hwc_chw: tuple | None = None  # hwc: the (C, H, W) of the flattened NHWC tensor

    @property
    def root(self) -> "Storage":
        s = self
        while s.owner is not None:
            s = s.owner
        return s


def phys_shape(v: Value) -> tuple:
    s = tuple(int(d) for d in v.shape)
    return (s[0], s[2], s[3], s[1]) if len(s) == 4 else s


def logical_is_physical(v: Value) -> bool:
    """Whether the stored bytes are in the logical (NCHW) element order: plain values, and 4-D
    values where NHWC and NCHW coincide (H*W == 1 or C == 1)."""
    s = v.shape
    return len(s) != 4 or s[2] * s[3] == 1 or s[1] == 1


def logical_view(t, st: Storage):
    """The stored tensor viewed in the value's logical (ONNX) axis order."""
    return t.permute(0, 3, 1, 2) if st.nhwc else t


def to_physical_order(t, nhwc: bool):
    """A logical (N, C, H, W) tensor viewed in storage order."""
    return t.permute(0, 2, 3, 1) if nhwc else t
