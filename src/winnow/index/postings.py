"""Postings in term-major (CSC) layout: the unit an encoder's ``finalize`` works on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Postings:
    """For term ``t``, entries ``indptr[t]:indptr[t+1]`` hold ascending doc numbers.

    ``raw`` has one row per posting and one column per raw value the encoder emitted
    (BM25: term frequency per field; learned encoders: the weight).
    """

    indptr: np.ndarray  # int64, (V + 1,)
    docids: np.ndarray  # int32, (nnz,)
    raw: np.ndarray  # float32, (nnz, F)
    n_docs: int

    @property
    def n_terms(self) -> int:
        return len(self.indptr) - 1

    @property
    def document_frequency(self) -> np.ndarray:
        return np.diff(self.indptr)

    def terms_of(self, lo: int, hi: int) -> np.ndarray:
        """Term id of each posting in ``[lo, hi)`` (for chunked, bounded-memory passes)."""
        return (np.searchsorted(self.indptr, np.arange(lo, hi), side="right") - 1).astype(np.int32)
