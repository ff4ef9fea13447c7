"""FLOP/parameter accounting: reads each op's cost from the op schema (ir/ops.py)."""
from .report import LayerCost, account, format_table

__all__ = ["LayerCost", "account", "format_table"]
