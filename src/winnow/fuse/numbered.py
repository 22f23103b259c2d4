"""Fusion of runs whose hits carry document numbers from one numbering (retrievers that share a
:attr:`~winnow.retrieve.retriever.Retriever.id_space`, such as two indexes built from the same
corpus in the same order).

Documents are matched by number in a compiled hash table per query instead of by id in Python
dictionaries, the fused sum and the top k are computed in the same kernel (reading only the top
of each run when few are kept), and document ids are found only for the documents kept: decoded
by number when the runs come from indexes, else taken by position from the input runs. A run built from
:class:`~winnow.types.RunColumns` (as retrievers build theirs) goes to the kernel as it is, with no
step per query in Python; the result is built from columns too. The terms, their sum and the
order (ties by lower id) are those of :mod:`winnow.fuse.union`, so the result is the same run.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import accumulate, chain
from typing import NamedTuple, Sequence

import numpy as np

from winnow.errors import WinnowError
from winnow.fuse.registry import METHODS
from winnow.fuse.union import break_ties
from winnow.index.reader import DocIds
from winnow.types import Hits, Run, RunColumns


def numbered(runs: Sequence[Run]) -> bool:
    """Whether every hits of every run carries document numbers."""
    return all(run.columns.docnos is not None if run.columns is not None
               else all(h.docnos is not None for h in run.values()) for run in runs)


def fuse_numbered(runs: Sequence[Run], method: str, params: dict, floors: tuple, cutoff: int | None,
                  name: str) -> Run:
    """Fuse ``runs`` (every hits with docnos from one numbering) like :func:`winnow.fuse.fuse`."""
    from winnow.fuse.kernels import fuse_numbered as kernel

    columns = [run.columns for run in runs]
    qids = columns[0].qids if columns[0] is not None else None
    if qids is None or any(c is None or c.qids != qids for c in columns):
        qids = tuple(dict.fromkeys(chain.from_iterable(runs)))
    parts = [_part(run, qids) for run in runs]
    docnos, scores, _, first, last = zip(*parts)
    kind, codes, weights, mnz = _kernel_terms(method, _key(params), floors, len(runs))
    source, numbers, fused, bounds, tied, bad, twice = kernel(
        _alike(docnos, np.int64), _alike(scores, np.float64), _alike(first, np.int64), _alike(last, np.int64),
        kind, codes, weights, mnz, sum(map(len, docnos)) if cutoff is None else cutoff)
    if bad >= 0:
        raise WinnowError(f"run {runs[bad].name!r} holds a score that is NaN or infinite; fusion needs finite scores")
    if twice >= 0:
        raise WinnowError(f"run {runs[twice].name!r} lists a document twice for one query; "
                          f"a ranking holds each id once")
    ids = _gather(parts, source, numbers)
    if len(tied):
        order = np.arange(len(ids))
        break_ties(order, tied, ids)
        ids, fused, numbers = [ids[i] for i in order.tolist()], fused[order], numbers[order]
    out = RunColumns(qids, bounds, ids, fused, numbers)
    if cutoff is not None and len(ids) > cutoff:
        out = out.cut(cutoff)
    return Run.from_columns(out, name)


def _key(params: dict) -> tuple:
    """``params`` (checked) as a hashable key (weights as a tuple)."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))


@lru_cache(maxsize=256)
def _kernel_terms(method: str, params: tuple, floors: tuple, n_runs: int) -> tuple:
    """The kernel's ``(kind, params, weights, mnz)`` for the fusion ``method`` with ``params`` (a
    :func:`_key`) over runs with score ``floors``; kept, as fusing query by query asks again."""
    terms = METHODS[method].terms(n_runs, **dict(params))
    kind, codes = terms.codes(floors)
    return kind, codes, np.asarray(terms.weights, np.float64), terms.mnz


def _alike(arrays: tuple[np.ndarray, ...], wide: type) -> tuple[np.ndarray, ...]:
    """``arrays`` as a tuple of arrays of one numba type (the compiled kernel indexes it by run):
    as they are when they already are, else each copied to a contiguous ``wide`` array."""
    dtype = arrays[0].dtype
    for a in arrays:
        flags = a.flags
        if a.dtype != dtype or not (flags.c_contiguous and flags.writeable):
            return tuple(np.array(a, wide) for a in arrays)
    return arrays


def _gather(parts: Sequence[_Part], source: np.ndarray, numbers: np.ndarray) -> list[str]:
    """The ids at ``source`` (positions in the parts laid end to end) of the documents ``numbers``:
    decoded by number in one call when every part's ids come from an index of the shared
    numbering (:class:`~winnow.index.reader.DocIds`), else copied by position."""
    columns = [p.ids for p in parts]
    if all(isinstance(c, DocIds) for c in columns):
        return columns[0].of(numbers)
    bases = np.array((0, *accumulate(len(p.docnos) for p in parts)), np.int64)
    which = bases.searchsorted(source, "right") - 1
    return [columns[r][p] for r, p in zip(which.tolist(), (source - bases[which]).tolist())]


class _Part(NamedTuple):
    """One run's hits for the queries of a fusion: query ``q``'s hits, best first, are positions
    ``lo[q]:hi[q]`` of ``docnos``, ``scores`` and ``ids``."""

    docnos: np.ndarray
    scores: np.ndarray
    ids: Sequence[str]
    lo: np.ndarray
    hi: np.ndarray


def _part(run: Run, qids: tuple[str, ...]) -> _Part:
    """``run``'s hits for ``qids`` (a query the run lacks has none): its columns as they are, or
    its hits laid end to end."""
    c = run.columns
    if c is not None:
        if c.qids == qids:
            return _Part(c.docnos, c.scores, c.ids, c.offsets[:-1], c.offsets[1:])
        where = dict(zip(c.qids, range(len(c.qids))))
        at = np.array([where.get(q, -1) for q in qids], np.int64)
        return _Part(c.docnos, c.scores, c.ids, np.where(at >= 0, c.offsets[at], 0),
                     np.where(at >= 0, c.offsets[at + 1], 0))
    hits = [run.get(q) or Hits.empty(q) for q in qids]
    offsets = np.zeros(len(qids) + 1, np.int64)
    np.cumsum([len(h) for h in hits], out=offsets[1:])
    return _Part(np.concatenate([h.docnos for h in hits], dtype=np.int64) if hits else np.zeros(0, np.int64),
                 np.concatenate([h.scores for h in hits], dtype=np.float64) if hits else np.zeros(0),
                 list(chain.from_iterable(h.ids for h in hits)), offsets[:-1], offsets[1:])
