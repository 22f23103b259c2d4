"""The encoder contract: documents and queries become sparse vectors over one vocabulary.

Document encoding and query encoding are separate paths. An index build streams
documents through :meth:`DocumentEncoder.encode_documents`; the raw values are
collected into postings and, once the whole corpus is seen, :meth:`finalize`
turns them into impacts (BM25 needs collection statistics; learned encoders
usually return them unchanged). At search time the index rebuilds a
:class:`QueryEncoder` from the saved config alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from winnow.types import Document, SparseBatch


class QueryEncoder(Protocol):
    def encode_query(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(term_ids int32, weights float32)``; unknown terms are dropped."""


class DocumentEncoder(Protocol):
    kind: str  # registry name, e.g. "bm25", "splade", "inference-free"

    def config(self) -> dict:
        """JSON-serialisable parameters, saved in the index manifest."""

    @property
    def n_columns(self) -> int:
        """Raw value columns per posting (1 for learned encoders)."""

    def vocabulary(self) -> list[str]:
        """The term of each id; called after all documents are encoded."""

    def encode_documents(self, docs: Sequence[Document]) -> SparseBatch:
        """Raw sparse vectors for a batch of documents (one CSR row per document)."""

    def finalize(self, postings: "Postings", out_dir: Path) -> np.ndarray:  # noqa: F821
        """Return final float32 impacts for ``postings`` (may save query-side files)."""
