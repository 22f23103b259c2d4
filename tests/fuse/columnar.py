"""Runs rebuilt from columns, the form retrievers hand to fusion."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from winnow.types import RunColumns, Run


def as_columns(run: Run, numbers: Mapping[str, int] | None = None, qids: Sequence[str] | None = None) -> Run:
    """``run`` as a run built from columns, its queries in the order ``qids`` (default: the
    run's), with document numbers from ``numbers`` (default: the hits' own)."""
    qids = tuple(run if qids is None else qids)
    hits = [run[q] for q in qids]
    offsets = np.zeros(len(qids) + 1, np.int64)
    np.cumsum([len(h) for h in hits], out=offsets[1:])
    ids = [i for h in hits for i in h.ids]
    scores = np.concatenate([h.scores for h in hits]) if hits else np.zeros(0)
    if numbers is not None:
        docnos = np.array([numbers[i] for i in ids], np.int64)
    else:
        docnos = np.concatenate([h.docnos for h in hits]) if hits else np.zeros(0, np.int64)
    return Run.from_columns(RunColumns(qids, offsets, ids, scores, docnos), run.name)
