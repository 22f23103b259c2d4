"""``winnow search --explain``: each hit's full breakdown, the same as the API's and the page's."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from winnow.cli.app import app
from winnow.retrieve.explain import explain
from winnow.retrieve.searcher import Searcher

QUERY = "how does bm25 normalise document length"


def test_explain_prints_every_term_of_every_hit(tiny_index):
    out = CliRunner().invoke(app, ["search", str(tiny_index), QUERY, "-k", "3", "--explain"])
    assert out.exit_code == 0, out.output
    searcher = Searcher(tiny_index)
    for hit in searcher.search(QUERY, 3).ids:
        e = explain(searcher, QUERY, hit)
        line = next(line for line in out.output.splitlines() if line.startswith(f"{hit}:"))
        assert [part.split()[0] for part in line.split(" = ")[1].split(" + ")] == [t.term for t in e.terms]


def test_explain_in_json_is_the_library_explanation(tiny_index):
    out = CliRunner().invoke(app, ["search", str(tiny_index), QUERY, "-k", "3", "--explain", "--json"])
    hits = json.loads(out.stdout)["hits"]
    searcher = Searcher(tiny_index)
    for hit in hits:
        assert hit["explanation"] == explain(searcher, QUERY, hit["id"]).to_dict()
        assert sum(t["contribution"] for t in hit["explanation"]["terms"]) == pytest.approx(hit["score"], abs=1e-4)
    plain = json.loads(CliRunner().invoke(app, ["search", str(tiny_index), QUERY, "-k", "3", "--json"]).stdout)
    assert "explanation" not in plain["hits"][0]
