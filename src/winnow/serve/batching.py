"""Dynamic batching: concurrent single-query searches of one retriever answered by one batch call.

A request's query joins a queue; one search thread takes the queue in batches and answers each
with one :meth:`~winnow.Retriever.search_batch` call, whose per-query cost is a fraction of a
``search`` call's (one query encoding pass, one kernel launch, all cores). While a batch runs,
the queries that arrive wait for the next one, so under load batches grow by themselves and a
lone query waits for nothing (``wait_ms`` can hold a small batch back for company; the default
does not). Queries are grouped by retriever, ``k`` and filter; each gets exactly the hits a
``search`` call would give (the engines' batch and single-query paths rank alike).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from winnow.errors import WinnowError
from winnow.serve.limits import ApiError


@dataclass(frozen=True)
class Batching:
    """How the server batches concurrent queries.

    Attributes:
        max_queries: most queries one batch call answers (1: every query alone, as ``search``).
        wait_ms: how long a batch smaller than ``max_queries`` waits for more queries before it
            runs (0: it runs as soon as the search thread is free).
    """

    max_queries: int = 64
    wait_ms: float = 0.0

    def __post_init__(self):
        if isinstance(self.max_queries, bool) or not isinstance(self.max_queries, int) or self.max_queries < 1:
            raise WinnowError(f"batching max_queries must be a positive integer, got {self.max_queries!r}")
        if isinstance(self.wait_ms, bool) or not isinstance(self.wait_ms, (int, float)) or not 0 <= self.wait_ms <= 1000:
            raise WinnowError(f"batching wait_ms must be between 0 and 1000, got {self.wait_ms!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    """One query's hits, the retriever (one commit) that found them, the sparse searchers inside
    it, and the batch's size and engine time."""

    hits: object
    retriever: object
    sparse: list
    seconds: float
    batch: int

    @property
    def generation(self) -> int | None:
        """The commit of the first sparse index inside (``None`` without one)."""
        return self.sparse[0].index.generation if self.sparse else None


class Batcher:
    """Queues single queries and answers them in batches on one search thread.

    Args:
        batching: the batch size and wait bounds.
    """

    def __init__(self, batching: Batching):
        self.batching = batching
        self._queues: dict[tuple, list[_Waiting]] = {}  # by (served name, k, filter key)
        self._draining = False
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="winnow-search")

    async def search(self, entry, query: str, k: int, filter_key, flt) -> Answer:
        """The top ``k`` for ``query`` from ``entry``'s current retriever, answered in a batch.

        Args:
            entry: the :class:`~winnow.serve.served.Served` retriever.
            query: the query text (already within the limits).
            k: hits wanted.
            filter_key: the filter as the request gave it, in a canonical text form (``None``: no
                filter); queries batch together only when these are equal.
            flt: the parsed filter.

        Raises:
            ApiError: 400 when the engine refuses the query (a filter on a field the index lacks).
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queues.setdefault((entry.name, k, filter_key), []).append(_Waiting(entry, query, k, flt, future))
        if not self._draining:
            self._draining = True
            loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        wait = self.batching.wait_ms / 1000
        try:
            while self._queues:
                if wait and all(len(q) < self.batching.max_queries for q in self._queues.values()):
                    await asyncio.sleep(wait)
                key, queue = next(iter(self._queues.items()))
                del self._queues[key]  # the rest of the queue goes to the back: groups take turns
                batch, rest = queue[:self.batching.max_queries], queue[self.batching.max_queries:]
                if rest:
                    self._queues[key] = rest
                live = [w for w in batch if not w.future.cancelled()]  # clients that hung up
                if not live:
                    continue
                try:
                    answers = await loop.run_in_executor(self._executor, _answer, live)
                except Exception as exc:  # every request of the batch gets the failure; the next batch runs
                    for w in live:
                        if not w.future.done():
                            w.future.set_exception(exc)
                    continue
                for w, answer in zip(live, answers):
                    if not w.future.done():
                        w.future.set_result(answer)
        finally:
            self._draining = False


@dataclass
class _Waiting:
    entry: object
    query: str
    k: int
    flt: object
    future: asyncio.Future


def _answer(batch: list[_Waiting]) -> list[Answer]:
    """One ``search_batch`` call for the batch (in the search thread), counted in the entry's stats:
    the same commit answers every query of the batch."""
    entry, k, flt = batch[0].entry, batch[0].k, batch[0].flt
    retriever, sparse = entry.snapshot()
    start = time.perf_counter()
    try:
        if len(batch) == 1:
            hits = [retriever.search(batch[0].query, k, filter=flt)]
        else:
            run = retriever.search_batch([w.query for w in batch], k, filter=flt)
            hits = [run[str(i)] for i in range(len(batch))]
    except WinnowError as exc:
        entry.record(time.perf_counter() - start, len(batch), failed=True, requests=len(batch))
        raise ApiError(400, "bad_request", str(exc)) from None
    seconds = time.perf_counter() - start
    entry.record(seconds, len(batch), requests=len(batch))
    return [Answer(h, retriever, sparse, seconds, len(batch)) for h in hits]
