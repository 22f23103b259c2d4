"""Encoded vectors on disk: Parquet parts of a corpus encoded in parallel, and indexes built from them.

A vectors folder::

    vectors.json         format, encoder spec and config, the corpus, lines per part, and each
                         finished part's documents, size and xxh3
    vocab.json           the term of each id, when the encoder's vocabulary is fixed (a tokenizer's)
    part-00000.parquet   the documents of one block of corpus lines: id, title, text, metadata
                         (JSON), terms (list<int32>) and values (list<float32>, n_columns per term)

Values are the encoder's raw output, before ``finalize``: learned weights, or BM25's term
frequencies per field, so collection statistics are applied when an index is built, over the whole
collection or handed to every shard of a sharded one. An encoder whose vocabulary grows with the
corpus (BM25) numbers each part's terms over a vocabulary of the part's own, kept in the part's
Parquet metadata; replaying the parts in corpus order through
:meth:`~winnow.encode.bm25.BM25Encoder.add_frequencies` rebuilds the vocabulary one encoder would
have made, so an index built from vectors equals one built from the corpus.
"""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from winnow.errors import IndexFormatError, require
from winnow.index.manifest import file_digest
from winnow.types import Document, SparseBatch

FORMAT = "winnow-vectors"
FORMAT_VERSION = 1
MANIFEST = "vectors.json"
VOCAB = "vocab.json"
PART_VOCABULARY = b"winnow.vocabulary"  # Parquet metadata key of a part's own vocabulary
DOC_COLUMNS = ["id", "title", "text", "metadata"]
VECTOR_COLUMNS = ["id", "terms", "values"]


def part_name(number: int) -> str:
    return f"part-{number:05d}.parquet"


def write_json(path: Path, value) -> None:
    """Write JSON under a temporary name and rename it into place."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def read_manifest(folder: str | Path) -> dict:
    """The ``vectors.json`` of a vectors folder.

    Raises:
        IndexFormatError: the folder holds no vectors, or vectors of another format version.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise IndexFormatError(f"{folder}: not a winnow vectors folder (no {MANIFEST}); write one with `winnow encode`")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(f"{path}: not {FORMAT} version {FORMAT_VERSION} (found {manifest.get('format')!r} "
                               f"version {manifest.get('format_version')!r}); encode the corpus again")
    return manifest


def part_is_complete(folder: Path, name: str, record: dict) -> bool:
    """Whether a part's file exists with the size and checksum its manifest record gives."""
    path = folder / name
    return path.is_file() and path.stat().st_size == record["bytes"] and file_digest(path) == record["xxh3"]


def finished_parts(folder: Path, manifest: dict) -> list[str]:
    """The parts in corpus order, after checking that every one was written and is intact.

    Raises:
        IndexFormatError: a part is missing or damaged, or the encoding never finished.
    """
    parts = manifest["parts"]
    if len(parts) != manifest["n_parts"]:
        raise IndexFormatError(f"{folder}: {len(parts)} of {manifest['n_parts']} parts encoded; run "
                               "`winnow encode` again with the same arguments to finish")
    names = sorted(parts)
    for name in names:
        if not part_is_complete(folder, name, parts[name]):
            raise IndexFormatError(f"{folder / name}: missing or damaged; run `winnow encode` again to rewrite it")
    return names


def write_part(path: Path, docs: Sequence[Document], batch: SparseBatch, n_columns: int,
               vocabulary: list[str] | None) -> dict:
    """Write one part (under a temporary name, then renamed); return its manifest record."""
    pa = require("pyarrow", "parquet")
    import pyarrow.parquet as pq

    indptr = np.asarray(batch.indptr, dtype=np.int64)
    terms = pa.ListArray.from_arrays(pa.array(indptr.astype(np.int32)), pa.array(np.asarray(batch.indices, np.int32)))
    values = pa.ListArray.from_arrays(pa.array((indptr * n_columns).astype(np.int32)),
                                      pa.array(np.asarray(batch.values, np.float32).reshape(-1)))
    table = pa.table({
        "id": [d.id for d in docs],
        "title": [d.title for d in docs],
        "text": [d.text for d in docs],
        "metadata": [json.dumps(dict(d.metadata), ensure_ascii=False, default=str) for d in docs],
        "terms": terms,
        "values": values,
    })
    if vocabulary is not None:
        table = table.replace_schema_metadata({PART_VOCABULARY: json.dumps(vocabulary, ensure_ascii=False)})
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return {"n_docs": len(docs), "bytes": path.stat().st_size, "xxh3": file_digest(path)}


