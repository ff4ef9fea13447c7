"""GlobalMaxPool vs onnxruntime: ragged channels, batch > 1, non-square, 1x1 and 1-D/3-D spatial inputs."""

import numpy as np
import pytest

from oracle import BACKENDS, check_model, single_op


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(2, 7, 5, 3), (1, 13, 1, 1), (3, 3, 9), (1, 2, 3, 4, 2)])
def test_global_max_pool(shape, backend):
    rng = np.random.default_rng(len(shape) + shape[1])
    model, feeds = single_op("GlobalMaxPool", [shape], rng=rng)
    check_model(model, feeds, backend)
