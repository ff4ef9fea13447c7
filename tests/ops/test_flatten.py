"""Flatten vs onnxruntime: every axis including 0, rank and negative ones."""

import numpy as np
import pytest

from oracle import BACKENDS, check_model, single_op


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("axis,opset", [(None, 9), (0, 9), (2, 11), (4, 13), (-1, 13), (-3, 13)])
def test_flatten(axis, opset, backend):
    rng = np.random.default_rng(opset)
    model, feeds = single_op("Flatten", [(2, 3, 4, 5)], {} if axis is None else {"axis": axis}, rng=rng, opset=opset)
    check_model(model, feeds, backend)