class PartEncoder:
    """Encodes blocks of documents into parts: what each worker of a distributed encoding holds.

    One encoder (one model) serves every block, except when the vocabulary grows with the corpus
    (BM25): then each block gets a fresh encoder, so its term ids number a vocabulary of its own.

    Args:
        spec: an encoder spec (``bm25``, ``splade:MODEL``, ...).
    """

    def __init__(self, spec: str):
        from winnow.encode.registry import build_encoder

        self.spec, self._build = spec, build_encoder
        self.encoder = build_encoder(spec)
        self.grows = not self.encoder.vocabulary()

    def write(self, docs: Sequence[Document], path: Path) -> dict:
        encoder = self._build(self.spec) if self.grows else self.encoder
        batch = encoder.encode_documents(docs)
        return write_part(path, docs, batch, encoder.n_columns, encoder.vocabulary() if self.grows else None)


def read_tables(folder: Path, names: list[str], counts: list[int], columns: list[str], lo: int, hi: int):
    """``(table, vocabulary or None)`` for the rows ``[lo, hi)`` of the parts, part by part."""
    import pyarrow.parquet as pq

    base = 0
    for name, n in zip(names, counts):
        start, stop = max(lo - base, 0), min(hi - base, n)
        base += n
        if start >= stop:
            continue
        table = pq.read_table(folder / name, columns=columns)
        meta = table.schema.metadata or {}
        vocab = json.loads(meta[PART_VOCABULARY]) if PART_VOCABULARY in meta else None
        yield table.slice(start, stop - start), vocab


def table_vectors(table, n_columns: int) -> SparseBatch:
    terms, values = table.column("terms").combine_chunks(), table.column("values").combine_chunks()
    offsets = np.asarray(terms.offsets, dtype=np.int64)
    indices = np.asarray(terms.values, dtype=np.int32)[offsets[0]:offsets[-1]]
    flat = np.asarray(values.values, dtype=np.float32)[offsets[0] * n_columns:offsets[-1] * n_columns]
    return SparseBatch(offsets - offsets[0], indices, flat.reshape(len(indices), n_columns) if n_columns > 1 else flat)


