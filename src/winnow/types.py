"""Small immutable value types that travel between the stages of a pipeline.

``Document`` and ``Query`` come in; a :class:`SparseBatch` is what encoders produce; a
:class:`Hits` is one query's ranking and a :class:`Run` a ranking per query, the type that
retrievers, fusion, rerankers, evaluation and the server all speak. :class:`Qrels` holds the
judgements a run is scored against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np

from winnow.errors import InputError, WinnowError


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
    """One query's ranking, best first: external ids and scores as parallel arrays.

    Attributes:
        ids: document ids, best first (ties broken by the producer: lower internal
            document number for an index, lower id for fused or read-back rankings).
        scores: one score per id (float32 from an index, float64 after fusion).
        docnos: internal document numbers when the hits come straight from an index
            (``None`` for fused, reranked or read-back rankings).
        qid: the query's id (``""`` for an ad-hoc query).
    """

    ids: tuple[str, ...]
    scores: np.ndarray
    docnos: np.ndarray | None = None
    qid: str = ""

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[tuple[str, float]]:
        return zip(self.ids, self.scores.tolist())

    def cut(self, k: int) -> "Hits":
        """The best ``k`` hits."""
        if k >= len(self.ids):
            return self
        return Hits(self.ids[:k], self.scores[:k], None if self.docnos is None else self.docnos[:k], self.qid)

    def to_dict(self) -> dict[str, float]:
        return dict(zip(self.ids, self.scores.tolist()))

    def with_qid(self, qid: str) -> "Hits":
        return Hits(self.ids, self.scores, self.docnos, qid)

    @staticmethod
    def from_scores(scores: Mapping[str, float], qid: str = "") -> "Hits":
        """Rank ``{docid: score}`` by descending score, ties by ascending id (as ``trec_eval`` does)."""
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        return Hits(tuple(d for d, _ in ranked), np.array([s for _, s in ranked], dtype=np.float64), None, qid)

    @staticmethod
    def empty(qid: str = "") -> "Hits":
        return Hits((), np.zeros(0, np.float32), np.zeros(0, np.int64), qid)


@dataclass(frozen=True)
class RunColumns:
    """A run laid out flat, the form batch kernels produce: query ``i``'s hits, best first, are
    positions ``offsets[i]:offsets[i + 1]`` of ``ids``, ``scores`` and ``docnos``.

    Attributes:
        qids: the queries, in order.
        offsets: int64, ``len(qids) + 1`` entries, from 0 to the number of hits.
        ids: every hit's document id, query by query.
        scores: one score per hit.
        docnos: internal document numbers, one per hit (``None`` when the hits have none).
    """

    qids: tuple[str, ...]
    offsets: np.ndarray
    ids: Sequence[str]
    scores: np.ndarray
    docnos: np.ndarray | None = None

    def hits(self, i: int) -> Hits:
        """Query ``i``'s hits (slices of the columns, ids copied into a tuple)."""
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        return Hits(tuple(self.ids[lo:hi]), self.scores[lo:hi], None if self.docnos is None else self.docnos[lo:hi],
                    self.qids[i])

    def cut(self, k: int) -> "RunColumns":
        """Each query's best ``k`` hits."""
        lengths = np.diff(self.offsets)
        if not len(lengths) or lengths.max() <= k:
            return self
        offsets = np.zeros_like(self.offsets)
        np.cumsum(np.minimum(lengths, k), out=offsets[1:])
        keep = np.arange(len(self.scores)) - np.repeat(self.offsets[:-1], lengths) < k
        ids = [i for i, kept in zip(self.ids, keep.tolist()) if kept]
        docnos = None if self.docnos is None else self.docnos[keep]
        return RunColumns(self.qids, offsets, ids, self.scores[keep], docnos)


