"""Small immutable value types that travel between the stages of a pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Mapping

import numpy as np


@dataclass(frozen=True)
class Document:
    """One corpus record: an id, its text fields and optional metadata."""

    id: str
    text: str
    title: str = ""
    metadata: Mapping[str, object] = field(default_factory=dict)

    @property
    def full_text(self) -> str:
        """Title and text joined by a space (BEIR's "flat" condition)."""
        return f"{self.title} {self.text}" if self.title else self.text


@dataclass(frozen=True)
class Query:
    id: str
    text: str


@dataclass(frozen=True)
class SparseBatch:
    """A batch of sparse vectors in CSR layout over a vocabulary.

    ``values`` has shape ``(nnz,)`` for one value per entry, or ``(nnz, F)`` when an
    encoder emits several raw columns per entry (BM25 keeps one term frequency per
    field until collection statistics are known).
    """

    indptr: np.ndarray  # int64, (n + 1,)
    indices: np.ndarray  # int32, (nnz,)
    values: np.ndarray  # float32, (nnz,) or (nnz, F)

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.indptr[i], self.indptr[i + 1]
        return self.indices[lo:hi], self.values[lo:hi]

    @staticmethod
    def from_rows(rows: list[tuple[np.ndarray, np.ndarray]]) -> "SparseBatch":
        lengths = np.fromiter((len(r[0]) for r in rows), dtype=np.int64, count=len(rows))
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        if rows:
            indices = np.concatenate([np.asarray(r[0], dtype=np.int32) for r in rows])
            values = np.concatenate([np.asarray(r[1], dtype=np.float32) for r in rows])
        else:
            indices, values = np.zeros(0, np.int32), np.zeros(0, np.float32)
        return SparseBatch(indptr, indices, values)


@dataclass(frozen=True)
class Hits:
    """Top-k results of one query, best first (ties broken by lower internal doc number)."""

    ids: tuple[str, ...]
    scores: np.ndarray  # float32
    docnos: np.ndarray  # int64 internal document numbers

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[tuple[str, float]]:
        return zip(self.ids, (float(s) for s in self.scores))


@dataclass(frozen=True)
class Run:
    """A ranking per query: qid -> {docid: score}."""

    scores: Mapping[str, Mapping[str, float]]
    name: str = "winnow"

    def __len__(self) -> int:
        return len(self.scores)


@dataclass(frozen=True)
class Qrels:
    """Relevance judgements: qid -> {docid: grade}."""

    judgements: Mapping[str, Mapping[str, int]]

    def __len__(self) -> int:
        return len(self.judgements)
