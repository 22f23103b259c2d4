"""Explain a hit of any retriever or pipeline: per term for sparse indexes, per input for fusions.

A fusion's explanation lists each input's rank, score and contribution to the fused score, each
with the input's own explanation (so a BM25 + learned sparse hybrid shows both term breakdowns).
An input's contribution is its marginal effect: the fused score minus the fused score the
document gets when that input does not retrieve it. For additive fusions (RRF, CombSUM, convex
combinations) the contributions add up to the fused score whenever the document is not an input's
extreme score (where removing it would move a min-max bound).

Example::

    from winnow.pipeline.explain import explain
    e = explain(winnow.open("indexes/hybrid"), "statins and heart disease", "4983")
    for part in e.parts:
        print(part.retriever, part.rank, part.contribution)
"""

from __future__ import annotations

import numpy as np

from winnow.errors import WinnowError
from winnow.retrieve.explain import Explanation, Part
from winnow.retrieve.retriever import Retriever
from winnow.types import Hits, Query, Run, check_query


def explain(retriever: Retriever, query: str, doc_id: str) -> Explanation:
    """Why ``doc_id`` scored what it did for ``query`` in ``retriever``.

    Raises:
        WinnowError: when the retriever cannot explain (a reranker's score, an unknown kind).
    """
    from winnow.pipeline.ops import Cutoff, Fusion, Then
    from winnow.retrieve.explain import explain as explain_sparse
    from winnow.retrieve.searcher import Searcher

    check_query(query)
    if isinstance(retriever, Searcher):
        return explain_sparse(retriever, query, doc_id)
    if isinstance(retriever, Cutoff):
        return explain(retriever.inner, query, doc_id)
    if isinstance(retriever, Fusion):
        return _explain_fusion(retriever, query, doc_id)
    if isinstance(retriever, Then):
        first = explain(retriever.first, query, doc_id)
        return Explanation(doc_id, retriever.name, first.score, first.terms, first.parts,
                           f"first-stage breakdown; {retriever.stage.name} rescored the hits")
    raise WinnowError(f"{retriever.name}: this kind of retriever ({type(retriever).__name__}) cannot explain its scores")


def _explain_fusion(fusion, query: str, doc_id: str) -> Explanation:
    from winnow.fuse import fuse

    queries = [Query("0", query)]
    depth = fusion.depth
    runs = [r.retrieve(queries, depth, None) for r in fusion.retrievers]
    floors = [r.score_floor for r in fusion.retrievers]

    def fused(inputs: list[Run]) -> float | None:
        hits = fuse(inputs, fusion.method, floors=floors, **fusion.params)["0"]
        scores = dict(zip(hits.ids, hits.scores.tolist()))
        return scores.get(doc_id)

    total = fused(runs)
    if total is None:
        raise WinnowError(f"{fusion.name}: {doc_id!r} is not among the top {depth} of any input for this query")
    parts = []
    for i, (retriever, run) in enumerate(zip(fusion.retrievers, runs)):
        hits = run["0"]
        if doc_id not in hits.ids:
            parts.append(Part(retriever.name, None, None, 0.0, None))
            continue
        rank = hits.ids.index(doc_id)
        without = [*runs[:i], Run({"0": _drop(hits, rank)}, run.name), *runs[i + 1:]]
        rest = fused(without)
        sub = _inner(retriever, query, doc_id)
        parts.append(Part(retriever.name, rank + 1, float(hits.scores[rank]), total - (rest or 0.0), sub))
    return Explanation(doc_id, fusion.name, float(total), (), tuple(parts))


def _inner(retriever: Retriever, query: str, doc_id: str) -> Explanation | None:
    try:
        return explain(retriever, query, doc_id)
    except WinnowError:
        return None


def _drop(hits: Hits, rank: int) -> Hits:
    keep = np.arange(len(hits)) != rank
    docnos = None if hits.docnos is None else hits.docnos[keep]
    return Hits(hits.ids[:rank] + hits.ids[rank + 1:], hits.scores[keep], docnos, hits.qid)
