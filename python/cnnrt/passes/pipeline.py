"""The optimization pipeline: the passes in the order they must run, and why.

1. infer_shapes     binds the batch, infers every shape and folds constant subgraphs; every
                    later pass relies on concrete shapes and constant weights.
2. remove_identity  Dropout/Identity/no-op Cast vanish, so producer->consumer patterns are
                    adjacent for the fusions below.
3. dce              drops what folding and removal left unread.
4. fold_batch_norm  before activation fusion: BN must fold into the raw conv output.
5. fuse_activation  SiLU/HardSwish recognized, then conv/gemm(+bias)+activation become one node.
6. fuse_residual    after 5: the add reads the conv whose act is already fused (y = act(conv)+R),
                    and the activation after the add becomes the post_act.
7. fuse_activation_into_binary
                    what activations remain after a (non-residual) add/mul run in its step.
8. eliminate_concat last: only final producers can be asked to write into a slice.
9. dce              a final sweep.
"""

from __future__ import annotations

from ..ir import Graph
from .dce import eliminate_dead_code
from .eliminate_concat import eliminate_concat
from .fold_batch_norm import fold_batch_norm
from .fuse_activation import fuse_activation, fuse_activation_into_binary
from .fuse_residual import fuse_residual
from .infer_shapes import infer_shapes
from .remove_identity import remove_identity

OPTIMIZATIONS = [
    ("remove_identity", remove_identity),
    ("dce", eliminate_dead_code),
    ("fold_batch_norm", fold_batch_norm),
    ("fuse_activation", fuse_activation),
    ("fuse_residual", fuse_residual),
    ("fuse_activation_into_binary", fuse_activation_into_binary),
    ("eliminate_concat", eliminate_concat),
    ("dce", eliminate_dead_code),
]


def prepare(graph: Graph, input_shapes: dict | None = None, optimize: bool = True) -> Graph:
    """A new graph with concrete shapes, optimized unless optimize=False (the input is untouched)."""
    g = graph.clone()
    infer_shapes(g, input_shapes)
    eliminate_dead_code(g)
    if optimize:
        for _, run in OPTIMIZATIONS:
            run(g)
    return g
