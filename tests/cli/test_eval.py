"""``winnow eval`` with several systems, ``winnow index`` with several encoders, ``winnow tune``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from winnow.cli.app import app

runner = CliRunner()


def test_eval_compares_several_systems_in_one_table(tiny_beir, tmp_path):
    args = ["eval", str(tiny_beir), "--retriever", "bm25", "--retriever", "bm25:k1=0.9,b=0.4",
            "--retriever", "rrf(bm25 + bm25:k1=0.9,b=0.4)", "--metrics", "ndcg@10,recall@10",
            "--index-dir", str(tmp_path / "cache"), "--json", "--plot", str(tmp_path / "plot.png"),
            "--run-out", str(tmp_path / "runs")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [s["name"] for s in out["systems"]] == ["bm25", "bm25:k1=0.9,b=0.4", "rrf(bm25 + bm25:k1=0.9,b=0.4)"]
    assert out["baseline"] == "bm25" and out["n_queries"] == 7
    assert all(0 <= s["metrics"]["ndcg@10"] <= 1 and s["extras"]["mrt_ms"] > 0 for s in out["systems"])
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["run0.trec", "run1.trec", "run2.trec"]
    table = runner.invoke(app, args[:-5])
    assert table.exit_code == 0 and "Holm-Bonferroni" in table.stdout


def test_index_several_encoders_then_tune_then_search(tiny_beir, tmp_path):
    out = tmp_path / "hybrid"
    result = runner.invoke(app, ["index", str(tiny_beir), "--out", str(out), "--encoder", "bm25",
                                 "--encoder", "bm25:k1=0.9,b=0.4", "--pipeline", "zscore(bm25 + bm25:k1=0.9,b=0.4)"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["tune", str(out), str(tiny_beir), "--split", "test"])
    assert result.exit_code == 0 and "weights" in result.output, result.output
    result = runner.invoke(app, ["eval", str(tiny_beir), "--retriever", str(out), "--metrics", "ndcg@10", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ndcg@10"] > 0.3
    result = runner.invoke(app, ["search", str(out), "posting lists", "-k", "2", "--json", "--explain"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert len(hits) == 2 and hits[0]["title"]
    shares = hits[0]["explanation"]["parts"]
    assert len(shares) == 2 and sum(p["contribution"] for p in shares) == pytest.approx(hits[0]["score"], abs=1e-3)
    result = runner.invoke(app, ["search", str(out), "posting lists", "-k", "2", "--explain"])
    assert result.exit_code == 0 and "(rank 1)" in result.stdout, result.output
