"""Documents whose sparse vectors are already computed: their weights are the impacts.

The ``vectors`` encoder indexes vectors made elsewhere (another system's learned sparse model,
synthetic data, shards encoded earlier by :func:`~winnow.encode.shards.encode_corpus_to_shards`)
without a model. They arrive as ``(document ids, SparseBatch)`` chunks in corpus order, the form
:func:`~winnow.encode.shards.read_shards` yields; each batch of documents takes the next rows,
and a document whose id differs from its vector's is refused.

Spec: ``vectors:SHARD_DIR`` indexes the shards in that folder (with its ``vocab.json``). In
Python, :class:`VectorsEncoder` takes any chunks and a vocabulary.

A query is the bag of its whitespace-separated terms, each weighing its number of occurrences
(Pyserini's pre-tokenized impact queries); a weighted query vector goes to
:meth:`~winnow.retrieve.searcher.Searcher.search_vector`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from winnow.encode.base import DocumentEncoder, QueryEncoder
from winnow.encode.options import typed_options
from winnow.errors import InputError, WinnowError
from winnow.types import Document, SparseBatch

LEARNED_KINDS = ("splade", "inference-free")  # shard kinds whose raw values are final impacts


def _rows(batch: SparseBatch, lo: int, hi: int) -> SparseBatch:
    a, b = batch.indptr[lo], batch.indptr[hi]
    return SparseBatch(batch.indptr[lo:hi + 1] - a, batch.indices[a:b], batch.values[a:b])


def _concat(pieces: list[SparseBatch]) -> SparseBatch:
    if len(pieces) == 1:
        return pieces[0]
    ends = np.cumsum([p.indptr[-1] for p in pieces])[:-1]
    indptr = np.concatenate([pieces[0].indptr] + [p.indptr[1:] + end for p, end in zip(pieces[1:], ends)])
    return SparseBatch(indptr, np.concatenate([p.indices for p in pieces]), np.concatenate([p.values for p in pieces]))


class VectorsEncoder(DocumentEncoder):
    """Index precomputed sparse vectors: document ``i`` gets row ``i`` of the chunks, unchanged.

    Args:
        chunks: ``(document ids, SparseBatch)`` pairs in corpus order; term ids index ``vocabulary``.
        vocabulary: The term of each id.
        source: What the vectors are, recorded in the index config (e.g. the shard folder).

    Example::

        encoder = VectorsEncoder([(["d1", "d2"], SparseBatch.from_rows(rows))], ["cat", "dog", "fish"])
        build_index([Document("d1", ""), Document("d2", "")], encoder, "indexes/mine")
    """

    kind = "vectors"
    n_columns = 1

    def __init__(self, chunks: Iterable[tuple[Sequence[str], SparseBatch]], vocabulary: Sequence[str],
                 source: str = "python"):
        self.terms, self.source = list(vocabulary), source
        self._chunks = iter(chunks)
        self._ids: Sequence[str] = ()
        self._batch, self._taken, self._done = SparseBatch.from_rows([]), 0, 0

    def config(self) -> dict:
        return {"source": self.source, "vocab_size": len(self.terms)}

    def vocabulary(self) -> list[str]:
        return self.terms

    def encode_documents(self, docs: Sequence[Document]) -> SparseBatch:
        """The next ``len(docs)`` vectors, each checked against its document's id.

        Raises:
            InputError: a document's id differs from its vector's, the vectors end first, or a
                term id is outside the vocabulary.
        """
        pieces, done = [], 0
        while done < len(docs):
            if self._taken == len(self._ids):
                self._ids, batch = next(self._chunks, ((), None))
                if batch is None:
                    raise InputError(f"no vector for document {docs[done].id!r} (document {self._done + done + 1}): "
                                     "the vectors end before the documents")
                self._batch, self._taken = batch, 0
                self._check_terms(batch)
                continue
            n = min(len(docs) - done, len(self._ids) - self._taken)
            for doc, vector_id in zip(docs[done:done + n], self._ids[self._taken:self._taken + n]):
                if doc.id != vector_id:
                    raise InputError(f"document {doc.id!r} meets the vector of {vector_id!r}: documents and "
                                     "vectors must come in the same order")
            pieces.append(_rows(self._batch, self._taken, self._taken + n))
            self._taken += n
            done += n
        self._done += len(docs)
        return _concat(pieces) if pieces else SparseBatch.from_rows([])

    def _check_terms(self, batch: SparseBatch) -> None:
        if len(batch.indices) and (batch.indices.min() < 0 or batch.indices.max() >= len(self.terms)):
            bad = batch.indices[(batch.indices < 0) | (batch.indices >= len(self.terms))][0]
            raise InputError(f"a vector holds term id {int(bad)}, outside the vocabulary of {len(self.terms)} terms")

    def finalize(self, postings, out_dir: Path) -> np.ndarray:
        """The vectors' weights are the impacts."""
        return np.ascontiguousarray(postings.raw[:, 0], dtype=np.float32)


class TermQueryEncoder(QueryEncoder):
    """A query is its whitespace-separated terms; each known term weighs its number of occurrences."""

    def __init__(self, vocab: dict[str, int]):
        self.vocab = vocab

    def encode_query(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts: dict[int, int] = {}
        for i in map(self.vocab.get, text.split()):
            if i is not None:
                counts[i] = counts.get(i, 0) + 1
        return np.fromiter(counts, np.int32, len(counts)), np.fromiter(counts.values(), np.float32, len(counts))


def build_encoder(model: str | None, options: dict) -> VectorsEncoder:
    """``vectors:SHARD_DIR``: the shards of a learned sparse encoder, with the folder's ``vocab.json``.

    Raises:
        WinnowError: without a folder, with options, or for shards whose values are not impacts.
    """
    from winnow.encode.shards import read_shards, shards_manifest

    typed_options("vectors", options, {})
    if not model:
        raise WinnowError("the vectors encoder needs a shard folder: vectors:SHARD_DIR "
                          "(written by winnow.encode.shards.encode_corpus_to_shards)")
    folder = Path(model).resolve()
    manifest = shards_manifest(folder)
    if manifest["encoder"] not in LEARNED_KINDS:
        raise WinnowError(f"{folder} holds {manifest['encoder']} shards, whose values are not impacts; "
                          f"vectors indexes shards of {', '.join(LEARNED_KINDS)} encoders")
    vocabulary = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    return VectorsEncoder(read_shards(folder), vocabulary, source=str(folder))


def load_query_encoder(config: dict, index_dir: Path) -> TermQueryEncoder:
    terms = json.loads((Path(index_dir) / "vocab.json").read_text(encoding="utf-8"))
    return TermQueryEncoder({t: i for i, t in enumerate(terms)})
