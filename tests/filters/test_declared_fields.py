"""Declared metadata field types: ``winnow index --field NAME=TYPE``, ``index_corpus(fields=...)``
and later writers; values that do not fit; filtered search over declared fields against brute force."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.filters.strategies import TYPES, documents, filters, passes
from tests.filters.test_filtered_search import assert_every_strategy_equals_brute_force, query
from winnow.api import index_corpus
from winnow.cli.app import app
from winnow.errors import InputError
from winnow.filters import parse_filter
from winnow.filters.fields import parse_declarations
from winnow.index.writer import open_writer
from winnow.retrieve.searcher import Searcher
from winnow.types import Document

runner = CliRunner()
ROWS = [("p1", "apple pie recipe", "2019", "en", "3.5"), ("p2", "apple tart recipe", "2021", "fr", "12"),
        ("p3", "apple juice", "2020", "en", "1"), ("p4", "apple cider", "2022", "de", "7.25"),
        ("p5", "apple crumble", "", "en", "")]  # empty cells: missing values
DECLARED = ["--field", "year=integer", "--field", "venue=keyword", "--field", "score=float"]


def write_csv(path: Path, rows) -> Path:
    path.write_text("_id,text,year,venue,score\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


def typed(row) -> dict:
    """A CSV row's metadata as the declared types read it (empty cells are missing)."""
    _, _, year, venue, score = row
    return {k: v for k, v in (("year", int(year) if year else None), ("venue", venue),
                              ("score", float(score) if score else None)) if v is not None}


