"""Response time of a retriever: one query at a time (mean response time) and one batch (throughput)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from winnow.types import Query, Run


@dataclass(frozen=True)
class Timing:
    mrt_ms: float  # mean single-query time, query encoding included
    qps_batch: float  # queries per second of one batch call


def timed_run(retriever, queries: list[Query], k: int) -> tuple[Run, Timing]:
    """The retriever's run on ``queries`` and its timing (after a warm-up, so kernels and models
    load outside the measurement)."""
    if queries:
        retriever.search(queries[0].text, k)
        retriever.retrieve(queries[:2], k)
    start = time.perf_counter()
    for q in queries:
        retriever.search(q.text, k)
    mrt_ms = (time.perf_counter() - start) * 1000 / max(len(queries), 1)
    start = time.perf_counter()
    run = retriever.retrieve(queries, k)
    qps = len(queries) / max(time.perf_counter() - start, 1e-9)
    return run, Timing(mrt_ms, qps)
