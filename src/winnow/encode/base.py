"""The encoder contract: documents and queries become sparse vectors over one vocabulary.

Document encoding and query encoding are separate paths. An index build streams
documents through :meth:`DocumentEncoder.encode_stream` (by default
:meth:`~DocumentEncoder.encode_documents` batch by batch); the raw values are collected
into postings and, once the whole corpus is seen, :meth:`~DocumentEncoder.finalize` turns
them into impacts (BM25 needs collection statistics; learned encoders usually return them
unchanged). At search time the index rebuilds a :class:`QueryEncoder` from the saved
config alone; batches of queries go through :meth:`QueryEncoder.encode_queries`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Sequence

import numpy as np

from winnow.types import Document, SparseBatch


class QueryEncoder(ABC):
    """Turns query text into a sparse vector over the index vocabulary."""

    @abstractmethod
    def encode_query(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(term_ids int32, weights float32)``; unknown terms are dropped."""

    def encode_queries(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Many queries as CSR ``(ptr int64, term ids int32, weights float32)``.

        The default encodes one query at a time; encoders that can do better (a batched model
        pass, no per-query arrays) override it.
        """
        vectors = [self.encode_query(text) for text in texts]
        ptr = np.zeros(len(vectors) + 1, dtype=np.int64)
        np.cumsum([len(t) for t, _ in vectors], out=ptr[1:])
        terms = np.concatenate([t for t, _ in vectors]).astype(np.int32, copy=False) if vectors else np.zeros(0, np.int32)
        weights = np.concatenate([w for _, w in vectors]).astype(np.float32, copy=False) if vectors else \
            np.zeros(0, np.float32)
        return ptr, terms, weights


class DocumentEncoder(ABC):
    """Turns documents into raw sparse vectors, and the collected postings into impacts."""

    kind: str  # registry name, e.g. "bm25", "splade", "inference-free", "vectors"

    @abstractmethod
    def config(self) -> dict:
        """JSON-serialisable parameters, saved in the index manifest."""

    @property
    @abstractmethod
    def n_columns(self) -> int:
        """Raw value columns per posting (1 for learned encoders)."""

    @abstractmethod
    def vocabulary(self) -> list[str]:
        """The term of each id; called after all documents are encoded."""

    @abstractmethod
    def encode_documents(self, docs: Sequence[Document]) -> SparseBatch:
        """Raw sparse vectors for a batch of documents (one CSR row per document)."""

    def encode_stream(self, batches: Iterable[Sequence[Document]]) -> Iterator[SparseBatch]:
        """Raw vectors of each batch, in order. The default encodes one batch at a time; encoders
        that can work ahead (worker processes, stored vectors) override it."""
        for batch in batches:
            yield self.encode_documents(batch)

    @abstractmethod
    def finalize(self, postings: "Postings", out_dir: Path) -> np.ndarray:  # noqa: F821
        """Return final float32 impacts for ``postings`` (may save query-side files)."""
