"""What every reranker does around its model: read the hits' documents, put the hits back in order."""

from __future__ import annotations

import logging

import numpy as np

from winnow.errors import WinnowError
from winnow.retrieve.retriever import Retriever
from winnow.types import Document, Hits, Query, Run

logger = logging.getLogger(__name__)


def query_texts(queries: list[Query], run: Run, name: str) -> dict[str, str]:
    """``{qid: text}`` for the queries of ``run``.

    Raises:
        WinnowError: when the run holds a query that ``queries`` does not.
    """
    texts = {q.id: q.text for q in queries}
    missing = [qid for qid in run if qid not in texts]
    if missing:
        raise WinnowError(f"{name}: the run holds queries with no text: {missing[:5]}")
    return texts


def fetch_documents(run: Run, source: Retriever) -> dict[str, Document | None]:
    """The stored document of every hit of ``run`` (``None`` where the source holds none), each
    id asked for once."""
    documents: dict[str, Document | None] = {}
    for hits in run.values():
        wanted = list(dict.fromkeys(d for d in hits.ids if d not in documents))
        documents.update(zip(wanted, source.documents(wanted)))
    return documents


def reordered(hits: Hits, scored: dict[int, float], name: str) -> Hits:
    """``hits`` ranked by ``scored`` (position in ``hits`` -> score), best first, ties in input order.

    Positions with no score (documents the source no longer holds) follow in input order, each
    scored one below the one before, so the ranking survives any later sort by score.
    """
    positions = np.fromiter(scored, dtype=np.int64, count=len(scored))
    values = np.fromiter(scored.values(), dtype=np.float32, count=len(scored))
    ranks = np.argsort(-values, kind="stable")
    order, scores = positions[ranks], values[ranks]
    unscored = [i for i in range(len(hits)) if i not in scored]
    if unscored:
        logger.warning("%s: %d documents of query %r are not in the source; they stay last", name, len(unscored), hits.qid)
        floor = scores[-1] if len(scores) else np.float32(0.0)
        order = np.concatenate([order, np.array(unscored, dtype=np.int64)])
        scores = np.concatenate([scores, floor - 1 - np.arange(len(unscored), dtype=np.float32)])
    return Hits(tuple(hits.ids[i] for i in order), scores.astype(np.float32), None, hits.qid)
