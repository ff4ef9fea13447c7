"""cnnrt's graph IR: Graph/Node/Value and the op schema (shape inference, cost)."""
from .graph import Graph, Node, Value
from .ops import SCHEMAS, Cost, ShapeError, infer_node, node_cost, schema

__all__ = ["Graph", "Node", "Value", "SCHEMAS", "Cost", "ShapeError", "infer_node", "node_cost", "schema"]
