"""`cnnrt compare`: survey rows joined with measured costs, written as JSON/CSV/PNG."""

import json
import os

import pytest

from cnnrt import compare, models
from cnnrt.survey import BY_ZOO, TABLE1


def test_survey_table_is_complete():
    assert [r.network for r in TABLE1][:2] == ["AlexNet", "ZF Net"]
    assert all(r.zoo in models.names() for r in TABLE1)
    assert BY_ZOO["googlenet"].params_printed == "5M" and "7.0M" in BY_ZOO["googlenet"].note


def test_compare_measures_and_writes(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRT_CACHE", str(tmp_path / "cache"))
    names = ["efficientnet_lite0"] + (["googlenet"] if "googlenet" in models.names() else [])
    rows = compare.run(names, repeat=2, out_dir=str(tmp_path / "out"), progress=lambda m: None)
    assert [r["zoo"] for r in rows] == names
    lite = rows[0]
    assert lite["params"] == 4_652_008 and 0.38 < lite["gmacs"] < 0.42 and lite["input"] == "3x224x224"
    assert lite["latency_ms"] > 0 and lite["throughput_b8"] > 0 and lite["peak_rss_mb"] > 50
    assert lite["weights"] == "real" and lite["top1_err"] is None  # not a survey row
    data = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert data[0]["params"] == lite["params"]
    assert (tmp_path / "out" / "compare.csv").read_text().startswith("zoo,network,top1_err")
    text = compare.render(rows)
    assert "efficientnet_lite0" in text and "Table 1" in text
    if len(rows) > 1:
        assert rows[1]["top1_err"] == 29.0 and "GoogLeNet" in text and rows[1]["weights"] == "random"
        pytest.importorskip("matplotlib")
        assert os.path.getsize(tmp_path / "out" / "compare.png") > 10_000
