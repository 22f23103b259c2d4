"""One evaluation experiment: index a BEIR dataset, run its queries, score the run."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from winnow.encode.pruning import SparsityStats, document_frequencies, sparsity_stats
from winnow.evaluate.metrics import DEFAULT_METRICS, evaluate
from winnow.types import Run, SparseBatch


@dataclass(frozen=True)
class EvalResult:
    """Metric means (keyed as requested), latency and throughput, and the run itself."""

    metrics: dict[str, float]
    mrt_ms: float  # mean single-query search time (encoding included)
    qps_batch: float  # batch search throughput, all cores
    n_queries: int
    run: Run = field(repr=False)
    sparsity: SparsityStats | None = None  # terms per document and query, FLOPS

    def to_dict(self) -> dict:
        return {**self.metrics, "mrt_ms": self.mrt_ms, "qps_batch": self.qps_batch, "n_queries": self.n_queries}


def run_beir(dataset: str | Path, retriever: str = "bm25", split: str = "test", metrics=DEFAULT_METRICS,
             k: int = 1000, index_dir: str | Path | None = None, progress=None) -> EvalResult:
    """Index ``dataset`` with the ``retriever`` encoder spec, search its ``split`` queries, evaluate.

    ``index_dir`` keeps the index (reused when it exists and was built with the same spec);
    otherwise a temporary index is built and removed.
    """
    from winnow.api import index_corpus, load_index
    from winnow.corpus import load_beir

    data = load_beir(dataset, split)
    with tempfile.TemporaryDirectory(prefix="winnow-eval-") as tmp:
        path = Path(index_dir) if index_dir else Path(tmp) / "index"
        if not _reusable(path, retriever):
            index_corpus(data.corpus_path, path, encoder=retriever, progress=progress)
        searcher = load_index(path)
        texts = [q.text for q in data.queries]
        searcher.search(texts[0] if texts else "", k)  # warm-up: kernels load outside the timings
        searcher.search_batch(texts[:2], k=k)
        start = time.perf_counter()
        for text in texts:
            searcher.search(text, k)
        mrt_ms = (time.perf_counter() - start) * 1000 / max(len(texts), 1)
        start = time.perf_counter()
        run = searcher.search_batch(data.queries, k=k).renamed(retriever)
        qps = len(texts) / max(time.perf_counter() - start, 1e-9)
        sparsity = _sparsity(searcher, texts)
    return EvalResult(evaluate(run, data.qrels, metrics), mrt_ms, qps, len(texts), run, sparsity)


def _sparsity(searcher, texts: list[str]) -> SparsityStats:
    """FLOPS (SPLADE's expected multiply-adds per query and document) from the index and the queries."""
    index = searcher.index
    queries = SparseBatch.from_rows([searcher.encode(text) for text in texts])
    query_df = document_frequencies(queries, index.n_terms)
    return sparsity_stats(np.diff(index.indptr), index.n_docs, query_df, len(texts))


def _reusable(path: Path, retriever: str) -> bool:
    from winnow.index.manifest import MANIFEST, read_manifest

    if not (path / MANIFEST).is_file():
        return False
    return read_manifest(path, verify=False).get("spec") == retriever
