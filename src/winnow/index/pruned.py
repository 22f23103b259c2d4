"""Statically pruned postings for approximate search (in the spirit of Seismic, Bruch et al. 2024).

Each term keeps only its ``max_postings`` highest-impact postings (re-sorted by document), with
their own block-max metadata, stored beside each segment's postings as ``pruned-<key>-<generation>.npy``
and written by a new commit (never in place; later commits keep them up to date). Approximate
search draws candidates from the pruned lists and rescores them exactly on the full lists, so it
never returns a wrong score; what it may miss is measured as recall in ``benchmarks/engine_peers.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from winnow.index.blocks import BOUNDS

PRUNED = ("indptr", "docids", "impacts", *BOUNDS)


def prune_postings(indptr: np.ndarray, docids: np.ndarray, impacts: np.ndarray, max_postings: int):
    """Keep each term's ``max_postings`` largest impacts (ties: lower doc), in document order."""
    df = np.diff(indptr)
    kept = np.minimum(df, max_postings)
    new_ptr = np.zeros(len(df) + 1, dtype=np.int64)
    np.cumsum(kept, out=new_ptr[1:])
    new_docs = np.empty(new_ptr[-1], dtype=np.int32)
    new_imps = np.empty(new_ptr[-1], dtype=impacts.dtype)
    short = df <= max_postings  # copied whole, vectorised
    src = np.repeat(indptr[:-1][short], df[short]) + _ranks(df[short])
    dst = np.repeat(new_ptr[:-1][short], df[short]) + _ranks(df[short])
    new_docs[dst], new_imps[dst] = docids[src], impacts[src]
    for t in np.flatnonzero(~short):  # long lists: select the top, restore document order
        lo, hi = indptr[t], indptr[t + 1]
        imp = np.asarray(impacts[lo:hi])
        top = np.lexsort((np.arange(hi - lo), -imp.astype(np.float64)))[:max_postings]
        top.sort()
        new_docs[new_ptr[t]:new_ptr[t + 1]] = docids[lo:hi][top]
        new_imps[new_ptr[t]:new_ptr[t + 1]] = imp[top]
    return new_ptr, new_docs, new_imps


def _ranks(lengths: np.ndarray) -> np.ndarray:
    """0..n-1 for each length, concatenated."""
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(int(lengths.sum())) - starts


def add_pruned_postings(index_dir: str | Path, max_postings: int) -> dict:
    """Commit pruned postings for every segment of an index; return ``{max_postings, n_postings}``."""
    from winnow.index.writer import open_writer

    with open_writer(index_dir) as writer:
        writer.prune(int(max_postings))
        writer.commit()
        folder = writer.path
        kept = sum(int(np.load(folder / e["name"] / e["pruned"]["indptr"], mmap_mode="r")[-1])
                   for e in writer.segments)
    return {"max_postings": int(max_postings), "n_postings": kept}
