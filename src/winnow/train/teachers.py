"""Teachers: any winnow retriever or pipeline, and rerankers that score the others' candidates.

A retrieval teacher ranks the whole corpus (BM25, dense, SPLADE, a hybrid pipeline); a reranking
teacher (a cross-encoder) scores the pool the retrieval teachers found. Their scores live on
different scales, so the ensemble normalises each teacher's scores per query (with the
normalisations of :mod:`winnow.fuse.normalize`) and takes a weighted sum, the heterogeneous
ensemble of Geng et al. ("Towards Competitive Search Relevance for Inference-Free Learned
Sparse Retrievers", arXiv:2411.04403):

    s(q, d) = sum_t w_t * phi_t(q, d) / sum_t w_t

with ``phi_t`` teacher ``t``'s normalised score; a document teacher ``t`` did not return gets
that teacher's lower bound for the query (0 after min-max).

Example::

    teachers = resolve_teachers(["zscore(bm25 + dense:models/all-MiniLM-L6-v2)", "rerank:models/ce"],
                                [1.0, 1.0], "beir/scifact", index_dir="indexes")
    runs = teacher_runs(teachers, queries, depth=30)
    targets = ensemble([runs[t.name] for t in teachers], [t.weight for t in teachers])
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from winnow.errors import WinnowError
from winnow.retrieve.retriever import Reranker, Retriever
from winnow.types import Document, Hits, Query, Run


@dataclass(frozen=True)
class Teacher:
    """One member of the ensemble: a retriever (ranks the corpus) or a reranker (scores the pool).

    Attributes:
        name: the spec it was built from; names its run and its line in the report.
        weight: its weight in the ensemble (> 0).
        stage: a :class:`~winnow.retrieve.retriever.Retriever` or a
            :class:`~winnow.retrieve.retriever.Reranker`.
    """

    name: str
    weight: float
    stage: Retriever | Reranker

    @property
    def reranks(self) -> bool:
        return isinstance(self.stage, Reranker)


class CorpusSource(Retriever):
    """The documents of a corpus in memory, for rerankers to read; it retrieves nothing itself."""

    name = "corpus"

    def __init__(self, documents: Mapping[str, Document]):
        self._documents = documents

    def retrieve(self, queries: list[Query], k: int, filter=None) -> Run:
        raise WinnowError("a corpus source only hands documents to rerankers; it does not retrieve")

    def documents(self, ids: Sequence[str]) -> list[Document | None]:
        return [self._documents.get(i) for i in ids]


class TeacherSet:
    """Teachers resolved against one corpus; :meth:`close` releases their indexes and models.

    Args:
        specs: pipeline text (``bm25``, ``zscore(bm25 + dense:MODEL)``, a winnow folder, ...) or
            ``rerank:MODEL`` for a cross-encoder that scores the retrieval teachers' pool.
        weights: one per spec (``None``: all 1).
        corpus_dir: the BEIR folder whose ``corpus.jsonl`` the retrieval teachers index.
        index_dir: keep the teachers' indexes here (reused across runs); else a temporary folder.

    Raises:
        WinnowError: without a retrieval teacher, with a teacher named twice, a weight that is
            not positive, or not one weight per spec.
    """

    def __init__(self, specs: Sequence[str], weights: Sequence[float] | None, corpus_dir: str | Path,
                 index_dir: str | Path | None = None):
        from winnow.evaluate.cache import IndexCache
        from winnow.evaluate.experiment import Resolver
        from winnow.pipeline.grammar import build, parse

        weights = [1.0] * len(specs) if weights is None else list(weights)
        if len(weights) != len(specs):
            raise WinnowError(f"{len(specs)} teachers but {len(weights)} weights; give one weight per teacher")
        if len(set(specs)) != len(specs):
            raise WinnowError(f"teachers {list(specs)} name one twice; give it a larger weight instead")
        if any(w <= 0 for w in weights):
            raise WinnowError(f"teacher weights must be > 0, got {weights}")
        self._stack = ExitStack()
        root = Path(index_dir) if index_dir else Path(self._stack.enter_context(
            tempfile.TemporaryDirectory(prefix="winnow-teachers-")))
        resolver = Resolver(Path(corpus_dir) / "corpus.jsonl", IndexCache(root))
        self._stack.callback(resolver.close)
        self.teachers = [Teacher(spec, float(w), build(parse(spec), resolver)) for spec, w in zip(specs, weights)]
        if all(t.reranks for t in self.teachers):
            self.close()
            raise WinnowError("the teachers need at least one retriever or pipeline to find candidates; "
                              "a reranker alone only scores what others retrieve")

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> "TeacherSet":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def teacher_runs(teachers: Sequence[Teacher], queries: list[Query], depth: int,
                 documents: Mapping[str, Document] | None = None) -> dict[str, Run]:
    """Each teacher's run on ``queries``: retrievers their top ``depth``, rerankers the union of those.

    Args:
        documents: the corpus by id, which reranking teachers read (needed only with them).
    """
    runs = {t.name: t.stage.retrieve(queries, depth).renamed(t.name) for t in teachers if not t.reranks}
    rerankers = [t for t in teachers if t.reranks]
    if rerankers:
        if documents is None:
            raise WinnowError("reranking teachers need the corpus documents")
        pool = candidate_pool(list(runs.values()))
        source = CorpusSource(documents)
        for t in rerankers:
            runs[t.name] = t.stage.rerank(queries, pool, source).renamed(t.name)
    return runs


def candidate_pool(runs: Sequence[Run]) -> Run:
    """Per query, every document any run returned, in first-seen order (scores 0): what rerankers score."""
    pool: dict[str, dict[str, None]] = {}
    for run in runs:
        for qid, hits in run.items():
            pool.setdefault(qid, {}).update(dict.fromkeys(hits.ids))
    return Run({q: Hits(tuple(ids), np.zeros(len(ids))) for q, ids in pool.items()}, "pool")


def ensemble(runs: Sequence[Run], weights: Sequence[float], norm: str = "minmax",
             floors: Sequence[float | None] | None = None) -> Run:
    """The weighted sum of each run's per-query normalised scores, over the union of their documents.

    Args:
        runs: one per teacher.
        weights: one per run; divided by their sum, so with min-max every score is in [0, 1].
        norm: ``minmax``, ``zscore``, ``tm2c2`` or ``max`` (:data:`winnow.fuse.normalize.NORMS`).
        floors: per run, the lowest score its teacher can give (``tm2c2`` only).

    Returns:
        A run named ``ensemble``: per query, every document of any run, best first.
    """
    from winnow.fuse.normalize import NORMS

    if not runs or len(runs) != len(weights):
        raise WinnowError("an ensemble needs at least one run and one weight per run")
    if norm not in NORMS:
        raise WinnowError(f"unknown normalisation {norm!r}; choose one of {', '.join(NORMS)}")
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    floors = list(floors) if floors is not None else [None] * len(runs)
    qids = list(dict.fromkeys(q for run in runs for q in run))
    fused: dict[str, dict[str, float]] = {}
    for qid in qids:
        ids = list(dict.fromkeys(d for run in runs if qid in run for d in run[qid].ids))
        slot = {d: i for i, d in enumerate(ids)}
        total = np.zeros(len(ids))
        for run, weight, floor in zip(runs, w, floors):
            hits = run.get(qid) or Hits.empty(qid)
            values = np.asarray(hits.scores, dtype=np.float64)
            normed, lower = NORMS[norm](values, np.array([0, len(values)]), floor)
            column = np.full(len(ids), lower[0])
            column[[slot[d] for d in hits.ids]] = normed
            total += weight * column
        fused[qid] = dict(zip(ids, total.tolist()))
    return Run.from_dict(fused, "ensemble")
