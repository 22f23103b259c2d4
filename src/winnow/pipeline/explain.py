"""Explain hits of any retriever or pipeline: per term for sparse indexes, per input for fusions.

A fusion's explanation lists each input's rank, score and contribution to the fused score, each
with the input's own explanation (so a BM25 + learned sparse hybrid shows both term breakdowns).
An input's contribution is the fused score of the document when that input's run is fused with
empty runs: its own term of the fusion, normalised exactly as in the full fusion. For the additive
fusions (RRF, convex combinations, CombSUM) the contributions add up to the fused score; CombMNZ
multiplies the sum by the number of inputs that retrieved the document, so its shares are scaled
to the fused score (and the explanation says so).

Example::

    from winnow.pipeline.explain import explain
    e = explain(winnow.open("indexes/hybrid"), "statins and heart disease", "4983")
    for part in e.parts:
        print(part.retriever, part.rank, part.contribution)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from winnow.errors import WinnowError
from winnow.retrieve.explain import Explanation, Part, UnknownDocument
from winnow.retrieve.retriever import Retriever
from winnow.types import Hits, Query, Run, check_query


def explain(retriever: Retriever, query: str, doc_id: str) -> Explanation:
    """Why ``doc_id`` scored what it did for ``query`` in ``retriever``.

    Raises:
        UnknownDocument: when the document is not in the index (or, for a fusion, in no input's
            top ``depth``).
        WinnowError: when the retriever cannot explain its scores (a dense index, say).
    """
    return explain_many(retriever, query, [doc_id])[0]


def explain_many(retriever: Retriever, query: str, doc_ids: Sequence[str]) -> list[Explanation]:
    """Explanations of several documents for one query (each input retrieves once for all of them)."""
    from winnow.pipeline.ops import Cutoff, Fusion, Then
    from winnow.retrieve.explain import explain_docnos
    from winnow.retrieve.searcher import Searcher

    check_query(query)
    if isinstance(retriever, Searcher):
        from winnow.retrieve.explain import docnos_of

        return explain_docnos(retriever, query, docnos_of(retriever, doc_ids))
    if isinstance(retriever, Cutoff):
        return explain_many(retriever.inner, query, doc_ids)
    if isinstance(retriever, Fusion):
        return _explain_fusion(retriever, query, doc_ids)
    if isinstance(retriever, Then):
        note = f"first-stage breakdown; {retriever.stage.name} rescored the hits"
        return [Explanation(e.doc_id, retriever.name, e.score, e.terms, e.parts, note)
                for e in explain_many(retriever.first, query, doc_ids)]
    raise WinnowError(f"{retriever.name}: this kind of retriever ({type(retriever).__name__}) cannot explain "
                      f"its scores")


def _explain_fusion(fusion, query: str, doc_ids: Sequence[str]) -> list[Explanation]:
    from winnow.fuse import fuse

    queries = [Query("0", query)]
    runs = [r.retrieve(queries, fusion.depth, None) for r in fusion.retrievers]
    floors = [r.score_floor for r in fusion.retrievers]
    empty = Run({"0": Hits.empty("0")})

    def fused(inputs: list[Run]) -> dict[str, float]:
        return fuse(inputs, fusion.method, floors=floors, **fusion.params)["0"].to_dict()

    total = fused(runs)
    # each input alone, the others empty: its own term of the fused sum, normalised as in the fusion
    alone = [fused([run if j == i else empty for j, run in enumerate(runs)]) for i in range(len(runs))]
    inner = [_inner(r, query, [d for d in doc_ids if d in run["0"].ids]) for r, run in zip(fusion.retrievers, runs)]
    out = []
    for doc_id in doc_ids:
        if doc_id not in total:
            raise UnknownDocument(f"{fusion.name}: {doc_id!r} is in no input's top {fusion.depth} for this query")
        shares = [a.get(doc_id, 0.0) for a in alone]
        note = ""
        if not np.isclose(sum(shares), total[doc_id], rtol=1e-9, atol=1e-12) and sum(shares):
            scale = total[doc_id] / sum(shares)  # CombMNZ multiplies the sum by the number of inputs that found it
            shares = [x * scale for x in shares]
            note = f"shares scaled by {scale:g} to the fused score"
        parts = []
        for retriever, run, share, own in zip(fusion.retrievers, runs, shares, inner):
            hits = run["0"]
            rank = hits.ids.index(doc_id) if doc_id in hits.ids else None
            parts.append(Part(retriever.name, None if rank is None else rank + 1,
                              None if rank is None else float(hits.scores[rank]), share, own.get(doc_id)))
        out.append(Explanation(doc_id, fusion.name, float(total[doc_id]), (), tuple(parts), note))
    return out


def _inner(retriever: Retriever, query: str, doc_ids: list[str]) -> dict[str, Explanation]:
    """An input's own explanations of ``doc_ids`` (none when it cannot explain, as a dense index)."""
    try:
        return {e.doc_id: e for e in explain_many(retriever, query, doc_ids)}
    except WinnowError:
        return {}