def compact(batch: SparseBatch, vocabulary: list[str]) -> tuple[list[str], SparseBatch]:
    """Renumber a slice's terms to the ones it uses, in order of first occurrence."""
    used, first = np.unique(batch.indices, return_index=True)
    used = used[np.argsort(first, kind="stable")]
    remap = np.zeros(len(vocabulary), dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    return [vocabulary[i] for i in used.tolist()], SparseBatch(batch.indptr, remap[batch.indices], batch.values)


def concat(batches: list[SparseBatch]) -> SparseBatch:
    """Stack CSR batches row-wise."""
    if len(batches) == 1:
        return batches[0]
    sizes = np.cumsum([0] + [len(b.indices) for b in batches[:-1]])
    indptr = np.concatenate([[0]] + [b.indptr[1:] + s for b, s in zip(batches, sizes)])
    return SparseBatch(indptr, np.concatenate([b.indices for b in batches]),
                       np.concatenate([b.values for b in batches]))


def _rows(batch: SparseBatch, lo: int, hi: int) -> SparseBatch:
    a, b = batch.indptr[lo], batch.indptr[hi]
    return SparseBatch(batch.indptr[lo:hi + 1] - a, batch.indices[a:b], batch.values[a:b])


class ReplayEncoder:
    """A :class:`~winnow.encode.base.DocumentEncoder` that replays encoded parts instead of encoding.

    Its :meth:`documents` stream the corpus stored in the parts; :meth:`encode_stream` returns their
    vectors in the same order, so ``build_index(enc.documents(), enc, out)`` indexes them without a
    model. The encoder the vectors were made with is rebuilt from the saved spec (without running
    it) for its configuration, vocabulary and ``finalize``.

    Args:
        folder: a vectors folder written by ``winnow encode``.
        lo, hi: index only the documents ``[lo, hi)`` of the corpus (a shard); default all.
        statistics: for a shard, an object whose ``finalize(encoder, postings, out_dir)`` scores the
            shard with the whole collection's statistics (:class:`winnow.scale.shards.CollectionStatistics`).
    """

    def __init__(self, folder: str | Path, lo: int = 0, hi: int | None = None, statistics=None):
        from winnow.encode.registry import build_encoder

        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder)
        self.names = finished_parts(self.folder, self.manifest)
        self.counts = [self.manifest["parts"][n]["n_docs"] for n in self.names]
        self.lo, self.hi = lo, sum(self.counts) if hi is None else hi
        self.inner = build_encoder(self.manifest["spec"])
        self.kind = self.inner.kind
        self.grows = self.manifest["vocabulary"] == "part"
        self.statistics = statistics
        if self.inner.config() != self.manifest["encoder"]["config"]:
            raise IndexFormatError(f"{self.folder}: written with encoder config {self.manifest['encoder']['config']}, "
                                   f"but {self.manifest['spec']!r} now gives {self.inner.config()}; encode again")
        if not self.grows and json.loads((self.folder / VOCAB).read_text(encoding="utf-8")) != self.inner.vocabulary():
            raise IndexFormatError(f"{self.folder}: the vocabulary of {self.manifest['spec']!r} changed since the "
                                   "vectors were written; encode again")

    @property
    def n_columns(self) -> int:
        return self.inner.n_columns

    @property
    def analyzer(self):
        """The replayed encoder's analyzer (saved with BM25 indexes for their queries)."""
        return self.inner.analyzer

    def config(self) -> dict:
        return self.inner.config()

    def vocabulary(self) -> list[str]:
        return self.inner.vocabulary()

    def documents(self) -> Iterator[Document]:
        """The stored documents of the range, in corpus order."""
        for table, _ in read_tables(self.folder, self.names, self.counts, DOC_COLUMNS, self.lo, self.hi):
            columns = [table.column(c).to_pylist() for c in DOC_COLUMNS]
            for doc_id, title, text, metadata in zip(*columns):
                yield Document(doc_id, text, title, json.loads(metadata))

    def _chunks(self) -> Iterator[tuple[list[str], SparseBatch]]:
        """``(ids, vectors over this encoder's term ids)`` per part of the range."""
        for table, vocab in read_tables(self.folder, self.names, self.counts, VECTOR_COLUMNS, self.lo, self.hi):
            batch = table_vectors(table, self.n_columns)
            if self.grows:
                batch = self.inner.add_frequencies(*compact(batch, vocab))
            yield table.column("id").to_pylist(), batch

    def encode_stream(self, batches) -> Iterator[SparseBatch]:
        """The stored vectors of each batch of documents (which must come from :meth:`documents`)."""
        chunks = self._chunks()
        pending: deque = deque()  # (ids, batch, rows already taken)
        for docs in batches:
            need, pieces = len(docs), []
            while need:
                if not pending:
                    pending.append([*next(chunks), 0])
                ids, batch, taken = pending[0]
                take = min(need, len(batch) - taken)
                if ids[taken:taken + take] != [d.id for d in docs[len(docs) - need:len(docs) - need + take]]:
                    raise IndexFormatError(f"{self.folder}: documents and vectors disagree near {ids[taken]!r}")
                pieces.append(_rows(batch, taken, taken + take))
                pending[0][2] += take
                if pending[0][2] == len(batch):
                    pending.popleft()
                need -= take
            yield concat(pieces)

    def finalize(self, postings, out_dir: Path) -> np.ndarray:
        if self.statistics is None:
            return self.inner.finalize(postings, out_dir)
        return self.statistics.finalize(self.inner, postings, out_dir)


def index_vectors(vectors: str | Path, out: str | Path, *, batch_size: int = 1000, quantize: str | None = None,
                  store: bool = True, progress: Callable[[int], None] | None = None):
    """Build an index from encoded vectors without running the encoder again.

    The index equals the one ``index_corpus`` builds from the same corpus and spec.

    Example::

        index_vectors("vectors/scifact-splade", "indexes/scifact-splade")
    """
    from winnow.index.writer import build_index

    encoder = ReplayEncoder(vectors)
    return build_index(encoder.documents(), encoder, out, batch_size=batch_size, quantize=quantize, store=store,
                       progress=progress, spec=encoder.manifest["spec"])
