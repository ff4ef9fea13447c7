"""Per-layer and total costs of a graph with concrete shapes.

Activation memory per layer = the bytes of the layer's outputs; the total is their sum (what a
runtime without a memory planner would hold), next to the planned arena in Model.summary().

Conventions (DESIGN.md): MACs count multiply-accumulates of conv/gemm/matmul; FLOPs = 2 x MACs
plus the elementwise work (bias, BN, activations, adds, pooling, softmax); params = elements of
weights and biases (BatchNorm's scale and bias, counted before folding as papers do; its running
statistics are buffers, not parameters). Data-movement ops cost bytes, not FLOPs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Graph
from ..ir.ops import Cost, node_cost


@dataclass
class LayerCost:
    name: str
    op: str
    shape: tuple
    cost: Cost
    origin: list
    activation_bytes: int = 0


def account(graph: Graph) -> tuple[list[LayerCost], Cost]:
    rows = [LayerCost(n.name, describe_op(n), n.outputs[0].shape, node_cost(n), list(n.origin),
                      sum(np.dtype(v.dtype).itemsize * v.size for v in n.outputs))
            for n in graph.nodes]
    total = Cost()
    for r in rows:
        total = total + r.cost
    return rows, total


def describe_op(n) -> str:
    """The op as a table shows it: conv3x3/s2/dw+relu, conv1x1+add+relu, add, max_pool, ..."""
    a = n.attrs
    if n.op == "conv":
        k = n.inputs[1].shape
        s = f"conv{k[2]}x{k[3]}"
        if a.get("strides", [1, 1]) != [1, 1]:
            s += f"/s{a['strides'][0]}"
        if a.get("group", 1) > 1:
            s += "/dw" if a["group"] == k[0] and k[1] == 1 else f"/g{a['group']}"
    elif n.op in ("activation",):
        s = a["act"]
    elif n.op == "binary":
        s = a["kind"]
    else:
        s = n.op
    if n.op != "activation" and a.get("act", "none") != "none":
        s += "+" + a["act"]
    if n.op in ("conv", "gemm") and n.input(3) is not None:
        s += "+add" + ("+" + a["post_act"] if a.get("post_act", "none") != "none" else "")
    if n.op == "concat" and a.get("inplace"):
        s += "(in place)"
    return s


def human(x: int) -> str:
    """1234567 -> '1.23M'."""
    for unit, div in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(x) >= div:
            return f"{x / div:.2f}{unit}"
    return str(x)


def format_table(rows: list[LayerCost], total: Cost, title: str = "") -> str:
    name_w = min(max([len(r.name) for r in rows] + [5]), 40)
    op_w = max([len(r.op) for r in rows] + [2])
    head = (f"{'layer':<{name_w}}  {'op':<{op_w}}  {'output shape':<20} {'params':>9} {'MACs':>9} "
            f"{'FLOPs':>9} {'act. mem':>9}")
    lines = [title] if title else []
    lines += [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.name[:name_w]:<{name_w}}  {r.op:<{op_w}}  {str(tuple(r.shape)):<20} "
                     f"{human(r.cost.params):>9} {human(r.cost.macs):>9} {human(r.cost.flops):>9} "
                     f"{human(r.activation_bytes) + 'B':>9}")
    lines.append("-" * len(head))
    act = sum(r.activation_bytes for r in rows)
    lines.append(f"{'total':<{name_w}}  {'':<{op_w}}  {'':<20} {human(total.params):>9} "
                 f"{human(total.macs):>9} {human(total.flops):>9} {human(act) + 'B':>9}")
    return "\n".join(lines)