class Run(Mapping[str, Hits]):
    """A ranking per query, queries in insertion order: ``run[qid]`` is a :class:`Hits`.

    A run built from :class:`RunColumns` (:meth:`from_columns`, as retrievers and fusion build
    theirs) keeps them (:attr:`columns`) and makes each query's :class:`Hits` when it is first
    asked for.

    Example::

        run = Run.from_dict({"q1": {"d1": 2.5, "d2": 1.0}}, name="bm25")
        run.write_trec("bm25.run")
        top = run.cut(10)
        scores = run.to_dict()            # {qid: {docid: score}}: ir-measures, pytrec_eval, ranx
    """

    __slots__ = ("_hits", "_columns", "_positions", "name")

    def __init__(self, hits: Mapping[str, Hits] | Iterable[Hits] = (), name: str = "winnow"):
        if isinstance(hits, Mapping):
            items = {qid: h if h.qid == qid else h.with_qid(qid) for qid, h in hits.items()}
        else:
            items = {}
            for h in hits:
                if h.qid in items:
                    raise WinnowError(f"run {name!r} holds query {h.qid!r} twice")
                items[h.qid] = h
        self._hits: dict[str, Hits] = items
        self._columns: RunColumns | None = None
        self._positions: dict[str, int] | None = None
        self.name = name

    @staticmethod
    def from_columns(columns: RunColumns, name: str = "winnow") -> "Run":
        """The run whose query ``columns.qids[i]`` holds :meth:`RunColumns.hits` ``(i)``.

        Raises:
            WinnowError: a query id listed twice.
        """
        run = Run((), name)
        run._columns = columns
        run._positions = dict(zip(columns.qids, range(len(columns.qids))))
        if len(run._positions) != len(columns.qids):
            raise WinnowError(f"run {name!r} holds a query twice")
        return run

    @property
    def columns(self) -> RunColumns | None:
        """The flat form the run was built from (``None`` for a run built from :class:`Hits`)."""
        return self._columns

    def __getitem__(self, qid: str) -> Hits:
        try:
            return self._hits[qid]
        except KeyError:
            if self._positions is None:
                raise
        hits = self._hits[qid] = self._columns.hits(self._positions[qid])
        return hits

    def __contains__(self, qid: object) -> bool:
        return qid in (self._hits if self._positions is None else self._positions)

    def __iter__(self) -> Iterator[str]:
        return iter(self._hits if self._positions is None else self._positions)

    def __len__(self) -> int:
        return len(self._hits if self._positions is None else self._positions)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Run):
            return NotImplemented
        return self.name == other.name and list(self) == list(other) and all(
            self[q].ids == other[q].ids and np.array_equal(self[q].scores, other[q].scores) for q in self)

    def __repr__(self) -> str:
        return f"Run(name={self.name!r}, queries={len(self)})"

    @property
    def qids(self) -> list[str]:
        return list(self)

    def cut(self, k: int) -> "Run":
        """Each query's best ``k`` hits."""
        if self._columns is not None:
            return Run.from_columns(self._columns.cut(k), self.name)
        return Run({q: h.cut(k) for q, h in self._hits.items()}, self.name)

    def renamed(self, name: str) -> "Run":
        if self._columns is not None:
            return Run.from_columns(self._columns, name)
        return Run(self._hits, name)

    def to_dict(self) -> dict[str, dict[str, float]]:
        """``{qid: {docid: score}}``, the form ir-measures, pytrec_eval and ranx take."""
        return {q: self[q].to_dict() for q in self}

    @staticmethod
    def from_dict(scores: Mapping[str, Mapping[str, float]], name: str = "winnow") -> "Run":
        """A run from ``{qid: {docid: score}}``, each query ranked by score (ties: lower id first)."""
        return Run({q: Hits.from_scores(docs, q) for q, docs in scores.items()}, name)

    def write_trec(self, path: str | Path, k: int | None = None) -> None:
        """Write the run as a TREC run file (see :func:`winnow.corpus.trec.write_run`)."""
        from winnow.corpus.trec import write_run

        write_run(self, path, k)

    @staticmethod
    def read_trec(path: str | Path) -> "Run":
        """Read a TREC run file (see :func:`winnow.corpus.trec.read_run`)."""
        from winnow.corpus.trec import read_run

        return read_run(path)


