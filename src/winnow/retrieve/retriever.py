"""The Retriever protocol: what every first stage (sparse, dense, fused, sharded, remote) and every
whole pipeline implements, and the Reranker protocol of the stages that reorder a run.

A retriever maps a batch of queries to a :class:`~winnow.types.Run`, at most ``k`` hits each.
Composition (PyTerrier's operators, with its cutoff pushed into the retriever)::

    bm25 % 100 >> rerank % 10     # rerank BM25's top 100, keep 10 (BM25 computes 100, not 1000)
    bm25 + dense                  # reciprocal rank fusion of two retrievers
    fuse([bm25, dense], "convex", norm="zscore", weights=[0.3, 0.7])

Subclasses implement :meth:`Retriever.retrieve`; :meth:`search` and :meth:`search_batch` validate
their arguments and call it, so every retriever refuses bad input the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

from winnow.errors import WinnowError
from winnow.types import Document, Hits, Query, Run, as_queries, check_k, check_query

DEFAULT_DEPTH = 1000  # candidates a fusion asks of each input when nothing narrower is asked


class Retriever(ABC):
    """Queries in, a ranked :class:`~winnow.types.Run` out.

    Attributes:
        name: shown in runs, tables and the server.
        score_floor: the lowest score the retriever can give (0 for BM25 and learned sparse,
            -1 for cosine similarity; ``None`` when unbounded). Theoretical-min-max fusion
            (Bruch et al. 2023) normalises with it.
    """

    name: str = "retriever"
    score_floor: float | None = None

    @property
    def id_space(self) -> str | None:
        """A token naming the numbering of the ``docnos`` in this retriever's hits: retrievers
        with the same token number every document alike (two indexes built from one corpus in
        one order), so fusion can match their hits by number. ``None`` when unknown."""
        return None

    @abstractmethod
    def retrieve(self, queries: list[Query], k: int, filter=None) -> Run:
        """At most ``k`` hits for each of ``queries`` (already validated), as a run named :attr:`name`.

        ``filter`` is a :class:`~winnow.filters.Filter` (or ``None``); a retriever that cannot
        honour it exactly raises :class:`~winnow.errors.WinnowError`.
        """

    def search(self, query: str, k: int = 10, filter=None) -> Hits:
        """Top-``k`` hits for one query."""
        return self.retrieve([Query("0", check_query(query))], check_k(k), filter)["0"]

    def search_batch(self, queries, k: int = 10, filter=None) -> Run:
        """Top-``k`` hits for many queries: a list of ``str`` (ids ``"0"``, ``"1"``, ...), of
        :class:`~winnow.types.Query`, or a mapping ``{qid: text}``."""
        return self.retrieve(as_queries(queries), check_k(k), filter)

    def documents(self, ids: Sequence[str]) -> list[Document | None]:
        """The stored documents of ``ids`` (``None`` for an id it does not hold); rerankers read
        their text from here."""
        raise WinnowError(f"{self.name} keeps no documents; build its index with stored text")

    def __rshift__(self, stage: "Reranker") -> "Retriever":
        from winnow.pipeline.ops import Then

        return Then(self, stage)

    def __mod__(self, k: int) -> "Retriever":
        from winnow.pipeline.ops import Cutoff

        return Cutoff(self, k)

    def __add__(self, other: "Retriever") -> "Retriever":
        from winnow.pipeline.ops import Fusion

        return Fusion.of(self, other)

    def close(self) -> None:
        """Release what the retriever holds (memory maps, models, connections)."""


def numbering(tables: Sequence[tuple[str | None, ...]]) -> str | None:
    """The :attr:`Retriever.id_space` of a numbering made of document-id tables in order, each
    given by the recorded xxh3 of its files (and of its deletions, ``None`` for none); ``None``
    when a table's digest is unknown."""
    import json

    import xxhash

    if not tables or any(d is None for table in tables for d in table[:2]):
        return None
    return "docnos-" + xxhash.xxh3_64_hexdigest(json.dumps([list(t) for t in tables]).encode())


class Reranker(ABC):
    """A later stage: reorders (and rescores) the hits of a run.

    Attributes:
        depth: how many candidates of each query it asks the stage before it for.
    """

    name: str = "reranker"
    depth: int = 100

    @abstractmethod
    def rerank(self, queries: list[Query], run: Run, source: Retriever) -> Run:
        """Rescore each query's hits in ``run``; return them best first (all of them).

        ``source`` is the retriever that produced the run; its :meth:`Retriever.documents` gives
        the text of the hits."""

    def __mod__(self, k: int) -> "Reranker":
        from winnow.pipeline.ops import RerankCutoff

        return RerankCutoff(self, k)

    def __rshift__(self, stage: "Reranker") -> "Reranker":
        from winnow.pipeline.ops import RerankChain

        return RerankChain(self, stage)

    def close(self) -> None:
        """Release what the stage holds."""

