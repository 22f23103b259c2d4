"""Filtered top-k equals brute force over the documents that pass: random corpora with metadata,
random filters, one or several segments with deletions, merged or not, every strategy, single and batch."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.filters.strategies import documents, filters, passes
from winnow.errors import FilterError, InputError, WinnowError
from winnow.index.writer import open_writer
from winnow.retrieve.searcher import STRATEGIES, Searcher
from winnow.types import Document

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def corpora(draw):
    """Metadata per document, sparse vectors over a small vocabulary (many ties), segment cuts, deletions."""
    metadata = draw(documents(max_docs=60))
    n, n_terms = len(metadata), draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    rows = []
    for _ in range(n):
        terms = np.flatnonzero(rng.random(n_terms) < draw(st.sampled_from([0.2, 0.6])))
        rows.append({int(t): float(rng.choice([0.5, 1.0, 2.0])) for t in terms})
    cuts = sorted(set(draw(st.lists(st.integers(1, n), max_size=2))) - {n}) if n > 1 else []
    deleted = draw(st.sets(st.integers(0, n - 1), max_size=n // 3))
    return metadata, rows, n_terms, cuts, deleted, draw(st.booleans())


def write(vector_corpus, folder: Path, metadata, rows, n_terms, cuts, deleted, merge=False) -> Searcher:
    """An index of ``rows`` with ``metadata``, added in segments cut at ``cuts``, then ``deleted``
    (and merged into one segment when ``merge``)."""
    docs, encoder = vector_corpus(rows, n_terms)
    docs = [Document(d.id, d.text, d.title, m) for d, m in zip(docs, metadata)]
    with open_writer(folder, encoder, fresh=True) as writer:
        for lo, hi in zip([0, *cuts], [*cuts, len(docs)]):
            writer.add(docs[lo:hi])
            writer.commit()
        writer.delete([str(i) for i in deleted])
        writer.commit()
        if merge:
            writer.merge()
            writer.commit()
    return Searcher(folder)


def brute_force(rows, n_terms, keep, terms, weights, k):
    """Float32 scores in query-term order over the kept documents a known query term touches;
    best first, ties by lower document number."""
    acc = np.zeros(len(rows), np.float32)
    touched = np.zeros(len(rows), bool)
    for t, w in zip(terms.tolist(), weights.tolist()):
        if 0 <= t < n_terms:
            for d, row in enumerate(rows):
                if t in row:
                    acc[d] += np.float32(w) * np.float32(row[t])
                    touched[d] = True
    ranked = sorted(np.flatnonzero(touched & keep).tolist(), key=lambda d: (-acc[d], d))[:k]
    return tuple(str(d) for d in ranked), acc[ranked]


def assert_every_strategy_equals_brute_force(searcher, rows, n_terms, keep, terms, weights, k, f) -> tuple:
    """Each strategy's filtered top-``k`` is the brute-force one over the ``keep`` documents; its ids."""
    ids, scores = brute_force(rows, n_terms, keep, terms, weights, k)
    for strategy in STRATEGIES:
        hits = searcher.search_vector(terms, weights, k, strategy=strategy, filter=f)
        assert hits.ids == ids, (strategy, str(f))
        np.testing.assert_array_equal(hits.scores, scores)
    return ids



def query(n_terms: int, n_docs: int):
    pairs = st.lists(st.tuples(st.integers(-1, n_terms), st.sampled_from([0.5, 1.0, 3.0])), min_size=1, max_size=4)
    return st.tuples(pairs, st.integers(1, n_docs + 2))


@SETTINGS
@given(data=st.data(), corpus=corpora())
def test_filtered_search_equals_brute_force(vector_corpus, data, corpus):
    metadata, rows, n_terms, cuts, deleted, _ = corpus
    live = np.array([i not in deleted for i in range(len(rows))])
    with tempfile.TemporaryDirectory() as tmp:
        searcher = write(vector_corpus, Path(tmp) / "ix", *corpus)
        known = set(searcher.index.field_types())
        for f in data.draw(st.lists(filters(max_leaves=4), min_size=1, max_size=3)):
            pairs, k = data.draw(query(n_terms, len(rows)))
            terms = np.array([t for t, _ in pairs], np.int32)
            weights = np.array([w for _, w in pairs], np.float32)
            if not f.fields() <= known:
                with pytest.raises(FilterError, match="unknown field"):
                    searcher.search_vector(terms, weights, k, filter=f)
                continue
            keep = live & np.array([passes(f, m) for m in metadata])
            ids = assert_every_strategy_equals_brute_force(searcher, rows, n_terms, keep, terms, weights, k, f)
            batch = searcher.search_vectors([(terms, weights), (terms[:1], weights[:1])], k, filter=str(f))
            assert batch[0].ids == ids
            assert batch[1].ids == brute_force(rows, n_terms, keep, terms[:1], weights[:1], k)[0]


