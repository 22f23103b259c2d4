"""The documents of several runs laid out once per query, so that every fusion method is a few
vectorised array operations over all queries at once.

Each (query, document) pair of the union gets a *slot*: an integer position, numbered query by
query, so one run's hits become an array of slots and a fused score is an array over slots.
Document ids are mapped to slots through one dictionary per query, built from the runs' id tuples
in C (for two runs, no Python call per document), and the final ranking is a compiled stable sort
per query.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain, islice
from typing import Iterable, Sequence

import numpy as np

from winnow.errors import WinnowError
from winnow.fuse.params import Terms
from winnow.types import RunColumns, Run


@dataclass(frozen=True)
class Union:
    """Several runs over the union of their queries and, per query, of their documents.

    Attributes:
        names: each run's name.
        qids: the queries, in order of first appearance (first run first).
        ids: the document id of each slot (an object array of ``str``); a document several runs
            retrieved for a query keeps the slot of its first appearance, and its later slots
            stay unused.
        slot_query: the query index of each slot (non-decreasing).
        slots: per run, the slot of each of its hits, query by query, best first.
        offsets: per run, where each query's hits start in ``slots`` and ``scores``
            (``len(qids) + 1`` entries).
        scores: per run, its scores as float64, aligned with ``slots``.
        floors: per run, the lowest score its retriever can give (``None`` when unknown).
        used: per slot, whether it is the slot of its (query, document) pair.
    """

    names: tuple[str, ...]
    qids: tuple[str, ...]
    ids: np.ndarray
    slot_query: np.ndarray
    slots: tuple[np.ndarray, ...]
    offsets: tuple[np.ndarray, ...]
    scores: tuple[np.ndarray, ...]
    floors: tuple[float | None, ...]
    used: np.ndarray

    @property
    def n_runs(self) -> int:
        return len(self.slots)

    @property
    def n_slots(self) -> int:
        return len(self.ids)

    def total(self, terms: Terms) -> np.ndarray:
        """The fused score of every slot: ``sum_r weights[r] * term_r``, a run's lower bound for
        the documents it did not retrieve, times the number of runs that retrieved the document
        when ``terms.mnz``."""
        from winnow.fuse.kernels import run_terms

        kind, params = terms.codes(self.floors)
        fused = np.zeros(self.n_slots)
        for r in range(self.n_runs):
            values, lower = run_terms(kind, params[r], self.scores[r], self.offsets[r])
            term = lower[self.slot_query]
            term[self.slots[r]] = values
            fused += terms.weights[r] * term
        if terms.mnz:
            fused = fused * self.retrieved()
        return fused

    def retrieved(self) -> np.ndarray:
        """How many runs retrieved the document of each slot."""
        hits = np.zeros(self.n_slots, np.int64)
        for slots in self.slots:
            hits[slots] += 1
        return hits


def align(runs: Sequence[Run], floors: Sequence[float | None] | None = None) -> Union:
    """Lay ``runs`` out over the union of their queries and documents.

    A query missing from a run counts as an empty ranking there.

    Raises:
        WinnowError: fewer than two runs, floors that do not match the runs, a non-finite
            score, or a document listed twice in one query of one run.
    """
    runs = list(runs)
    if len(runs) < 2 or not all(isinstance(r, Run) for r in runs):
        raise WinnowError(f"fusion needs at least two Runs, got {[type(r).__name__ for r in runs]}")
    floors = check_floors(floors, len(runs))
    qids = tuple(dict.fromkeys(chain.from_iterable(runs)))
    slot_parts: list[list[Iterable[int]]] = [[] for _ in runs]
    score_parts: list[list[np.ndarray]] = [[] for _ in runs]
    lengths = [[0] * len(qids) for _ in runs]
    id_parts: list[Sequence[str]] = []
    n_union = base = 0
    for qi, qid in enumerate(qids):
        present = []  # (run, its ids, its first slot)
        for r, run in enumerate(runs):
            hits = run.get(qid)
            if hits:
                present.append((r, hits.ids, base))
                score_parts[r].append(hits.scores)
                id_parts.append(hits.ids)
                lengths[r][qi] = len(hits.ids)
                base += len(hits.ids)
        if not present:
            continue
        # Filled from the last run to the first, so that every id ends with the slot of the first
        # run that holds it, and the last run's ids come first in the dictionary's order.
        r, ids, start = present[-1]
        seen = dict(zip(ids, range(start, start + len(ids))))
        if len(seen) != len(ids):
            raise WinnowError(f"run {runs[r].name!r} lists a document twice for query {qid!r}; "
                              f"a ranking holds each id once")
        for _, ids, start in reversed(present[:-1]):
            seen.update(zip(ids, range(start, start + len(ids))))
        n_union += len(seen)
        # iterated after the loop, when ``seen`` is complete
        r, ids, start = present[0]
        slot_parts[r].append(range(start, start + len(ids)))
        for r, ids, _ in present[1:-1]:
            slot_parts[r].append(map(seen.__getitem__, ids))
        if len(present) > 1:
            r, ids, _ = present[-1]
            slot_parts[r].append(islice(seen.values(), len(ids)))
    used = np.zeros(base, bool)
    slots, offsets, scores = [], [], []
    for r, run in enumerate(runs):
        offset = np.zeros(len(qids) + 1, np.int64)
        np.cumsum(lengths[r], out=offset[1:])
        slots.append(np.fromiter(chain.from_iterable(slot_parts[r]), np.int64, count=int(offset[-1])))
        scores.append(np.concatenate(score_parts[r], dtype=np.float64) if score_parts[r] else np.zeros(0))
        offsets.append(offset)
        used[slots[-1]] = True
        if not np.isfinite(scores[-1]).all():
            raise WinnowError(f"run {run.name!r} holds a score that is NaN or infinite; fusion needs finite scores")
    _check_unique(runs, slots, used, n_union)
    ids = np.fromiter(chain.from_iterable(id_parts), dtype=object, count=base)
    per_query = np.sum(lengths, axis=0, dtype=np.int64) if qids else np.zeros(0, np.int64)
    return Union(tuple(r.name for r in runs), qids, ids, np.repeat(np.arange(len(qids)), per_query),
                 tuple(slots), tuple(offsets), tuple(scores), floors, used)


def rank(union: Union, fused: np.ndarray, name: str, cutoff: int | None = None) -> Run:
    """Rank each query's documents by ``fused`` (one score per slot), best first, ties by lower
    id; only the best ``cutoff`` per query are ranked and kept (all when ``None``)."""
    from winnow.fuse.kernels import order_segments

    slots = np.flatnonzero(union.used)  # query by query
    scores, queries = fused[slots], union.slot_query[slots]
    bounds = np.zeros(len(union.qids) + 1, np.int64)
    np.cumsum(np.bincount(queries, minlength=len(union.qids)), out=bounds[1:])
    order, bounds, tied = order_segments(-scores, bounds, len(slots) if cutoff is None else cutoff)
    if tied.any():
        break_ties(order, tied, union.ids[slots])
    slots, scores = slots[order], scores[order]
    return ranked(union.qids, union.ids[slots].tolist(), scores, None, bounds, cutoff, name)


def ranked(qids: Sequence[str], ids: list[str], scores: np.ndarray, docnos: np.ndarray | None,
           bounds: np.ndarray, cutoff: int | None, name: str) -> Run:
    """The run of ``qids`` whose query ``i`` holds positions ``bounds[i]:bounds[i + 1]`` of
    ``ids``, ``scores`` and ``docnos`` (best first), at most ``cutoff`` of them."""
    out = RunColumns(tuple(qids), np.asarray(bounds, np.int64), ids, scores, docnos)
    return Run.from_columns(out if cutoff is None else out.cut(cutoff), name)


_FEW = 128  # up to this many ranked, ties are broken in one Python pass


def break_ties(order: np.ndarray, tied: np.ndarray, ids: Sequence[str]) -> None:
    """Reorder, in place, each group of equal scores within a query (``tied[i]``: positions ``i``
    and ``i + 1`` of ``order`` hold equal scores) by ascending document id (``ids[order[i]]``).

    A short ranking (a query's top k) is settled in one Python pass. In a long one most groups
    are pairs (in RRF, the documents at the same rank of two runs), settled by one vectorised
    comparison; larger groups are sorted one by one.
    """
    if len(tied) <= _FEW:
        positions, start = order.tolist(), 0
        for i, equal in enumerate(tied.tolist() + [False]):
            if not equal:
                if i > start:
                    positions[start:i + 1] = sorted(positions[start:i + 1], key=ids.__getitem__)
                start = i + 1
        order[:] = positions
        return
    ids = np.asarray(ids, dtype=object)
    edges = np.diff(np.concatenate(([0], tied.view(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # group = order[start:end + 1]
    pairs = starts[ends - starts == 1]
    if len(pairs):
        first, second = order[pairs], order[pairs + 1]
        swap = (ids[first] > ids[second]).astype(bool)
        order[pairs[swap]], order[pairs[swap] + 1] = second[swap], first[swap]
    for start, end in zip(starts[ends - starts > 1].tolist(), ends[ends - starts > 1].tolist()):
        group = order[start:end + 1]
        names = ids[group].tolist()
        order[start:end + 1] = group[sorted(range(len(names)), key=names.__getitem__)]


def check_floors(floors, n_runs: int) -> tuple[float | None, ...]:
    if floors is None:
        return (None,) * n_runs
    floors = tuple(floors)
    if len(floors) != n_runs:
        raise WinnowError(f"fusion got {len(floors)} score floors for {n_runs} runs; give one per run (None: unknown)")
    for floor in floors:
        if floor is not None and (isinstance(floor, bool) or not math.isfinite(floor)):
            raise WinnowError(f"a score floor must be a finite number or None, got {floor!r}")
    return tuple(None if f is None else float(f) for f in floors)


def _check_unique(runs: Sequence[Run], slots: Sequence[np.ndarray], used: np.ndarray, n_union: int) -> None:
    """Refuse an id listed twice in one query of a run that the dictionary pass cannot catch: in
    the first run it leaves one of the run's own slots outside the union, in a middle run it maps
    two hits to one slot (the last run is checked as its dictionary is built)."""
    twice = [run.name for run, s in zip(runs[1:-1], slots[1:-1]) if len(s) and np.bincount(s).max() > 1]
    if twice or int(np.count_nonzero(used)) != n_union:
        names = twice or [run.name for run in runs]
        raise WinnowError(f"a run lists a document twice for one query ({', '.join(names)}); "
                          f"a ranking holds each id once")
