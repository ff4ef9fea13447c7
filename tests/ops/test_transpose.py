"""Transpose vs onnxruntime: random permutations of ranks 2-5 and the default (reversed) perm."""

import numpy as np
import pytest

from oracle import BACKENDS, check_model, single_op


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(5))
def test_transpose(seed, backend):
    rng = np.random.default_rng(seed)
    rank = int(rng.integers(2, 6))
    shape = tuple(int(d) for d in rng.integers(1, 5, rank))
    attrs = {} if seed == 0 else {"perm": [int(p) for p in rng.permutation(rank)]}
    model, feeds = single_op("Transpose", [shape], attrs, rng=rng, opset=[1, 13, 13, 21, 13][seed])
    check_model(model, feeds, backend)