def test_k_results_whenever_k_pass(vector_corpus, tmp_path):
    """Top-k-then-filter would return nothing here: the best documents all fail the filter."""
    n = 50
    rows = [{0: 10.0 - i / 10} for i in range(n)]
    metadata = [{"year": 2000 + i, "venue": "ACL" if i >= 40 else "EMNLP"} for i in range(n)]
    searcher = write(vector_corpus, tmp_path / "ix", metadata, rows, 1, [20], {45})
    terms, weights = np.array([0], np.int32), np.array([1.0], np.float32)
    for strategy in STRATEGIES:
        hits = searcher.search_vector(terms, weights, 5, strategy=strategy, filter='venue == "ACL"')
        assert hits.ids == ("40", "41", "42", "43", "44"), strategy
        hits = searcher.search_vector(terms, weights, 10, strategy=strategy,
                                      filter={"field": "venue", "op": "==", "value": "ACL"})
        assert hits.ids == ("40", "41", "42", "43", "44", "46", "47", "48", "49"), strategy
    with pytest.raises(FilterError, match="unknown field 'yaer' \\(did you mean 'year'\\?\\)"):
        searcher.search_vector(terms, weights, 5, filter="yaer > 2000")
    with pytest.raises(WinnowError, match="field 'year' is integer and takes numbers"):
        searcher.search_vector(terms, weights, 5, filter='year > "2000"')


def test_segments_keep_the_index_field_types(vector_corpus, tmp_path):
    rows = [{0: 1.0}] * 4
    docs, encoder = vector_corpus(rows, 1)
    docs = [Document(d.id, d.text, d.title, m) for d, m in
            zip(docs, [{"year": 2020}, {"venue": "ACL"}, {"year": 2021.5, "venue": "EMNLP"}, {"year": "2020a"}])]
    terms, weights = np.array([0], np.int32), np.array([1.0], np.float32)
    with open_writer(tmp_path / "ix", encoder, fresh=True) as writer:
        for lo, hi in ((0, 1), (1, 2), (2, 3)):  # the second segment has no year: missing there, still a field
            writer.add(docs[lo:hi])
            writer.commit()
        with pytest.raises(InputError, match="metadata field 'year' holds float values \\(first in earlier "
                                             "segments of the index\\) but document '3' has '2020a', a string"):
            writer.add(docs[3:])
        searcher = Searcher(tmp_path / "ix")
        assert searcher.search_vector(terms, weights, 5, filter="year > 2020").ids == ("2",)
        assert searcher.search_vector(terms, weights, 5, filter="not year exists").ids == ("1",)
        writer.merge()
        writer.commit()
    searcher = Searcher(tmp_path / "ix")
    assert len(searcher.index.segments) == 1
    assert searcher.index.field_types() == {"year": "float", "venue": "keyword"}
    assert searcher.search_vector(terms, weights, 5, filter='venue == "ACL" or year == 2020').ids == ("0", "1")


def test_declared_fields_hold_for_every_segment(vector_corpus, tmp_path):
    docs, encoder = vector_corpus([{0: 1.0}] * 3, 1)
    metadata = [{"year": "2020", "venue": "ACL", "authors": [{"name": "A"}]}, {"year": "2018"}, {"year": " 2021 "}]
    docs = [Document(d.id, d.text, d.title, m) for d, m in zip(docs, metadata)]
    with open_writer(tmp_path / "ix", encoder, fresh=True, fields={"year": "integer"}) as writer:
        writer.add(docs[:2])
        writer.commit()
    with open_writer(tmp_path / "ix", encoder) as writer:  # a later writer keeps the declared types
        writer.add(docs[2:])
        writer.commit()
    searcher = Searcher(tmp_path / "ix")
    terms, weights = np.array([0], np.int32), np.array([1.0], np.float32)
    assert searcher.search_vector(terms, weights, 5, filter="year >= 2020").ids == ("0", "2")
    with pytest.raises(FilterError, match="unknown field 'venue'; the index has metadata fields: year \\(integer\\)"):
        searcher.search_vector(terms, weights, 5, filter="venue exists")
