"""cnnrt.insight.summarize / `cnnrt summary`: given vs optimized, fusions, folded nodes, the
planned arena, and models the backend cannot run summarised instead of refused."""

from __future__ import annotations

import re

import numpy as np
import onnx
from onnx import helper

from cnnrt.accounting import account
from cnnrt.cli import main
from cnnrt.frontend.onnx import import_onnx
from cnnrt.insight import summarize
from cnnrt.passes import prepare
from oracle import make_model
from small_cnn import FOLDED




def _row(text: str, label: str) -> list[str]:
    line = next(ln for ln in text.splitlines() if ln.startswith(label))
    return re.split(r"\s{2,}", line[len(label):].strip())


def test_given_and_optimized_side_by_side(small_path):
    s = summarize(small_path)
    g = import_onnx(small_path)
    given, optimized = (account(prepare(g, {"x": (1, 3, 16, 16)}, optimize=o)) for o in (False, True))
    text = str(s)
    assert _row(text, "ONNX nodes") == ["12"]
    assert _row(text, "steps") == [str(len(given[0])), str(len(optimized[0]))] == ["11", "6"]
    assert _row(text, "MACs") == [f"{given[1].macs:,}", f"{optimized[1].macs:,}"]
    assert _row(text, "FLOPs") == [f"{given[1].flops:,}", f"{optimized[1].flops:,}"]
    assert s.runnable and "every node runs on backend cpu" in text


def test_fusions_and_folded_nodes(small_path):
    s = summarize(small_path)
    assert [(step, parts) for step, _, parts in s.fusions] == [
        ("c1", [("c1", "Conv"), ("bn1", "BatchNormalization"), ("r1", "Relu")]),
        ("c2", [("c2", "Conv"), ("add", "Add"), ("r2", "Relu")])]
    assert {n for n, _ in s.folded} == FOLDED
    text = str(s)
    assert "c2 (Conv), add (Add), r2 (Relu)" in text and "id (Identity)" in text


def test_planned_arena_vs_naive(small_path):
    s = summarize(small_path)
    assert 0 < s.report["arena_bytes"] <= s.report["naive_bytes"]
    planned = _row(str(s), "activation arena (planned)")[0]
    mib = lambda b: f"{b / 2**20:.2f} MiB"
    assert planned == f"{mib(s.report['arena_bytes'])} vs {mib(s.report['naive_bytes'])} unplanned"


def test_op_the_frontend_does_not_know_is_listed_not_raised(tmp_path, capsys):
    model = make_model([helper.make_node("Relu", ["x"], ["r"], name="relu0"),
                        helper.make_node("Erf", ["r"], ["e"], name="erf0"),
                        helper.make_node("TopK", ["e", "k"], ["v", "i"], name="topk0", axis=1)],
                       [("x", [1, 8])], [("v", [1, 3]), ("i", [1, 3], onnx.TensorProto.INT64)],
                       {"k": np.array([3], np.int64)})
    path = tmp_path / "odd.onnx"
    onnx.save(model, path)
    s = summarize(str(path))
    assert not s.runnable and s.given is None
    assert s.unsupported == [("erf0", "Erf", "an ONNX op cnnrt cannot import"),
                             ("topk0", "TopK", "an ONNX op cnnrt cannot import")]
    assert main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "erf0" in out and "TopK" in out and "3 ONNX nodes" in out and "cannot run" in out


def test_node_the_backend_cannot_run_is_listed_with_the_accounting(tmp_path):
    """A conv whose weights are a graph input: it imports and is accounted, but the cpu
    backend needs constant weights."""
    w2 = np.random.default_rng(1).standard_normal((4, 4, 3, 3)).astype(np.float32)
    model = make_model([helper.make_node("Conv", ["x", "w"], ["c"], name="conv_w"),
                        helper.make_node("Relu", ["c"], ["y"], name="relu_y"),
                        helper.make_node("Conv", ["y", "w2"], ["z"], name="conv_const")],
                       [("x", [1, 3, 8, 8]), ("w", [4, 3, 3, 3])], [("z", None)],
                       {"w2": w2})
    path = tmp_path / "runtime_weights.onnx"
    onnx.save(model, path)
    s = summarize(str(path))
    assert [(n, op) for n, op, _ in s.unsupported] == [("conv_w", "conv")]
    assert s.given is not None and s.given[1].macs > 0
    text = str(s)
    assert "unsupported on backend cpu (1 nodes)" in text and "conv_w" in text
    assert "cannot run" in text


def test_cli_summary_optimized_table(small_path, capsys):
    assert main(["summary", small_path, "--optimized"]) == 0
    out = capsys.readouterr().out
    assert "optimized: 6 steps" in out and "fusions: 2 steps" in out
