"""Pseudo-queries: made from the corpus, the same under the same seed."""

from __future__ import annotations

import pytest

from tests.tiny_models import load_docs
from winnow.errors import WinnowError
from winnow.train.pseudo import pseudo_queries, sentences
from winnow.types import Document


def test_the_same_seed_gives_the_same_queries_and_another_seed_others():
    docs = load_docs()
    first = pseudo_queries(docs, 12, seed=3)
    assert first == pseudo_queries(docs, 12, seed=3)
    assert first != pseudo_queries(docs, 12, seed=4)
    assert [q.id for q in first] == [f"p{i}" for i in range(12)]
    assert len({q.doc_id for q in first}) == 12  # documents are drawn without replacement
    order = [d.id for d in docs]
    assert [q.doc_id for q in first] == sorted((q.doc_id for q in first), key=order.index)


def test_each_kind_comes_from_its_document():
    docs = {d.id: d for d in load_docs()}
    made = pseudo_queries(docs.values(), 20, seed=0, min_words=3, max_words=6)
    assert {q.kind for q in made} == {"title", "sentence", "span"}
    for q in made:
        doc = docs[q.doc_id]
        if q.kind == "title":
            assert q.text == doc.title
        elif q.kind == "sentence":
            assert any(s.split()[:6] == q.text.split() for s in sentences(doc.text, 3))
        else:
            words, span = doc.text.split(), q.text.split()
            assert 3 <= len(span) <= 6
            assert any(words[i:i + len(span)] == span for i in range(len(words)))


def test_a_document_too_short_for_every_kind_gives_no_query():
    docs = [Document("a", "too short"), Document("b", "one two three four five six.")]
    made = pseudo_queries(docs, 5, seed=0, kinds=("sentence", "span"))
    assert [q.doc_id for q in made] == ["b"]
    assert sentences("First one here now. Second one here! Tiny.", 3) == ["First one here now.", "Second one here!"]


def test_doc2query_queries_come_from_the_generator():
    docs = load_docs()[:6]
    made = pseudo_queries(docs, 6, seed=1, kinds=("doc2query",), doc2query=lambda texts: [t[:12] for t in texts])
    assert [(q.kind, q.text) for q in made] == [("doc2query", d.full_text[:12].strip()) for d in docs]


@pytest.mark.parametrize("kwargs, message", [
    ({"kinds": ("question",)}, "unknown pseudo-query kinds"),
    ({"kinds": ("doc2query",)}, "needs a doc2query model"),
    ({"min_words": 5, "max_words": 4}, "min_words <= max_words"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(WinnowError, match=message):
        pseudo_queries(load_docs(), 3, **kwargs)
