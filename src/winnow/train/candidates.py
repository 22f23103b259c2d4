"""Training examples: a query, its positives and mined negatives.

:func:`mine_candidates` takes a BEIR split's judged positives and BM25's top documents;
:func:`teacher_example` takes the teachers' ensemble ranking and drops likely false negatives.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from winnow.corpus.beir import load_beir
from winnow.errors import WinnowError
from winnow.types import Hits


@dataclass(frozen=True)
class Example:
    """One training query: its text, candidate documents (judged positives first) and how many are positive."""

    query: str
    doc_ids: tuple[str, ...]
    n_positive: int


@dataclass(frozen=True)
class TrainingSet:
    """Examples and the text (``title + " " + text``) of every candidate document."""

    examples: list[Example]
    texts: dict[str, str]


def check_sampling(queries_per_step: int, accumulation: int, candidates: int, depth: int) -> None:
    """Refuse settings that cannot give every query of a step one positive and ``candidates - 1``
    of its ``depth`` mined negatives, or cannot split a step's queries into ``accumulation`` equal
    micro-batches.

    Raises:
        WinnowError: naming the settings to change.
    """
    if candidates < 2 or depth < candidates - 1:
        raise WinnowError(f"training needs candidates >= 2 and depth >= candidates - 1, "
                          f"got candidates={candidates}, depth={depth}")
    if queries_per_step % accumulation:
        raise WinnowError(f"queries_per_step ({queries_per_step}) must be a multiple of accumulation ({accumulation})")


def mine_candidates(beir_dir: str | Path, split: str | None = "train", depth: int = 30, pseudo: int = 0,
                    seed: int = 0) -> TrainingSet:
    """Positives plus the BM25 top-``depth`` of each query: a split's judged queries, or
    ``pseudo`` pseudo-queries made from the corpus (:mod:`~winnow.train.pseudo`), each with
    its source document as the one positive, when ``split`` is ``None``.

    Queries with no positive judgement (grade > 0) are left out: they give the training
    nothing to rank first. The BM25 index is built in a temporary folder and removed.

    Raises:
        WinnowError: when no query has a positive.
    """
    import winnow
    from winnow.corpus.beir import read_corpus
    from winnow.train.pseudo import pseudo_queries
    from winnow.types import Query

    if split is None:
        corpus = list(read_corpus(Path(beir_dir) / "corpus.jsonl"))
        made = pseudo_queries(corpus, pseudo, seed)
        queries = [Query(p.id, p.text) for p in made]
        judgements = {p.id: {p.doc_id: 1} for p in made}
    else:
        data = load_beir(beir_dir, split=split)
        queries, judgements, corpus = data.queries, data.qrels.judgements, data.corpus()
    with tempfile.TemporaryDirectory(prefix="winnow-mine-") as tmp:
        winnow.index_corpus(beir_dir, Path(tmp) / "bm25", encoder="bm25", store=False)
        run = winnow.load_index(Path(tmp) / "bm25").search_batch(queries, k=depth)
    examples = []
    for query in queries:
        found = run[query.id]
        positives = [d for d, grade in judgements[query.id].items() if grade > 0]
        if not positives:
            continue
        judged = set(positives)
        others = [d for d in found.ids if d not in judged]
        examples.append(Example(query.text, tuple(positives + others), len(positives)))
    if not examples:
        what = f"pseudo-query (of {pseudo})" if split is None else f"query of split {split!r}"
        raise WinnowError(f"{beir_dir}: no {what} has a positive")
    wanted = {d for e in examples for d in e.doc_ids}
    texts = {doc.id: doc.full_text for doc in corpus if doc.id in wanted}
    # Judged documents missing from the corpus cannot be encoded: drop them.
    examples = [_keep(e, texts) for e in examples]
    return TrainingSet([e for e in examples if e.n_positive and len(e.doc_ids) > 1], texts)


def _keep(example: Example, texts: dict[str, str]) -> Example:
    positives = [d for d in example.doc_ids[: example.n_positive] if d in texts]
    others = [d for d in example.doc_ids[example.n_positive :] if d in texts]
    return Example(example.query, tuple(positives + others), len(positives))


@dataclass(frozen=True)
class ScoredExample:
    """A training query with its candidates (positives first) and the teachers' score of each."""

    query: str
    doc_ids: tuple[str, ...]
    scores: tuple[float, ...]
    n_positive: int


def teacher_example(query: str, ranking: Hits, positives: list[str], margin: float, depth: int,
                    lift: bool) -> ScoredExample | None:
    """Positives and mined negatives of one query, scored by the teachers' ensemble.

    A positive the teachers returned keeps their score; one they missed gets the best score of
    the ranking when ``lift`` is set (a judged positive outranks what the teachers found) and is
    dropped otherwise (a pseudo-query whose source the teachers cannot find teaches nothing).
    Negatives are the other documents of the top ``depth``, minus likely false negatives: those
    the teachers score within ``margin`` of the lowest positive or above it (as GPL and the
    inference-free paper filter mined negatives).

    Returns:
        The example, or ``None`` when no positive is left.
    """
    scores = ranking.to_dict()
    top = max(scores.values(), default=0.0)
    missed = [(d, top) for d in positives if d not in scores] if lift else []
    kept = [(d, scores[d]) for d in positives if d in scores] + missed
    if not kept:
        return None
    judged = set(positives)
    bar = min(s for _, s in kept) - margin
    negatives = [(d, s) for d, s in list(ranking)[:depth] if d not in judged and s < bar]
    pairs = kept + negatives
    return ScoredExample(query, tuple(d for d, _ in pairs), tuple(float(s) for _, s in pairs), len(kept))
