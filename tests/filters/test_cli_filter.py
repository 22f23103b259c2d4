"""``winnow search --filter``: the text grammar and the JSON form, errors reported by the command."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from winnow.cli.app import app
from winnow.errors import FilterError
from winnow.retrieve.searcher import Searcher

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny(tiny_beir, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli-filter") / "ix"
    result = runner.invoke(app, ["index", str(tiny_beir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("spec", ['topic == "ranking"', '{"field": "topic", "op": "==", "value": "ranking"}'])
def test_search_filter(tiny, spec):
    result = runner.invoke(app, ["search", str(tiny), "ranking documents by score", "-k", "5", "--json",
                                 "--filter", spec])
    assert result.exit_code == 0, result.output
    ids = [h["id"] for h in json.loads(result.stdout)["hits"]]
    assert ids == list(Searcher(tiny).search("ranking documents by score", k=5, filter='topic == "ranking"').ids)
    assert ids and set(ids) <= {"d11", "d16"}


def test_search_filter_errors(tiny):
    result = runner.invoke(app, ["search", str(tiny), "ranking", "--filter", "topic = 'ranking'"])
    assert isinstance(result.exception, FilterError)
    assert "position 6: unexpected character '=' (write == for equality)" in str(result.exception)
    result = runner.invoke(app, ["search", str(tiny), "ranking", "--filter", "topik exists"])
    assert "unknown field 'topik' (did you mean 'topic'?)" in str(result.exception)
