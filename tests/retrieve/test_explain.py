"""Explanations: a sparse score is the sum of its terms' query weight x impact; a fused score is the
sum of its inputs' shares."""

from __future__ import annotations

import numpy as np
import pytest

import winnow
from tests.tiny_models import load_queries
from winnow.errors import WinnowError
from winnow.pipeline.explain import explain as explain_any
from winnow.pipeline.explain import explain_many
from winnow.retrieve.explain import UnknownDocument, explain, explain_docnos
from winnow.types import Document


@pytest.fixture(scope="module")
def bm25(tiny_index):
    return winnow.open(tiny_index)


@pytest.mark.parametrize("quantize", [None, "u8"])
def test_sparse_contributions_add_up_to_the_score(tiny_beir, tmp_path, quantize):
    from winnow.api import index_corpus

    index_corpus(tiny_beir, tmp_path / "ix", "bm25", quantize=quantize)
    s = winnow.open(tmp_path / "ix")
    for query in load_queries():
        hits = s.search(query, 10)
        for e, doc_id, score in zip(explain_docnos(s, query, hits.docnos), hits.ids, hits.scores.tolist()):
            assert e.doc_id == doc_id
            assert e.score == pytest.approx(score, rel=1e-5)
            assert sum(t.contribution for t in e.terms) == pytest.approx(score, rel=1e-5)
            assert [t.contribution for t in e.terms] == sorted((t.contribution for t in e.terms), reverse=True)
            assert all(t.expansion is False for t in e.terms)


def test_explain_by_id_equals_explain_by_number(bm25):
    query = load_queries()[0]
    hits = bm25.search(query, 3)
    assert [explain(bm25, query, d) for d in hits.ids] == explain_docnos(bm25, query, hits.docnos)


def test_the_query_is_encoded_once_for_all_hits(bm25, monkeypatch):
    calls = []
    encode = bm25.encode
    monkeypatch.setattr(bm25, "encode", lambda q: calls.append(q) or encode(q))
    hits = bm25.search(load_queries()[0], 10)
    explain_docnos(bm25, load_queries()[0], hits.docnos)
    assert len(calls) == 1


def test_a_document_without_the_query_terms_explains_as_zero(bm25):
    e = explain(bm25, "skipping postings with upper bounds", "d19")
    assert e.terms == () and e.score == 0.0


def test_unknown_documents_are_refused(bm25):
    with pytest.raises(UnknownDocument, match="no-such"):
        explain(bm25, "bm25", "no-such")


def test_explanations_follow_segments_and_deletions(tiny_beir, tmp_path):
    from winnow.api import index_corpus

    index_corpus(tiny_beir, tmp_path / "ix", "bm25")
    with winnow.open_writer(tmp_path / "ix") as w:
        w.add([Document("n1", "bm25 ranking of a new document about length normalisation")])
        w.delete(["d03"])
        w.commit()
    s = winnow.open(tmp_path / "ix")
    query = "how does bm25 normalise document length"
    hits = s.search(query, 20)
    assert "n1" in hits.ids and "d03" not in hits.ids
    for e, score in zip(explain_docnos(s, query, hits.docnos), hits.scores.tolist()):
        assert sum(t.contribution for t in e.terms) == pytest.approx(score, rel=1e-5)
    with pytest.raises(UnknownDocument):
        explain(s, query, "d03")


def test_learned_expansions_are_the_terms_missing_from_the_text(tiny_beir, tmp_path, tiny_mlm):
    from winnow.api import index_corpus
    from winnow.retrieve.explain import text_term_ids

    index_corpus(tiny_beir, tmp_path / "ix", f"inference-free:{tiny_mlm}")
    s = winnow.open(tmp_path / "ix")
    query = load_queries()[0]
    hits = s.search(query, 10)
    flags = []
    for e, doc, score in zip(explain_docnos(s, query, hits.docnos), s.documents(list(hits.ids)), hits.scores):
        in_text = set(text_term_ids(s, doc.full_text))
        vocab = {t: i for i, t in enumerate(s.index.vocabulary)}
        for t in e.terms:
            assert t.expansion == (vocab[t.term] not in in_text)
            flags.append(t.expansion)
        assert sum(t.contribution for t in e.terms) == pytest.approx(float(score), rel=1e-5)
    assert True in flags  # the random model expands documents


@pytest.mark.parametrize("method, params", [("rrf", {}), ("rrf", {"k": 10}), ("combsum", {"norm": "minmax"}),
                                            ("convex", {"weights": [0.3, 0.7], "norm": "tm2c2"}),
                                            ("combmnz", {"norm": "minmax"})])
def test_fused_scores_are_the_sum_of_their_inputs_shares(bm25, tiny_index, method, params):
    from winnow.pipeline.ops import Fusion

    variant = winnow.open(tiny_index)  # the same index twice still fuses two runs
    fusion = Fusion([bm25 % 5, variant], method, params)
    query = "how does bm25 normalise document length"
    hits = fusion.search(query, 8)
    explained = explain_many(fusion, query, list(hits.ids))
    for e, score in zip(explained, hits.scores.tolist()):
        assert e.score == pytest.approx(score)
        assert sum(p.contribution for p in e.parts) == pytest.approx(score, rel=1e-9)
        assert [p.retriever for p in e.parts] == [r.name for r in fusion.retrievers]
        assert (e.note != "") == (method == "combmnz" and all(p.rank for p in e.parts))
    if method == "rrf":
        k = params.get("k", 60)
        for e in explained:
            for p in e.parts:
                assert p.contribution == pytest.approx(0.0 if p.rank is None else 1 / (k + p.rank))
                assert (p.explanation is None) == (p.rank is None)
    assert explained[0] == explain_any(fusion, query, hits.ids[0])


def test_unknown_to_a_fusion_and_unexplainable_retrievers(bm25):
    fusion = bm25 + bm25
    with pytest.raises(UnknownDocument):
        explain_any(fusion, "bm25", "d19")

    class Opaque(winnow.Retriever):
        def retrieve(self, queries, k, filter=None):
            return winnow.Run({q.id: winnow.Hits.empty(q.id) for q in queries})

    with pytest.raises(WinnowError, match="cannot explain"):
        explain_any(Opaque(), "bm25", "d01")
    assert np.isfinite(explain_any(bm25 % 3, "bm25", "d03").score)
