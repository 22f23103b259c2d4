"""Experiments on a BEIR dataset: resolve retrievers (building indexes once per corpus and spec),
run them on the same queries, time them, score them and compare them."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from winnow.encode.pruning import SparsityStats, document_frequencies, sparsity_stats
from winnow.evaluate.cache import IndexCache
from winnow.evaluate.metrics import DEFAULT_METRICS, evaluate
from winnow.evaluate.timing import timed_run
from winnow.pipeline.grammar import OpenOnce, is_reranker, resolve_folder
from winnow.retrieve.searcher import Searcher
from winnow.types import Run, SparseBatch


@dataclass(frozen=True)
class EvalResult:
    """Metric means (keyed as requested), latency and throughput, and the run itself."""

    metrics: dict[str, float]
    mrt_ms: float  # mean single-query search time (encoding included)
    qps_batch: float  # batch search throughput, all cores
    n_queries: int
    run: Run = field(repr=False)
    sparsity: SparsityStats | None = None  # terms per document and query, FLOPS (sparse indexes)
    tuned: dict = field(default_factory=dict)  # fusion parameters tuned on another split

    def to_dict(self) -> dict:
        return {**self.metrics, "mrt_ms": self.mrt_ms, "qps_batch": self.qps_batch, "n_queries": self.n_queries}


class Resolver(OpenOnce):
    """Maps pipeline atoms to retrievers for one corpus: encoder specs through the index cache,
    winnow folders with :func:`winnow.open`, rerankers by spec. Opens each atom once."""

    def __init__(self, corpus_path: Path, cache: IndexCache, progress: Callable[[int], None] | None = None):
        super().__init__(self._open)
        self.corpus_path, self.cache, self.progress = corpus_path, cache, progress

    def _open(self, atom: str):
        import winnow

        if is_reranker(atom) or Path(atom).is_dir():
            return resolve_folder(atom)
        return winnow.open(self.cache.ensure(self.corpus_path, atom, self.progress))


def run_beir(dataset: str | Path, retriever: str = "bm25", split: str = "test", metrics=DEFAULT_METRICS,
             k: int = 1000, index_dir: str | Path | None = None, progress=None, tune_split: str | None = None,
             tune_metric: str = "ndcg@10") -> EvalResult:
    """Evaluate one retriever or pipeline (see :mod:`winnow.pipeline.grammar`) on a BEIR split.

    Args:
        retriever: an encoder spec (``bm25``, ``splade:MODEL``), a winnow folder, or pipeline text.
        index_dir: keep the indexes here, one per corpus and spec, and reuse them; without it
            they are built in a temporary folder and removed.
        tune_split: tune the pipeline's fusion parameters on this split first (e.g. ``train``).
    """
    return run_experiment(dataset, [retriever], split, metrics, k, index_dir, progress, tune_split,
                          tune_metric)[0]


def run_experiment(dataset: str | Path, retrievers: Sequence[str], split: str = "test", metrics=DEFAULT_METRICS,
                   k: int = 1000, index_dir: str | Path | None = None, progress=None,
                   tune_split: str | None = None, tune_metric: str = "ndcg@10") -> list[EvalResult]:
    """:func:`run_beir` for several retrievers on the same queries, sharing their indexes."""
    from winnow.corpus import load_beir
    from winnow.pipeline.grammar import build, parse
    from winnow.pipeline.tune import tune_pipeline

    data = load_beir(dataset, split)
    tuning = load_beir(dataset, tune_split) if tune_split else None
    results = []
    with ExitStack() as stack:
        root = Path(index_dir) if index_dir else Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix="winnow-eval-")))
        resolver = Resolver(data.corpus_path, IndexCache(root), progress)
        stack.callback(resolver.close)
        tuning_runs: dict = {}  # retrieved once for every pipeline tuned over them
        for text in retrievers:
            tree = parse(text)
            tuned = (tune_pipeline(tree, resolver, tuning.queries, tuning.qrels, tune_metric, runs=tuning_runs)
                     if tuning else {})
            system = build(tree, resolver, tuned)
            run, timing = timed_run(system, data.queries, k)
            run = run.renamed(text)
            sparsity = _sparsity(system, [q.text for q in data.queries]) if isinstance(system, Searcher) else None
            results.append(EvalResult(evaluate(run, data.qrels, metrics), timing.mrt_ms, timing.qps_batch,
                                      len(data.queries), run, sparsity, tuned))
    return results


def _sparsity(searcher, texts: list[str]) -> SparsityStats:
    """FLOPS (SPLADE's expected multiply-adds per query and document) from the index and the queries."""
    index = searcher.index
    queries = SparseBatch.from_rows([searcher.encode(text) for text in texts])
    query_df = document_frequencies(queries, index.n_terms)
    return sparsity_stats(np.diff(index.indptr), index.n_docs, query_df, len(texts))
