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
