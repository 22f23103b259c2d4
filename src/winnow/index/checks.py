"""Structural checks run on every open, so that no kernel can read out of bounds.

They cost one pass over the postings (compiled) and catch any damage that changes shapes, bounds
or order: ``indptr`` monotone within the postings, doc numbers ascending per term and below the
segment's size, impacts finite, each term's and block's maximum equal to the bounds that pruning
trusts, string-table offsets monotone within their data. Damage that keeps every one of these
(an impact changed to another value below its block's maximum, a byte inside a stored document)
can only be caught by checksums: ``verify=True``, ``winnow verify``, ``winnow info``.
"""

from __future__ import annotations

import numpy as np

from winnow.errors import IndexFormatError
from winnow.jit import jit

_PROBLEMS = {1: "document numbers out of order or out of range", 2: "a non-finite impact",
             3: "a term maximum that is not its postings' maximum", 4: "block pointers that do not fit the postings",
             5: "a block's last document that is not its last posting's",
             6: "a block maximum that is not its postings' maximum"}


@jit
def _scan(indptr, docids, impacts, n_docs, term_max, block_ptr, block_last, block_max, block_size):
    """0 when consistent, else a problem code of :data:`_PROBLEMS` (``indptr`` already checked)."""
    for t in range(len(indptr) - 1):
        lo, hi = indptr[t], indptr[t + 1]
        n_blocks = (hi - lo + block_size - 1) // block_size
        if block_ptr[t + 1] - block_ptr[t] != n_blocks:
            return 4
        top = 0.0
        prev = -1
        for b in range(n_blocks):
            start = lo + b * block_size
            end = min(start + block_size, hi)
            bmax = np.float64(impacts[start])
            for p in range(start, end):
                d = docids[p]
                if d <= prev or d >= n_docs:
                    return 1
                prev = d
                v = np.float64(impacts[p])
                if not np.isfinite(v):
                    return 2
                if v > bmax:
                    bmax = v
            blk = block_ptr[t] + b
            if block_last[blk] != docids[end - 1]:
                return 5
            if np.float64(block_max[blk]) != bmax:
                return 6
            if b == 0 or bmax > top:
                top = bmax
        if np.float64(term_max[t]) != top:
            return 3
    return 0


def _fail(where, what: str):
    raise IndexFormatError(f"{where}: {what}; the index is damaged (run `winnow verify`, then rebuild it)")


def _vector(where, name: str, array: np.ndarray, dtypes: tuple, length: int | None = None) -> None:
    if array.ndim != 1 or array.dtype not in dtypes:
        _fail(where, f"{name} has shape {array.shape} and dtype {array.dtype}")
    if length is not None and len(array) != length:
        _fail(where, f"{name} holds {len(array)} entries, not {length}")


def check_postings(where, arrays, n_docs: int, n_terms: int) -> None:
    """Check a segment's (or its pruned) postings; ``arrays`` is a ``SegmentArrays``."""
    indptr, docids, impacts = arrays.indptr, arrays.docids, arrays.impacts
    _vector(where, "indptr", indptr, (np.int64,))
    if not 1 <= len(indptr) <= n_terms + 1:
        _fail(where, f"indptr of {len(indptr)} entries for a vocabulary of {n_terms}")
    _vector(where, "docids", docids, (np.int32,))
    _vector(where, "impacts", impacts, (np.float32, np.uint8), len(docids))
    if indptr[0] != 0 or indptr[-1] != len(docids) or np.any(np.diff(indptr) < 0):
        _fail(where, "postings pointers (indptr) out of order or out of range")
    v = len(indptr) - 1
    _vector(where, "term_max", arrays.term_max, (np.float32,), v)
    _vector(where, "block_ptr", arrays.block_ptr, (np.int64,), v + 1)
    bp = arrays.block_ptr
    if bp[0] != 0 or np.any(np.diff(bp) < 0):
        _fail(where, _PROBLEMS[4])
    _vector(where, "block_last", arrays.block_last, (np.int32,), int(bp[-1]))
    _vector(where, "block_max", arrays.block_max, (impacts.dtype,), int(bp[-1]))
    if arrays.block_size < 1:
        _fail(where, f"block size {arrays.block_size}")
    code = _scan(indptr, docids, impacts, n_docs, arrays.term_max, bp, arrays.block_last, arrays.block_max,
                 arrays.block_size)
    if code:
        _fail(where, _PROBLEMS[code])


def check_offsets(where, offsets: np.ndarray, n: int, data_bytes: int) -> None:
    """A string table's offsets: ``n + 1`` int64, from 0, monotone, ending at the data's size."""
    _vector(where, "offsets", offsets, (np.int64,), n + 1)
    if offsets[0] != 0 or offsets[-1] != data_bytes or np.any(np.diff(offsets) < 0):
        _fail(where, "string offsets out of order or beyond the data")


def check_vector(where, name: str, array: np.ndarray, dtypes: tuple, length: int) -> None:
    _vector(where, name, array, dtypes, length)
