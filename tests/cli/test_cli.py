"""The ``winnow`` command, driven through Typer's CliRunner (and ``main`` for error reporting)."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from winnow.cli.app import app, main
from winnow.corpus import read_queries, read_run
from winnow.errors import WinnowError
from winnow.retrieve.searcher import Searcher

runner = CliRunner()


@pytest.fixture(scope="module")
def cli_index(tiny_beir, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "ix"
    result = runner.invoke(app, ["index", str(tiny_beir), "--out", str(out), "--batch-size", "7"])
    assert result.exit_code == 0, result.output
    assert "indexed 20 documents" in result.output
    return out


def test_search_json(cli_index):
    result = runner.invoke(app, ["search", str(cli_index), "how does bm25 normalise document length", "-k", "3",
                                 "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    hits = Searcher(cli_index).search("how does bm25 normalise document length", k=3)
    assert [h["id"] for h in out["hits"]] == list(hits.ids)
    assert [h["rank"] for h in out["hits"]] == [1, 2, 3]
    assert [h["score"] for h in out["hits"]] == pytest.approx([float(s) for s in hits.scores], abs=1e-4)
    assert out["hits"][0]["terms"] and out["query"] == "how does bm25 normalise document length"


def test_search_table(cli_index):
    result = runner.invoke(app, ["search", str(cli_index), "posting lists", "-k", "2"])
    assert result.exit_code == 0 and "2 hits" in result.stdout


def test_eval_json_and_run_out(tiny_beir, tmp_path):
    run_path = tmp_path / "run.trec"
    metrics = ["ndcg@10", "recall@5", "mrr@10"]
    result = runner.invoke(app, ["eval", str(tiny_beir), "--metrics", ",".join(metrics), "--json", "-k", "5",
                                 "--run-out", str(run_path), "--index-dir", str(tmp_path / "ix")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert set(out) == {*metrics, "mrt_ms", "qps_batch", "n_queries"}
    assert out["n_queries"] == 7 and all(0 <= out[m] <= 1 for m in metrics)

    run = read_run(run_path)
    kept, = [p for p in (tmp_path / "ix").iterdir() if p.is_dir()]  # one index per corpus and spec
    searcher = Searcher(kept)
    for q in read_queries(tiny_beir / "queries.jsonl"):
        hits = searcher.search(q.text, k=5)
        assert set(run[q.id].ids if q.id in run else ()) == set(hits.ids)


def test_info_prints_the_manifest(cli_index):
    result = runner.invoke(app, ["info", str(cli_index)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["n_docs"] == 20


def test_bad_encoder_spec_fails_with_a_message(tiny_beir, tmp_path, monkeypatch, capsys):
    args = ["index", str(tiny_beir), "--out", str(tmp_path / "ix"), "--encoder", "bm25:k1=abc"]
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert isinstance(result.exception, WinnowError) and "k1='abc': expected float" in str(result.exception)

    monkeypatch.setattr(sys, "argv", ["winnow", *args])  # the installed entry point reports it
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "expected float" in err
    assert not (tmp_path / "ix").exists()


def test_skip_bad_reports_skipped_lines(tiny_beir, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    lines = (tiny_beir / "corpus.jsonl").read_text().splitlines()
    corpus.write_text("\n".join([lines[0], "{not json", lines[1], '{"_id": "x"}', *lines[2:]]) + "\n")
    out = tmp_path / "ix"
    result = runner.invoke(app, ["index", str(corpus), "--out", str(out)])
    assert result.exit_code != 0 and not out.exists()
    result = runner.invoke(app, ["index", str(corpus), "--out", str(out), "--skip-bad"])
    assert result.exit_code == 0, result.output
    squeezed = "".join(result.stderr.split())  # Rich wraps long lines at the console width
    assert f"skipped{corpus}:2:malformedJSON" in squeezed
    assert f"skipped{corpus}:4:missingtextfield'text'" in squeezed
    assert "skipped2badrecords" in squeezed
    assert Searcher(out).index.n_docs == 20
