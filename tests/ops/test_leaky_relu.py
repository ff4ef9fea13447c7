"""LeakyRelu vs onnxruntime: default and random slopes."""

import numpy as np
import pytest

from oracle import BACKENDS, check_model, single_op


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(3))
def test_leaky_relu(seed, backend):
    rng = np.random.default_rng(seed)
    attrs = {} if seed == 0 else {"alpha": float(rng.uniform(0.01, 0.5))}
    model, feeds = single_op("LeakyRelu", [(2, 3, 4, 5)], attrs, rng=rng, opset=[6, 16, 16][seed])
    check_model(model, feeds, backend)
