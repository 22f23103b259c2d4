"""Why a document scored what it did: the per-term breakdown of a sparse score.

A sparse index scores a document as the dot product of the query vector and the document vector,
``score(q, d) = sum_t w_q(t) * impact_d(t)``, so each matched term contributes exactly its query
weight times the document's impact, and the contributions add up to the score. For a learned
sparse index (SPLADE, inference-free) some of the document's terms are *expansions*: the model put
them in the vector although they do not occur in the document's text. They are marked, so a
reader sees which part of a score came from words the document uses and which from the model.

Example::

    from winnow.retrieve.explain import explain
    e = explain(searcher, "statins and heart disease", "4983")
    for t in e.terms:
        print(t.term, t.query_weight, "x", t.impact, "=", t.contribution, "(expansion)" * t.expansion)
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from winnow.errors import WinnowError
from winnow.types import check_query

# index encoders whose terms are tokenizer pieces that a model may add to a document (expansions)
_LEARNED = ("splade", "inference-free")


class UnknownDocument(WinnowError, KeyError):
    """The index holds no document with the id asked for."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class TermContribution:
    """One matched term of a sparse score.

    Attributes:
        term: the term as the index's vocabulary spells it.
        query_weight: the term's weight in the encoded query.
        impact: the document's impact for the term (dequantised).
        expansion: ``True`` when the term is in the document vector but not in its text,
            ``False`` when the text holds it, ``None`` when the index keeps no text to tell.
    """

    term: str
    query_weight: float
    impact: float
    expansion: bool | None

    @property
    def contribution(self) -> float:
        """``query_weight * impact``: the term's share of the score."""
        return self.query_weight * self.impact

    def to_dict(self) -> dict:
        return {"term": self.term, "query_weight": self.query_weight, "impact": self.impact,
                "contribution": self.contribution, "expansion": self.expansion}


@dataclass(frozen=True)
class Part:
    """One input's share of a fused score.

    Attributes:
        retriever: the input's name.
        rank: the document's rank in that input's run (1 = best; ``None`` when not retrieved).
        score: its score there (``None`` when not retrieved).
        contribution: what this input added to the fused score.
        explanation: the input's own explanation of the document, when it has one.
    """

    retriever: str
    rank: int | None
    score: float | None
    contribution: float
    explanation: "Explanation | None" = None

    def to_dict(self) -> dict:
        return {"retriever": self.retriever, "rank": self.rank, "score": self.score,
                "contribution": self.contribution,
                "explanation": self.explanation.to_dict() if self.explanation is not None else None}


@dataclass(frozen=True)
class Explanation:
    """Why one document scored what it did for one query.

    Attributes:
        doc_id: the document's external id.
        retriever: the retriever's name.
        score: the document's score for the query.
        terms: matched terms, largest contribution first (sparse retrievers).
        parts: each input's share, in the inputs' order (fusions).
        note: what the breakdown leaves out, when something does.
    """

    doc_id: str
    retriever: str
    score: float
    terms: tuple[TermContribution, ...] = ()
    parts: tuple[Part, ...] = ()
    note: str = ""

    def top(self, n: int) -> list[tuple[str, float]]:
        """The ``n`` largest term contributions as ``[(term, contribution)]``."""
        return [(t.term, t.contribution) for t in self.terms[:n]]

    def to_dict(self) -> dict:
        return {"doc_id": self.doc_id, "retriever": self.retriever, "score": self.score,
                "terms": [t.to_dict() for t in self.terms], "parts": [p.to_dict() for p in self.parts],
                "note": self.note}


def explain(searcher, query: str, doc_id: str) -> Explanation:
    """The per-term breakdown of ``doc_id``'s score for ``query`` in a sparse ``searcher``.

    Raises:
        UnknownDocument: when the index holds no document ``doc_id``.
    """
    return explain_docnos(searcher, query, docnos_of(searcher, [doc_id]))[0]


