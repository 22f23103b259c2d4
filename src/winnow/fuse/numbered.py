"""Fusion of runs whose hits carry document numbers from one numbering (retrievers that share a
:attr:`~winnow.retrieve.retriever.Retriever.id_space`, such as two indexes built from the same
corpus in the same order).

Documents are matched by number in a compiled hash table per query instead of by id in Python
dictionaries, the fused sum and the top k are computed in the same kernel, and document ids are
taken, by position, from the input runs only for the documents kept. A run built from
:class:`~winnow.types.RunColumns` (as retrievers build theirs) goes to the kernel as it is, with no
step per query in Python; the result is built from columns too. The terms, their sum and the
order (ties by lower id) are those of :mod:`winnow.fuse.union`, so the result is the same run.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate, chain
from operator import itemgetter
from typing import Callable, Sequence

import numpy as np

from winnow.errors import WinnowError
from winnow.fuse.params import Method
from winnow.fuse.union import break_ties
from winnow.types import RunColumns, Hits, Run

_FEW = 8  # ids are looked up one by one when fewer than 1 in this many hits is kept


@dataclass(frozen=True)
class _Layout:
    """One run's hits for the queries of a fusion: query ``q``'s hits, best first, are positions
    ``lo[q]:hi[q]`` of ``docnos`` and ``scores``; ``id_at(q, p)`` is the id at position ``p``
    and ``ids()`` all ids, position by position."""

    docnos: np.ndarray
    scores: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    id_at: Callable[[int, int], str]
    ids: Callable[[], list[str]]


def numbered(runs: Sequence[Run]) -> bool:
    """Whether every hits of every run carries document numbers."""
    return all(run.columns.docnos is not None if run.columns is not None
               else all(h.docnos is not None for h in run.values()) for run in runs)


def fuse_numbered(runs: Sequence[Run], method: Method, params: dict, floors: tuple, cutoff: int | None,
                  name: str) -> Run:
    """Fuse ``runs`` (every hits with docnos from one numbering) like :func:`winnow.fuse.fuse`."""
    from winnow.fuse.kernels import fuse_numbered as kernel

    columns = [run.columns for run in runs]
    if all(c is not None and c.qids == columns[0].qids for c in columns):
        qids = columns[0].qids
    else:
        qids = tuple(dict.fromkeys(chain.from_iterable(runs)))
    parts = [_layout(run, qids) for run in runs]
    bases = list(accumulate((len(p.docnos) for p in parts), initial=0))
    shift = np.array(bases[:-1], np.int64)[:, None]
    terms = method.terms(len(runs), **params)
    kind, codes = terms.codes(floors)
    source, numbers, fused, bounds, tied, bad, twice = kernel(
        np.concatenate([p.docnos for p in parts], dtype=np.int64),
        np.concatenate([p.scores for p in parts], dtype=np.float64),
        np.stack([p.lo for p in parts]) + shift, np.stack([p.hi for p in parts]) + shift,
        kind, codes, np.asarray(terms.weights, np.float64), terms.mnz, bases[-1] if cutoff is None else cutoff)
    if bad >= 0:
        raise WinnowError(f"run {runs[bad].name!r} holds a score that is NaN or infinite; fusion needs finite scores")
    if twice >= 0:
        raise WinnowError(f"run {runs[twice].name!r} lists a document twice for one query; "
                          f"a ranking holds each id once")
    ids = _ids(parts, bases, source, bounds)
    if tied.any():
        order = np.arange(len(ids))
        break_ties(order, tied, np.array(ids, dtype=object))
        ids, fused, numbers = [ids[i] for i in order.tolist()], fused[order], numbers[order]
    out = RunColumns(qids, bounds, ids, fused, numbers)
    return Run.from_columns(out if cutoff is None else out.cut(cutoff), name)


def _layout(run: Run, qids: tuple[str, ...]) -> _Layout:
    """``run``'s hits for ``qids`` (a query the run lacks has none): its columns as they are,
    or its hits laid end to end."""
    c = run.columns
    if c is not None:
        if c.qids == qids:
            lo, hi = c.offsets[:-1], c.offsets[1:]
        else:
            where = dict(zip(c.qids, range(len(c.qids))))
            at = np.array([where.get(q, -1) for q in qids], np.int64)
            lo, hi = np.where(at >= 0, c.offsets[at], 0), np.where(at >= 0, c.offsets[at + 1], 0)
        ids = c.ids
        return _Layout(c.docnos, c.scores, lo, hi, lambda q, p: ids[p], lambda: list(ids))
    hits = [run.get(q) or Hits.empty(q) for q in qids]
    offsets = np.zeros(len(qids) + 1, np.int64)
    np.cumsum([len(h) for h in hits], out=offsets[1:])
    starts = offsets.tolist()
    return _Layout(np.concatenate([h.docnos for h in hits], dtype=np.int64) if hits else np.zeros(0, np.int64),
                   np.concatenate([h.scores for h in hits], dtype=np.float64) if hits else np.zeros(0),
                   offsets[:-1], offsets[1:], lambda q, p: hits[q].ids[p - starts[q]],
                   lambda: list(chain.from_iterable(h.ids for h in hits)))


def _ids(parts: Sequence[_Layout], bases: list[int], source: np.ndarray, bounds: np.ndarray) -> list[str]:
    """The ids at ``source`` (positions in the parts laid end to end; the ``i``-th belongs to the
    query ``bounds`` puts it in): few are looked up one by one, many gathered from all ids joined."""
    if len(source) * _FEW >= bases[-1]:
        joined = list(chain.from_iterable(p.ids() for p in parts))
        return [joined[i] for i in source.tolist()] if len(source) < 2 else list(itemgetter(*source.tolist())(joined))
    bounds, out = bounds.tolist(), []
    for i, position in enumerate(source.tolist()):
        r = bisect_right(bases, position) - 1
        out.append(parts[r].id_at(bisect_right(bounds, i) - 1, position - bases[r]))
    return out
