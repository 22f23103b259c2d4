"""Upper bounds for dynamic pruning: each term's maximum impact, and block-max metadata.

Postings are cut into fixed-size blocks, each with its last doc and max impact. Dynamic pruning
(:mod:`winnow.retrieve.maxscore`) uses a block's maximum impact as a tighter upper bound than the
term's maximum, and its last document to skip whole blocks.
"""

from __future__ import annotations

import numpy as np

BLOCK_SIZE = 64
BOUNDS = ("term_max", "block_ptr", "block_last", "block_max")  # file names of :func:`bounds`


def bounds(indptr: np.ndarray, docids: np.ndarray, impacts: np.ndarray) -> tuple:
    """``(term_max, block_ptr, block_last, block_max)`` of term-major postings (see :data:`BOUNDS`)."""
    return (term_max(indptr, impacts), *block_metadata(indptr, docids, impacts))


def term_max(indptr: np.ndarray, impacts: np.ndarray) -> np.ndarray:
    """Each term's largest impact as float32 (0 for a term without postings)."""
    out = np.zeros(len(indptr) - 1, dtype=np.float32)
    nonempty = np.flatnonzero(np.diff(indptr) > 0)
    if len(nonempty):
        out[nonempty] = np.maximum.reduceat(np.asarray(impacts), indptr[nonempty])
    return out


def block_metadata(indptr: np.ndarray, docids: np.ndarray, impacts: np.ndarray, size: int = BLOCK_SIZE):
    """Return ``(block_ptr, block_last, block_max)``.

    Term ``t`` owns blocks ``block_ptr[t]:block_ptr[t+1]``; block ``i`` of the term covers
    postings ``indptr[t] + i * size`` up to the next block or the end of the list.
    """
    df = np.diff(indptr)
    n_blocks = (df + size - 1) // size
    block_ptr = np.zeros(len(df) + 1, dtype=np.int64)
    np.cumsum(n_blocks, out=block_ptr[1:])
    owner = np.repeat(np.arange(len(df)), n_blocks)
    index_in_term = np.arange(block_ptr[-1]) - block_ptr[owner]
    starts = indptr[owner] + index_in_term * size
    ends = np.minimum(starts + size, indptr[owner + 1])
    block_last = np.asarray(docids)[ends - 1].astype(np.int32) if len(ends) else np.zeros(0, np.int32)
    block_max = (np.maximum.reduceat(np.asarray(impacts), starts) if len(starts) else np.zeros(0, impacts.dtype))
    return block_ptr, block_last, block_max.astype(impacts.dtype)
