"""The retrievers a server answers with, chosen by name only, and what it counts about them.

A request names a retriever (``"bm25"``), never a path: the folders are fixed when the server
starts. Each request takes the retriever current at its start and keeps it to the end, so it sees
one commit throughout; a newer commit is picked up by the next request (see :meth:`Served.current`).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

from winnow.errors import WinnowError
from winnow.retrieve.retriever import Retriever
from winnow.serve.limits import ApiError

LATENCY_WINDOW = 10_000  # latest requests kept per retriever for percentiles


class Served:
    """One served retriever and the folder it was opened from (``None`` when given as an object).

    Args:
        name: what requests call it.
        source: a winnow folder (index or saved pipeline), or a :class:`Retriever`.
    """

    def __init__(self, name: str, source: str | Path | Retriever):
        import winnow

        self.name = name
        self.path = None if isinstance(source, Retriever) else Path(source).resolve()
        retriever = source if isinstance(source, Retriever) else winnow.open(self.path)
        self._state = (retriever, sparse_parts(retriever))  # swapped whole: a reader sees one pair
        self._lock = threading.Lock()  # reopening
        self._counting = threading.Lock()
        self.queries = 0
        self.errors = 0
        self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)

    def current(self) -> Retriever:
        """The retriever at the folder's newest commit (see :meth:`snapshot`)."""
        return self.snapshot()[0]

    def snapshot(self) -> tuple[Retriever, list]:
        """The retriever at the folder's newest commit, and the sparse searchers inside it.

        The check is one listing of each index folder; when a commit landed since the last request, the
        retriever is reopened under a lock and swapped in whole, so a request holds either the old
        snapshot or the new one, never a mix.
        """
        state = self._state
        if not any(s.index.newer() for s in state[1]):
            return state
        with self._lock:
            if self._state is state:
                fresh = _reopened(state[0])
                self._state = (fresh, sparse_parts(fresh))
            return self._state

    def record(self, seconds: float, queries: int = 1, failed: bool = False, requests: int = 1) -> None:
        """Count ``queries`` answered in ``seconds`` for ``requests`` requests (a batch of single
        queries: each request's latency is the batch's)."""
        with self._counting:
            self.queries += queries
            self.errors += failed * requests
            self._latencies.extend([seconds * 1000] * requests)

    def stats(self) -> dict:
        retriever = self._state[0]
        with self._counting:
            lat = np.array(self._latencies, dtype=np.float64)
        percentiles = {f"p{p}": round(float(np.percentile(lat, p)), 3) if len(lat) else None for p in (50, 95, 99)}
        return {"name": self.name, "retriever": retriever.name, "kind": kind_of(retriever),
                "queries": self.queries, "errors": self.errors, "latency_ms": percentiles,
                "indexes": [index_stats(s) for s in sparse_parts(retriever)]}


class Catalog:
    """The served retrievers by name (the first one is the default)."""

    def __init__(self, served: dict):
        if not served:
            raise WinnowError("nothing to serve: give at least one index or pipeline")
        self.entries = {name: Served(name, source) for name, source in served.items()}
        self.started = time.time()

    @property
    def default(self) -> str:
        return next(iter(self.entries))

    def get(self, name: str | None) -> Served:
        entry = self.entries.get(name or self.default)
        if entry is None:
            raise ApiError(404, "unknown_retriever", f"no retriever named {name!r}; this server serves "
                                                     f"{', '.join(self.entries)}")
        return entry

    def stats(self) -> dict:
        return {"worker_pid": os.getpid(), "uptime_s": round(time.time() - self.started, 1),
                "retrievers": [e.stats() for e in self.entries.values()]}

    def close(self) -> None:
        for entry in self.entries.values():
            entry.current().close()


def sparse_parts(retriever: Retriever) -> list:
    """The sparse searchers inside a retriever or pipeline (itself when it is one), left to right."""
    from winnow.pipeline.ops import Cutoff, Fusion, Then
    from winnow.retrieve.searcher import Searcher

    if isinstance(retriever, Searcher):
        return [retriever]
    if isinstance(retriever, Cutoff):
        return sparse_parts(retriever.inner)
    if isinstance(retriever, Then):
        return sparse_parts(retriever.first)
    if isinstance(retriever, Fusion):
        return [s for r in retriever.retrievers for s in sparse_parts(r)]
    return []


def kind_of(retriever: Retriever) -> str:
    """``sparse`` (with its encoder: ``bm25``, ``splade``, ``inference-free``), ``fusion``, ``pipeline`` or ``other``."""
    from winnow.pipeline.ops import Cutoff, Fusion, Then
    from winnow.retrieve.searcher import Searcher

    if isinstance(retriever, Searcher):
        return retriever.index.encoder_kind
    if isinstance(retriever, Cutoff):
        return kind_of(retriever.inner)
    if isinstance(retriever, Fusion):
        return "fusion"
    if isinstance(retriever, Then):
        return "pipeline"
    return type(retriever).__name__


def index_stats(searcher) -> dict:
    ix = searcher.index
    files = [p for p in ix.path.rglob("*") if p.is_file()]
    return {"folder": ix.path.name, "encoder": ix.encoder_kind, "documents": ix.n_docs, "terms": ix.n_terms,
            "segments": len(ix.segments), "bytes": sum(p.stat().st_size for p in files),
            "generation": ix.generation}


def _reopened(retriever: Retriever) -> Retriever:
    """The same retriever over each index's newest commit: a new object, the old one left intact."""
    from winnow.pipeline.ops import Cutoff, Fusion, Then
    from winnow.retrieve.searcher import Searcher

    if isinstance(retriever, Searcher):
        return retriever.reopen()
    if isinstance(retriever, Cutoff):
        return Cutoff(_reopened(retriever.inner), retriever.n)
    if isinstance(retriever, Then):
        return Then(_reopened(retriever.first), retriever.stage)
    if isinstance(retriever, Fusion):
        return Fusion([_reopened(r) for r in retriever.retrievers], retriever.method, retriever.params,
                      retriever.depth)
    return retriever