@dataclass(frozen=True)
class Qrels:
    """Relevance judgements: qid -> {docid: grade}."""

    judgements: Mapping[str, Mapping[str, int]]

    def __len__(self) -> int:
        return len(self.judgements)

    def __getitem__(self, qid: str) -> Mapping[str, int]:
        return self.judgements[qid]

    def __iter__(self) -> Iterator[str]:
        return iter(self.judgements)

    def __contains__(self, qid: object) -> bool:
        return qid in self.judgements

    @property
    def qids(self) -> list[str]:
        return list(self.judgements)

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {q: dict(docs) for q, docs in self.judgements.items()}

    @staticmethod
    def from_dict(judgements: Mapping[str, Mapping[str, int]]) -> "Qrels":
        return Qrels({q: dict(docs) for q, docs in judgements.items()})

    def write_trec(self, path: str | Path) -> None:
        from winnow.corpus.trec import write_trec_qrels

        write_trec_qrels(self, path)

    @staticmethod
    def read_trec(path: str | Path) -> "Qrels":
        from winnow.corpus.trec import read_trec_qrels

        return read_trec_qrels(path)


def check_k(k: object, name: str = "k") -> int:
    """Validate a result count: a non-negative ``int`` (``bool`` and floats are refused)."""
    if type(k) is int and k >= 0:  # the common case, checked first: searching calls this per query
        return k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise WinnowError(f"{name} must be a non-negative integer, got {k!r} ({type(k).__name__})")
    if k < 0:
        raise WinnowError(f"{name} must be a non-negative integer, got {k}")
    return int(k)


def check_query(text: object) -> str:
    """Validate one query's text: a ``str``."""
    if not isinstance(text, str):
        raise WinnowError(f"a query must be a str, got {type(text).__name__}: {text!r:.80}")
    return text


def check_documents(docs: object) -> Iterator[Document]:
    """Stream ``docs``, an iterable of :class:`Document`; anything else is refused, an item by its
    position in the stream."""
    if isinstance(docs, (str, bytes, Mapping)) or not hasattr(docs, "__iter__"):
        raise InputError(f"documents must be an iterable of Document, got {type(docs).__name__}: {docs!r:.80}")

    def checked() -> Iterator[Document]:
        for i, doc in enumerate(docs):
            if not isinstance(doc, Document):
                raise InputError(f"document {i} of the stream is a {type(doc).__name__}, not a Document: {doc!r:.80}")
            yield doc

    return checked()


def as_queries(queries: object) -> list[Query]:
    """Normalise a batch of queries: a sequence of ``str`` (ids ``"0"``, ``"1"``, ...), of
    :class:`Query`, or a mapping ``{qid: text}``. A bare ``str`` is refused (it is not a batch).
    """
    if isinstance(queries, (str, bytes)):
        raise WinnowError("a batch of queries must be a list of queries, not a single str; "
                          "wrap it in a list or call search() for one query")
    if isinstance(queries, Mapping):
        out = [Query(check_query(q), check_query(t)) for q, t in queries.items()]
    elif isinstance(queries, Sequence) or hasattr(queries, "__iter__"):
        out = []
        for i, q in enumerate(queries):
            out.append(q if isinstance(q, Query) and isinstance(q.text, str) and isinstance(q.id, str)
                       else Query(str(i), check_query(q)))
    else:
        raise WinnowError(f"a batch of queries must be a list or a mapping, got {type(queries).__name__}")
    seen: set[str] = set()
    for q in out:
        if q.id in seen:
            raise WinnowError(f"query id {q.id!r} appears twice in the batch")
        seen.add(q.id)
    return out

