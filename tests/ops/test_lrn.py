"""LRN vs onnxruntime (odd sizes) and, for even sizes (which onnxruntime refuses and
onnx.reference gets wrong: it loops over the batch axis), vs a loop written from the spec."""

import math

import numpy as np
import pytest

from oracle import BACKENDS, check_model, single_op


def _lrn_spec(model, feeds):
    """The ONNX spec, literally: square sum over channels [c - floor((size-1)/2), c + ceil((size-1)/2)]."""
    attrs = {a.name: a for a in model.graph.node[0].attribute}
    size = attrs["size"].i
    alpha, beta, bias = attrs["alpha"].f, attrs["beta"].f, attrs["bias"].f
    x = feeds["x0"].astype(np.float64)
    y = np.empty_like(x)
    for c in range(x.shape[1]):
        lo, hi = max(0, c - math.floor((size - 1) / 2)), min(x.shape[1] - 1, c + math.ceil((size - 1) / 2))
        sq = (x[:, lo:hi + 1] ** 2).sum(axis=1)
        y[:, c] = x[:, c] / (bias + alpha / size * sq) ** beta
    return [y.astype(np.float32)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("size,channels", [(5, 7), (2, 3), (4, 13), (9, 3), (1, 4), (3, 1)])
def test_lrn(size, channels, backend):
    rng = np.random.default_rng(size * channels)
    attrs = {"size": size, "alpha": float(rng.uniform(1e-4, 1e-1)), "beta": float(rng.uniform(0.5, 1.0)),
             "bias": float(rng.uniform(0.5, 2.0))}
    model, feeds = single_op("LRN", [(2, channels, 3, 4)], attrs, rng=rng)
    feeds["x0"] *= 3
    if size % 2:
        check_model(model, feeds, backend)
    else:
        check_model(model, feeds, backend, oracle=_lrn_spec)


@pytest.mark.parametrize("backend", BACKENDS)
def test_lrn_default_attributes(backend):
    rng = np.random.default_rng(0)
    model, feeds = single_op("LRN", [(1, 6, 2, 3)], {"size": 3}, rng=rng)
    feeds["x0"] *= 20  # default alpha is small: make the normalization visible
    check_model(model, feeds, backend)