@pytest.fixture(scope="module")
def declared_index(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("declared")
    corpus = write_csv(folder / "papers.csv", ROWS)
    result = runner.invoke(app, ["index", str(corpus), "--out", str(folder / "ix"), *DECLARED])
    assert result.exit_code == 0, result.output
    return folder / "ix"


@pytest.mark.parametrize("spec", ["year >= 2020", "score < 10", 'venue in ["en", "de"] and score >= 1',
                                  "year exists and not (score > 5)", "not score exists", "year == 2020.0",
                                  'venue > "e"'])
def test_cli_declared_types_filter_as_brute_force(declared_index, spec):
    """Empty cells of declared integer and float columns are missing values."""
    want = {row[0] for row in ROWS if passes(parse_filter(spec), typed(row))}
    result = runner.invoke(app, ["search", str(declared_index), "apple", "-k", "10", "--json", "--filter", spec])
    assert result.exit_code == 0, result.output
    assert {h["id"] for h in json.loads(result.stdout)["hits"]} == want


def test_info_shows_declared_types(declared_index):
    result = runner.invoke(app, ["info", str(declared_index)])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["fields"] == {"year": "integer", "venue": "keyword", "score": "float"}
    assert Searcher(declared_index).index.field_types() == info["fields"]


def test_cli_value_that_does_not_fit(tmp_path):
    corpus = write_csv(tmp_path / "bad.csv", [ROWS[0], ("p2", "apple tart", "abc", "fr", "12"), ROWS[2]])
    result = runner.invoke(app, ["index", str(corpus), "--out", str(tmp_path / "ix"), *DECLARED])
    assert isinstance(result.exception, InputError)
    assert str(result.exception) == (f"{corpus}:3: metadata field 'year' of document 'p2': 'abc' does not spell "
                                     "an integer (the field is declared integer)")
    assert not (tmp_path / "ix").exists()
    result = runner.invoke(app, ["index", str(corpus), "--out", str(tmp_path / "ix"), *DECLARED, "--skip-bad"])
    assert result.exit_code == 0, result.output
    assert "skipped 1 bad records" in " ".join(result.output.split())
    assert set(Searcher(tmp_path / "ix").search("apple", k=10).ids) == {"p1", "p3"}
    later = write_csv(tmp_path / "later.csv", [("p6", "apple sauce", "2024", "en", "free"), ROWS[3]])
    result = runner.invoke(app, ["add", str(tmp_path / "ix"), str(later)])  # the index keeps its declared types
    assert isinstance(result.exception, InputError)
    assert "later.csv:2: metadata field 'score' of document 'p6': 'free' does not spell a float" \
        in str(result.exception)
    result = runner.invoke(app, ["add", str(tmp_path / "ix"), str(later), "--skip-bad"])
    assert result.exit_code == 0, result.output
    assert Searcher(tmp_path / "ix").search("apple", k=10, filter="score > 5").ids == ("p4",)


@pytest.mark.parametrize("specs, message", [
    (["year:integer"], "'year:integer': declare a field as NAME=TYPE, e.g. year=integer"),
    (["=integer"], "'=integer': declare a field as NAME=TYPE"),
    (["year=int"], "field 'year': unknown type 'int'; use one of keyword, integer, float, boolean, date"),
    (["year=integer", "year=float"], "field 'year' is declared twice (integer and float)"),
])
def test_bad_declarations(tmp_path, specs, message):
    with pytest.raises(InputError) as err:
        parse_declarations(specs)
    assert str(err.value).startswith(message)
    args = [arg for spec in specs for arg in ("--field", spec)]
    result = runner.invoke(app, ["index", str(write_csv(tmp_path / "c.csv", ROWS)), "--out", str(tmp_path / "ix"),
                                 *args])
    assert isinstance(result.exception, InputError) and str(result.exception).startswith(message)


def test_declarations_read_names_and_types():
    assert parse_declarations(["year=integer", " Lang = Keyword ", "a=b=date", "ok=boolean"]) == {
        "year": "integer", "Lang": "keyword", "a=b": "date", "ok": "boolean"}


def test_later_writers_enforce_declared_types(tmp_path):
    docs = [Document("a", "apple", metadata={"year": 2020, "venue": "ACL"}), Document("b", "apple", metadata={})]
    index_corpus(docs, tmp_path / "ix", "bm25", fields={"year": "integer"})
    for method in ("add", "update"):
        with open_writer(tmp_path / "ix") as writer:
            with pytest.raises(InputError, match="metadata field 'year' of document 'c': 'abc' does not spell an "
                                                 "integer \\(the field is declared integer\\)"):
                getattr(writer, method)([Document("c", "apple", metadata={"year": "abc"})])
            with pytest.raises(InputError, match="metadata field 'year' of document 'd': True \\(a boolean\\) is "
                                                 "not of type integer"):
                getattr(writer, method)([Document("d", "apple", metadata={"year": True})])
    with pytest.raises(InputError, match="the index declares \\{'year': 'integer'\\}, which later writers keep"):
        open_writer(tmp_path / "ix", fields={"year": "float"})
    with open_writer(tmp_path / "ix", fields={"year": "integer"}) as writer:  # the same types are welcome
        writer.update([Document("b", "apple", metadata={"year": "2021"})])
    searcher = Searcher(tmp_path / "ix")
    assert searcher.search("apple", k=5, filter="year > 2020").ids == ("b",)
    assert searcher.index.manifest["fields"] == {"year": "integer"}
    with pytest.raises(InputError, match="unknown type 'int'"):
        index_corpus(docs, tmp_path / "other", "bm25", fields={"year": "int"})


def as_text(metadata: dict, draw) -> dict:
    """Some integer, float and boolean values written as text, as CSV and TSV cells hold them."""
    out = {}
    for name, value in metadata.items():
        if TYPES[name] in ("integer", "float", "boolean") and value is not None and draw(st.booleans()):
            value = str(value).lower() if isinstance(value, bool) else str(value)
        out[name] = value
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), metadata=documents(max_docs=40))
def test_filtered_search_over_declared_fields_equals_brute_force(vector_corpus, data, metadata):
    """Every field declared (``never`` has no value anywhere, yet can be filtered on); values partly
    as text; two segments."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    n_terms = 4
    rows = [{int(t): 1.0 + float(t) for t in np.flatnonzero(rng.random(n_terms) < 0.5)} for _ in metadata]
    docs, encoder = vector_corpus(rows, n_terms)
    docs = [Document(d.id, d.text, d.title, as_text(m, data.draw)) for d, m in zip(docs, metadata)]
    with tempfile.TemporaryDirectory() as tmp:
        with open_writer(Path(tmp) / "ix", encoder, fresh=True, fields=TYPES) as writer:
            cut = len(docs) // 2
            writer.add(docs[:cut])
            writer.commit()
            writer.add(docs[cut:])
        searcher = Searcher(Path(tmp) / "ix")
        assert searcher.index.field_types() == TYPES
        everyone = np.ones(len(docs), bool)
        for f in data.draw(st.lists(filters(max_leaves=4), min_size=1, max_size=3)):
            pairs, k = data.draw(query(n_terms, len(rows)))
            terms = np.array([t for t, _ in pairs], np.int32)
            weights = np.array([w for _, w in pairs], np.float32)
            keep = everyone & np.array([passes(f, m) for m in metadata])
            assert_every_strategy_equals_brute_force(searcher, rows, n_terms, keep, terms, weights, k, f)