def explain_docnos(searcher, query: str, docnos: Sequence[int]) -> list[Explanation]:
    """Breakdowns of several documents (internal numbers, e.g. ``hits.docnos``) for one query.

    The query is encoded once, however many documents are explained.
    """
    terms, weights = searcher.encode(check_query(query))
    return explain_vector(searcher, terms, weights, docnos)


def explain_vector(searcher, terms: np.ndarray, weights: np.ndarray, docnos: Sequence[int]) -> list[Explanation]:
    """Breakdowns of ``docnos`` for a query already encoded as ``(term ids, weights)``."""
    ix = searcher.index
    vocab = ix.vocabulary
    docnos = np.asarray(docnos, dtype=np.int64)
    matched: list[list[tuple[int, float, float]]] = [[] for _ in range(len(docnos))]
    for t, w in zip(np.asarray(terms).tolist(), np.asarray(weights, dtype=np.float32).tolist()):
        if w == 0 or not 0 <= t < len(vocab):
            continue
        docs, impacts = ix.postings(t)
        at = np.searchsorted(docs, docnos)
        hit = (at < len(docs)) & (docs[np.minimum(at, len(docs) - 1)] == docnos) if len(docs) else at < 0
        for i in np.flatnonzero(hit).tolist():
            matched[i].append((t, w, float(impacts[at[i]])))
    out = []
    for docno, parts in zip(docnos.tolist(), matched):
        is_expansion = _expansions(searcher, docno)
        contributions = sorted(
            (TermContribution(vocab[t], w, imp, is_expansion(t)) for t, w, imp in parts),
            key=lambda c: (-c.contribution, c.term))
        score = float(np.sum(np.array([c.contribution for c in contributions], dtype=np.float32), dtype=np.float32))
        out.append(Explanation(ix.doc_id(docno), searcher.name, score, tuple(contributions)))
    return out


def docnos_of(searcher, doc_ids: Sequence[str]) -> list[int]:
    """The internal numbers of the live documents ``doc_ids``.

    Raises:
        UnknownDocument: for an id the searcher's commit does not hold.
    """
    out = []
    for doc_id in doc_ids:
        docno = searcher.index.locate(doc_id)
        if docno is None:
            raise UnknownDocument(f"{searcher.name}: no document {doc_id!r}")
        out.append(docno)
    return out


def text_term_ids(searcher, text: str) -> list[int]:
    """The index's term ids of the words in ``text``, as the index reads text (no model run).

    BM25 analyses it (tokens, stopwords, stems); learned sparse indexes tokenize it with their
    own tokenizer, untruncated. Highlighting and expansion marking both use it.
    """
    if searcher.index.encoder_kind in _LEARNED:
        return tokenizer(searcher).encode(text, add_special_tokens=False).ids
    return searcher.query_encoder.encode_query(text)[0].tolist()


def _expansions(searcher, docno: int):
    """``term id -> bool | None``: whether the term is absent from the document's stored text.

    BM25 analyses text into its terms and adds none, so nothing is an expansion; without stored
    text a learned index cannot tell (``None``).
    """
    ix = searcher.index
    if ix.encoder_kind not in _LEARNED:
        return lambda term: False
    doc = ix.document(docno)
    if "text" not in doc:
        return lambda term: None
    in_text = set(text_term_ids(searcher, f"{doc['title']} {doc['text']}" if doc.get("title") else doc["text"]))
    return lambda term: term not in in_text


_TOKENIZERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def tokenizer(searcher):
    """An untruncated copy of the tokenizer a learned sparse index's query encoder uses."""
    from tokenizers import Tokenizer

    tok = _TOKENIZERS.get(searcher)
    if tok is None:
        encoder = searcher.query_encoder
        source = getattr(encoder, "tokenizer", None) or encoder.sparse_model.tokenizer
        tok = Tokenizer.from_str(source.to_str())
        tok.no_truncation()
        tok.no_padding()
        _TOKENIZERS[searcher] = tok
    return tok
