"""Fusion of runs whose hits carry document numbers from one numbering (retrievers that share a
:attr:`~winnow.retrieve.retriever.Retriever.id_space`, such as two indexes built from the same
corpus in the same order).

Documents are matched by number in a compiled hash table per query instead of by id in Python
dictionaries, the fused sum and the top k are computed in the same kernel, and document ids are
taken, by position, from the input hits only for the documents kept. The terms, their sum and the
order (ties by lower id) are those of :mod:`winnow.fuse.union`, so the result is the same run.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate, chain
from operator import itemgetter
from typing import Sequence

import numpy as np

from winnow.errors import WinnowError
from winnow.fuse.params import Method
from winnow.fuse.union import break_ties, ranked
from winnow.types import Run

_FEW = 64  # up to this many kept ids per query, each is looked up in its run's hits


def numbered(runs: Sequence[Run]) -> bool:
    """Whether every hits of every run carries document numbers."""
    return all(h.docnos is not None for run in runs for h in run.values())


def fuse_numbered(runs: Sequence[Run], method: Method, params: dict, floors: tuple, cutoff: int | None,
                  name: str) -> Run:
    """Fuse ``runs`` (every hits with docnos from one numbering) like :func:`winnow.fuse.fuse`."""
    from winnow.fuse.kernels import fuse_numbered as kernel

    qids = tuple(dict.fromkeys(chain.from_iterable(runs)))
    hits = [[run.get(q) for q in qids] for run in runs]
    lengths = np.array([[len(h) if h is not None else 0 for h in row] for row in hits], np.int64).reshape(
        len(runs), len(qids))
    offsets = np.zeros((len(runs), len(qids) + 1), np.int64)
    np.cumsum(lengths, axis=1, out=offsets[:, 1:])
    scores, docnos = [], []
    for run, row in zip(runs, hits):
        present = [h for h in row if h]
        scores.append(np.concatenate([h.scores for h in present], dtype=np.float64) if present else np.zeros(0))
        docnos.append(np.concatenate([h.docnos for h in present], dtype=np.int64) if present
                      else np.zeros(0, np.int64))
        if not np.isfinite(scores[-1]).all():
            raise WinnowError(f"run {run.name!r} holds a score that is NaN or infinite; fusion needs finite scores")
    terms = method.terms(len(runs), **params)
    kind, codes = terms.codes(floors)
    starts = offsets + np.cumsum([0] + [len(s) for s in scores[:-1]])[:, None]
    pool, numbers, fused, bounds, tied, twice = kernel(
        np.concatenate(docnos), np.concatenate(scores), starts, kind, codes, np.asarray(terms.weights, np.float64),
        terms.mnz, int(offsets[:, -1].sum()) if cutoff is None else cutoff)
    if twice >= 0:
        raise WinnowError(f"run {runs[twice].name!r} lists a document twice for one query; "
                          f"a ranking holds each id once")
    bounds = bounds.tolist()
    ids = []
    for i, row in enumerate(zip(*hits)):
        if bounds[i + 1] > bounds[i]:
            ids.extend(_take([h.ids for h in row if h], pool[bounds[i]:bounds[i + 1]].tolist()))
    if tied.any():
        order = np.arange(len(ids))
        break_ties(order, tied, np.array(ids, dtype=object))
        ids, fused, numbers = [ids[i] for i in order.tolist()], fused[order], numbers[order]
    return ranked(qids, ids, fused, numbers, bounds, cutoff, name)


def _take(parts: list[tuple[str, ...]], positions: list[int]) -> tuple[str, ...] | list[str]:
    """The ids at ``positions`` of ``parts`` laid end to end (few: looked up one by one; many:
    gathered from the joined tuple)."""
    if len(positions) > _FEW:
        return itemgetter(*positions)(tuple(chain.from_iterable(parts)))
    ends = list(accumulate(len(part) for part in parts))
    out = []
    for p in positions:
        r = bisect_right(ends, p)
        out.append(parts[r][p - ends[r - 1] if r else p])
    return out
