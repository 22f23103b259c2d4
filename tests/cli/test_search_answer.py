"""``winnow search`` answers from one encoding of the query, however many hits it explains."""

from __future__ import annotations

from winnow.cli.app import _answer
from winnow.encode.base import QueryEncoder
from winnow.retrieve.explain import explain
from winnow.retrieve.searcher import Searcher


class CountingQueryEncoder(QueryEncoder):
    """The index's own query encoder, counting how often it runs."""

    def __init__(self, inner: QueryEncoder):
        self.inner, self.calls = inner, 0

    def encode_query(self, text: str):
        self.calls += 1
        return self.inner.encode_query(text)


def test_search_encodes_once_and_explains_every_hit(tiny_index):
    searcher = Searcher(tiny_index)
    counting = searcher.query_encoder = CountingQueryEncoder(searcher.query_encoder)
    rows, elapsed = _answer(searcher, "document length postings", k=10, strategy="auto", top_terms=3)
    assert counting.calls == 1
    assert len(rows) > 1 and elapsed >= 0
    for row in rows:
        expected = explain(Searcher(tiny_index), "document length postings", row["id"]).top(3)
        assert row["terms"] == dict(expected)


def test_a_tiny_index_is_searched_by_the_interpreted_kernels(tiny_index, tmp_path):
    """A one-shot search of a tiny index compiles nothing and answers as the compiled kernels do."""
    import json
    import os
    import subprocess
    import sys

    query = "document length postings"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    env.pop("NUMBA_DISABLE_JIT", None)
    out = subprocess.run([sys.executable, "-c", "from winnow.cli.app import main; main()", "search", str(tiny_index),
                          query, "--json", "-k", "5"], env=env, capture_output=True, text=True, check=True)
    hits = json.loads(out.stdout)["hits"]
    expected = Searcher(tiny_index).search(query, k=5)
    assert [h["id"] for h in hits] == list(expected.ids)
    assert [h["score"] for h in hits] == [round(float(s), 4) for s in expected.scores]
    assert not (tmp_path / "numba-cache").exists()  # no kernel was compiled
