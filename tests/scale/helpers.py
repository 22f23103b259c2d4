"""Comparisons between indexes and between runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

STRUCTURE = ("indptr", "docids", "block_ptr", "block_last")
VALUES = ("impacts", "term_max", "block_max")


def assert_same_index(a: Path, b: Path, tol: float = 0.0) -> None:
    """Two index folders hold the same vocabulary, postings, documents and manifest, and impacts
    equal bit for bit (``tol=0``) or within ``tol``, relative and absolute."""
    from winnow.index.reader import SparseIndex

    x, y = SparseIndex(a), SparseIndex(b)
    assert x.vocabulary == y.vocabulary
    assert len(x.segments) == len(y.segments)
    for sx, sy in zip(x.segments, y.segments):
        for name in STRUCTURE:
            np.testing.assert_array_equal(getattr(sx.arrays, name), getattr(sy.arrays, name), err_msg=name)
        for name in VALUES:
            np.testing.assert_allclose(getattr(sx.arrays, name), getattr(sy.arrays, name), rtol=tol, atol=tol,
                                       err_msg=name)
    assert x.doc_ids(np.arange(x.n_docs)) == y.doc_ids(np.arange(y.n_docs))
    assert [x.document(i) for i in range(x.n_docs)] == [y.document(i) for i in range(y.n_docs)]
    mx, my = dict(x.manifest), dict(y.manifest)
    for m in (mx, my):  # what differs between two builds of the same documents: checksums, names, values
        for key in ("files", "checksum", "segments", "impacts", "created", "query_files", "vocabulary"):
            m.pop(key, None)
    assert mx == my


def assert_same_hits(got, expected) -> None:
    """Equal ids, order and scores (bit for bit)."""
    assert got.ids == expected.ids
    np.testing.assert_array_equal(got.scores, expected.scores)
