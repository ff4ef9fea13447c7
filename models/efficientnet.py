"""EfficientNet B0..B7 and L2 (torchvision layout) as ONNX; random weights only.

Compound scaling (Tan & Le, 2019): a network φ steps up from B0 is α^φ deeper, β^φ wider and
γ^φ higher in resolution, with α = 1.2, β = 1.1, γ = 1.15 found by grid search so that
α·β²·γ² ≈ 2 (FLOPs grow ~2^φ). The released variants use rounded coefficients:

=======  =====  =====  ====  =======  ===========  ===========  ======================
variant  width  depth  size  dropout  params       GMACs paper  GMACs here (at size)
=======  =====  =====  ====  =======  ===========  ===========  ======================
B0       1.0    1.0    224   0.2      5,288,548    0.39         0.386
B1       1.0    1.1    240   0.2      7,794,184    0.70         0.687
B2       1.1    1.2    260   0.3      9,109,994    1.0          0.994
B3       1.2    1.4    300   0.3      12,233,232   1.8          1.827
B4       1.4    1.8    380   0.4      19,341,616   4.2          4.394
B5       1.6    2.2    456   0.4      30,389,784   9.9          10.266
B6       1.8    2.6    528   0.5      43,040,704   19           19.068
B7       2.0    3.1    600   0.5      66,347,960   37           37.746
L2       4.3    5.3    800   0.5      480,309,308  --           475.7
=======  =====  =====  ====  =======  ===========  ===========  ======================

Params are exactly torchvision's for B0..B7 (L2: "480M" in Noisy Student, Xie et al. 2020);
GMACs here are cnnrt's accounting, and equal torchvision's published "GFLOPS" where listed
(e.g. 4.39 for B4, 37.75 for B7); the paper's B4/B5 numbers are a few percent lower.

Layout (torchvision.models.efficientnet, parameter names included): stem conv3x3/2 + BN +
SiLU (features.0), seven stages of MBConv blocks (features.1..7), conv1x1 to 4x the last
stage's width + BN + SiLU (features.8), global average pool, dropout (a no-op here),
Linear -> 1000 (classifier.1). MBConv: 1x1 expand + BN + SiLU (when expand != 1), depthwise
kxk + BN + SiLU, squeeze-excite to max(1, in/4) channels, 1x1 project + BN, and an identity
skip when stride is 1 and in == out. BN eps 1e-3, symmetric padding (k-1)/2, SiLU written
as x * sigmoid(x) the way PyTorch exports it.

Preprocessing: the reference (TensorFlow) evaluation recipe -- center crop size/(size+32) of
the image, i.e. resize the shorter side to size+32 and center-crop `size` -- bicubic, ImageNet
mean/std on [0, 1]. For B0 that is torchvision's resize 256 / crop 224 bicubic exactly; for
the larger variants torchvision's ported weights use other resize sizes, and the recipe is
documented here rather than guessed per checkpoint (no real weights are wired up).

Random weights: He/LeCun from RandomWeights, then the BatchNorm running statistics are set
from a forward pass of a random batch at the model's resolution (calibrate_batch_norms), so
every BN output is O(1) however deep the variant -- with statistics fixed in advance the
per-layer scale errors multiply over ~80..500 convolutions and the logits vanish or explode.

EfficientNet-L2 has 480.3M parameters (1.93 GB fp32), within 10% of protobuf's hard 2 GiB
message limit (and serializing it would take a second in-memory copy); build() writes it with
its weights as ONNX external data next to the .onnx file, which cnnrt memory-maps on load
(see models.build).
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np
from onnx import helper, numpy_helper

from .onnx_builder import Arch, GraphBuilder
from .preprocess_meta import imagenet

BN_EPS = 1e-3
# B0 stages: (expand ratio, kernel, first stride, in channels, out channels, repeats)
STAGES = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
          (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
          (6, 3, 1, 192, 320, 1)]
STEM, HEAD_FACTOR = 32, 4  # head width = 4 x the last stage's (1280 for B0)
# variant: (width, depth, resolution, dropout)
VARIANTS = {"b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
            "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
            "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5), "l2": (4.3, 5.3, 800, 0.5)}


def round_filters(channels: int, width: float) -> int:
    """channels * width to the nearest multiple of 8, but never below 90% of it (nor below 8)."""
    v = channels * width
    r = max(8, int(v + 4) // 8 * 8)
    return r + 8 if r < 0.9 * v else r


def round_repeats(repeats: int, depth: float) -> int:
    return int(math.ceil(repeats * depth))


def _conv_bn(g: GraphBuilder, x: str, p: str, cin: int, cout: int, k: int, stride: int = 1,
             group: int = 1, act: bool = True) -> str:
    """torchvision's Conv2dNormActivation: conv `<p>.0` (no bias), BN `<p>.1`, SiLU."""
    x = g.conv(x, f"{p}.0", cin, cout, k, stride, pads=(k - 1) // 2, group=group, linear=not act)
    x = g.batch_norm(x, f"{p}.1", cout, BN_EPS)
    return g.silu(x) if act else x


def _mbconv(g: GraphBuilder, x: str, p: str, cin: int, cout: int, k: int, stride: int,
            expand: int) -> str:
    hidden, y, i = cin * expand, x, 0  # cin is a multiple of 8, so cin * expand is too
    if expand != 1:
        y, i = _conv_bn(g, y, f"{p}.block.0", cin, hidden, 1), 1
    y = _conv_bn(g, y, f"{p}.block.{i}", hidden, hidden, k, stride, group=hidden)
    y = g.squeeze_excite(y, f"{p}.block.{i + 1}", hidden, max(1, cin // 4))
    y = _conv_bn(g, y, f"{p}.block.{i + 2}", hidden, cout, 1, act=False)
    return g.add(y, x) if stride == 1 and cin == cout else y


def graph(weights, variant: str = "b0", size: int | None = None, width: float | None = None,
          depth: float | None = None, calibrate: bool | None = None) -> GraphBuilder:
    """EfficientNet-`variant` at `size` x `size` (default its resolution). `width`/`depth`
    override the variant's coefficients (tiny test models); `calibrate` (default: when the
    weights are random) sets BN statistics from a random batch, see calibrate_batch_norms."""
    w0, d0, res, _ = VARIANTS[variant]
    width, depth, size = width or w0, depth or d0, size or res
    g = GraphBuilder(f"efficientnet_{variant}", weights)
    x = g.input("input", ["N", 3, size, size])
    x = _conv_bn(g, x, "features.0", 3, round_filters(STEM, width), 3, 2)
    for s, (expand, k, stride, cin, cout, n) in enumerate(STAGES, start=1):
        cin, cout = round_filters(cin, width), round_filters(cout, width)
        for j in range(round_repeats(n, depth)):
            x = _mbconv(g, x, f"features.{s}.{j}", cin if j == 0 else cout, cout, k,
                        stride if j == 0 else 1, expand)
    head = HEAD_FACTOR * cout
    x = _conv_bn(g, x, f"features.{len(STAGES) + 1}", cout, head, 1)
    x = g.flatten(g.global_avg_pool(x))
    g.output(g.gemm(x, "classifier.1", head, 1000), "logits", ["N", 1000])
    if calibrate if calibrate is not None else weights.tag.startswith("random"):
        calibrate_batch_norms(g, size)
    return g


# --- data-dependent BatchNorm statistics for random weights ------------------------------
def _conv(x, w, b=None, kernel_shape=(1, 1), strides=(1, 1), pads=(0, 0, 0, 0), group=1,
          dilations=(1, 1)):
    n, cin, h, wd = x.shape
    cout, k, s = w.shape[0], kernel_shape[0], strides[0]
    if k == 1 and s == 1 and group == 1 and not any(pads):
        y = (w.reshape(cout, cin) @ x.reshape(n, cin, h * wd)).reshape(n, cout, h, wd)
    else:
        xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
        oh, ow = (xp.shape[2] - k) // s + 1, (xp.shape[3] - k) // s + 1
        taps = [(i, j, xp[:, :, i:i + s * (oh - 1) + 1:s, j:j + s * (ow - 1) + 1:s])
                for i in range(k) for j in range(k)]
        if group == cin == cout:  # depthwise: one multiply-add per tap
            y = np.zeros((n, cout, oh, ow), np.float32)
            for i, j, t in taps:
                y += w[:, 0, i, j][None, :, None, None] * t
        elif group == 1:  # im2col, (cin, ky, kx) order as the weight
            cols = np.stack([t for _, _, t in taps], axis=2).reshape(n, cin * k * k, oh * ow)
            y = (w.reshape(cout, -1) @ cols).reshape(n, cout, oh, ow)
        else:
            raise NotImplementedError("grouped conv")
    return y if b is None else y + b[None, :, None, None]


def _bn(x, s, b, m, v, epsilon=1e-5, **_):
    scale = s / np.sqrt(v + epsilon)
    return x * scale[None, :, None, None] + (b - m * scale)[None, :, None, None]


_NUMPY_OPS = {
    "Conv": _conv, "BatchNormalization": _bn,
    "Sigmoid": lambda x: (0.5 * (1.0 + np.tanh(0.5 * x))).astype(np.float32),
    "Mul": np.multiply, "Add": np.add, "Identity": lambda x: x,
    "GlobalAveragePool": lambda x: x.mean(axis=(2, 3), keepdims=True),
    "Flatten": lambda x, axis=1: x.reshape(x.shape[0], -1),
    "Gemm": lambda x, w, b, transB=0: x @ (w.T if transB else w) + b,
}


# Where a BN feeds SiLU, its output is centred at beta + 0.5 rather than beta (~0): there
# SiLU passes a change of scale on unchanged (d log std_out / d log std_in ~ 1.0, against
# ~1.1 at 0 and ~1.3 at -0.5), so one image's deviation from the calibration batch does
# not grow geometrically over the ~100..500 activations of B7..L2.
SILU_SHIFT = 0.5


def calibrate_batch_norms(g: GraphBuilder, size: int, seed: int = 0) -> None:
    """Runs a batch of standard-normal images through `g` in numpy, node by node, and sets
    each BatchNormalization's running statistics from its actual input before applying it
    (data-dependent init): every BN output then has std ~gamma, mean ~beta (+ SILU_SHIFT).
    Four images up to 181 pixels, one above 256 (time and memory)."""
    batch = int(np.clip(2 ** 17 // size ** 2, 1, 4))
    x = np.random.default_rng(seed).standard_normal((batch, 3, size, size), dtype=np.float32)
    last_use = {name: i for i, node in enumerate(g.nodes) for name in node.input}
    activated = {n.input[0] for n in g.nodes if n.op_type == "Sigmoid"}
    values = {g.inputs[0].name: x}
    for i, node in enumerate(g.nodes):
        args = [values[n] if n in values else numpy_helper.to_array(g.inits[n])
                for n in node.input]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "BatchNormalization":
            # per-channel means, but one variance for the layer: a per-channel variance
            # from the few positions of a small late-stage map is noisy, and its errors
            # would multiply from layer to layer; a layer's average variance is accurate
            mean = args[0].mean(axis=(0, 2, 3))
            var = np.full_like(mean, args[0].var(axis=(0, 2, 3)).mean())
            if node.output[0] in activated:  # centre SiLU's input at beta + SILU_SHIFT
                mean -= SILU_SHIFT * np.sqrt(var + attrs["epsilon"]) / args[1]
            for name, stat in zip(node.input[3:5], (mean, var)):
                g.inits[name] = numpy_helper.from_array(stat.astype(np.float32), name)
            args[3:5] = mean, var
        values[node.output[0]] = _NUMPY_OPS[node.op_type](*args, **attrs).astype(np.float32,
                                                                                 copy=False)
        for name in set(node.input):
            if last_use.get(name) == i and name in values:
                del values[name]


PREPROCESS = {v: imagenet(size=[res, res], resize=res + 32, interpolation="bicubic")
              for v, (_, _, res, _) in VARIANTS.items()}
_ARCHS = {v: Arch(f"efficientnet_{v}", partial(graph, variant=v), PREPROCESS[v])
          for v in VARIANTS}
EFFICIENTNET_B0, EFFICIENTNET_B1, EFFICIENTNET_B2, EFFICIENTNET_B3 = (
    _ARCHS[f"b{i}"] for i in range(4))
EFFICIENTNET_B4, EFFICIENTNET_B5, EFFICIENTNET_B6, EFFICIENTNET_B7 = (
    _ARCHS[f"b{i}"] for i in range(4, 8))
EFFICIENTNET_L2 = _ARCHS["l2"]
