"""One immutable segment: documents streamed through the encoder into term-major postings.

Documents are encoded batch by batch; each batch's postings are appended to spill files in
document order. A counting sort (document frequencies are known by then) scatters the spilled
postings chunk by chunk into term-major arrays on disk, so memory stays bounded by the batch and
chunk sizes, not the corpus. A segment keeps what later commits need to rescore it: BM25 keeps
raw term frequencies per field and document lengths (impacts depend on the whole index's
statistics, so each commit derives them); learned encoders keep their final weights.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

import numpy as np
import xxhash

from winnow.errors import InputError, WinnowError
from winnow.index.blocks import bounds, block_metadata
from winnow.index.columns import ColumnsWriter
from winnow.index.docstore import StringTableWriter, document_record
from winnow.fsutil import fsync_dir
from winnow.index.manifest import TMP_SUFFIX, fsync_file
from winnow.index.postings import Postings
from winnow.types import Document

SEGMENT_RE = re.compile(r"^seg-(\d{1,12})$")
SORT_CHUNK = 1 << 23  # postings per counting-sort chunk (~170 MB of temporaries)


class Vocabulary:
    """The index's term list; segments map their encoder's term numbers onto it."""

    def __init__(self, terms: list[str]):
        self.terms = list(terms)
        self._ids = {t: i for i, t in enumerate(self.terms)}

    def __len__(self) -> int:
        return len(self.terms)

    def ids_of(self, terms: list[str]) -> np.ndarray:
        """Global id of each term, adding the new ones at the end.

        An encoder vocabulary that extends this one (a learned model's tokens, always the same)
        maps position by position, so term ids stay token ids.
        """
        if terms[: len(self.terms)] == self.terms:
            for t in terms[len(self.terms):]:
                self._ids.setdefault(t, len(self.terms))
                self.terms.append(t)
            return np.arange(len(terms), dtype=np.int32)
        ids, setdefault = self._ids, self._ids.setdefault
        out = np.empty(len(terms), np.int32)
        for i, t in enumerate(terms):
            out[i] = setdefault(t, len(ids))
            if out[i] == len(self.terms):
                self.terms.append(t)
        return out


def id_hash(doc_id: str) -> int:
    return xxhash.xxh3_64_intdigest(doc_id.encode("utf-8"))


def _batches(docs: Iterable[Document], size: int) -> Iterator[list[Document]]:
    batch: list[Document] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Spill:
    """Postings of the batches seen so far, appended to files in document order."""

    def __init__(self, folder: Path, n_columns: int):
        self.folder, self.n_columns = folder, n_columns
        self.files = {name: open(folder / f"spill-{name}.bin", "wb") for name in ("terms", "docs", "raw")}
        self.df = np.zeros(0, dtype=np.int64)
        self.n = 0

    def add(self, batch, doc_base: int) -> None:
        rows = np.repeat(np.arange(doc_base, doc_base + len(batch), dtype=np.int32), np.diff(batch.indptr))
        raw = np.asarray(batch.values, dtype=np.float32).reshape(len(batch.indices), self.n_columns)
        self.files["terms"].write(np.ascontiguousarray(batch.indices, dtype=np.int32).tobytes())
        self.files["docs"].write(rows.tobytes())
        self.files["raw"].write(raw.tobytes())
        counts = np.bincount(batch.indices, minlength=len(self.df))
        if len(counts) > len(self.df):
            self.df = np.concatenate([self.df, np.zeros(len(counts) - len(self.df), np.int64)])
        self.df += counts
        self.n += len(batch.indices)

    def close(self) -> None:
        for f in self.files.values():
            f.close()

    def sort(self, n_terms: int, n_docs: int, mapping: np.ndarray) -> Postings:
        """Counting-sort the spilled postings into term-major arrays (memory-mapped), mapping each
        encoder term number ``i`` to index term ``mapping[i]``."""
        self.close()
        df = np.zeros(n_terms, dtype=np.int64)
        df[mapping[: len(self.df)]] = self.df
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        docids = np.lib.format.open_memmap(self.folder / "docids.npy", "w+", np.int32, (self.n,))
        raw = np.lib.format.open_memmap(self.folder / "raw.npy", "w+", np.float32, (self.n, self.n_columns))
        if self.n:
            terms_in = np.memmap(self.folder / "spill-terms.bin", np.int32, "r")
            docs_in = np.memmap(self.folder / "spill-docs.bin", np.int32, "r")
            raw_in = np.memmap(self.folder / "spill-raw.bin", np.float32, "r").reshape(self.n, self.n_columns)
            cursor = indptr[:-1].copy()
            for lo in range(0, self.n, SORT_CHUNK):
                hi = min(lo + SORT_CHUNK, self.n)
                terms = mapping[np.asarray(terms_in[lo:hi])]
                order = np.argsort(terms, kind="stable")
                ts = terms[order]
                rank = np.arange(len(ts)) - np.searchsorted(ts, ts, side="left")
                pos = cursor[ts] + rank
                docids[pos] = docs_in[lo:hi][order]
                raw[pos] = raw_in[lo:hi][order]
                cursor += np.bincount(ts, minlength=n_terms)
            del terms_in, docs_in, raw_in
        for name in ("terms", "docs", "raw"):
            (self.folder / f"spill-{name}.bin").unlink()
        return Postings(indptr, docids, raw, n_docs)


def build_segment(seg: Path, docs: Iterable[Document], encoder, vocab: Vocabulary, *, rescored: bool,
                  batch_size: int = 1000, store: bool = True, known: Callable[[list[str]], list[str]] = lambda _: [],
                  query_dir: Path | None = None, progress: Callable[[int], None] | None = None,
                  field_types: Mapping[str, str] | None = None, fields: Mapping[str, str] | None = None
                  ) -> dict | None:
    """Encode ``docs`` into the new segment folder ``seg``; return its commit entry (None if no docs).

    Args:
        rescored: keep raw term frequencies and lengths, impacts come from each commit (BM25);
            otherwise the encoder's finalized weights are the segment's impacts.
        known: which of a batch's ids the index already holds (ids must stay unique).
        query_dir: where the encoder saves its query-side files (the first segment of a build).
        field_types: the metadata field types of the index's other segments (new values must fit).
        fields: the index's declared metadata field types (``None``: inferred).
    """
    seg.mkdir()
    spill = _Spill(seg, encoder.n_columns)
    ids = StringTableWriter(seg, "doc_ids")
    store_w = StringTableWriter(seg, "docstore") if store else None
    columns = ColumnsWriter(seg, fields=fields, known=field_types)
    hashes: list[int] = []
    seen: set[str] = set()

    def recorded(batches):  # ids and stored documents, written as batches go to the encoder
        for batch in batches:
            taken = known([doc.id for doc in batch])
            if taken:
                raise InputError(f"document id {taken[0]!r} is already in the index; use update to replace it")
            for doc in batch:
                if doc.id in seen:
                    raise InputError(f"duplicate document id {doc.id!r} (document {len(seen) + 1})")
                seen.add(doc.id)
                hashes.append(id_hash(doc.id))
                ids.add(doc.id)
                if store_w:
                    store_w.add(document_record(doc.title, doc.text, doc.metadata))
                columns.add(doc.metadata, doc.id)
            yield batch

    batches = recorded(_batches(docs, batch_size))
    stream = encoder.encode_stream(batches)
    n_docs = 0
    for sparse in stream:
        spill.add(sparse, n_docs)
        n_docs += len(sparse)
        if progress:
            progress(n_docs)
    seen.clear()
    ids.close()
    if store_w:
        store_w.close()
    schema = columns.close()
    if n_docs == 0:
        spill.close()
        return None
    local = encoder.vocabulary()
    if len(spill.df) > len(local):
        raise WinnowError(f"encoder produced term id {len(spill.df) - 1} beyond its vocabulary of {len(local)}")
    mapping = vocab.ids_of(local)
    postings = spill.sort(len(vocab), n_docs, mapping)
    indptr = postings.indptr
    np.save(seg / "indptr.npy", indptr)
    block_ptr, block_last, _ = block_metadata(indptr, postings.docids, np.zeros(len(postings.docids), np.uint8))
    np.save(seg / "block_ptr.npy", block_ptr)
    np.save(seg / "block_last.npy", block_last)
    entry = {"name": seg.name, "n_docs": n_docs, "n_postings": int(indptr[-1]), "n_terms": len(indptr) - 1,
             "rescored": rescored, "columns": schema}
    if rescored:
        raw = postings.raw
        lengths = np.zeros((n_docs, raw.shape[1]), np.int64)
        for lo in range(0, len(raw), SORT_CHUNK):
            hi = min(lo + SORT_CHUNK, len(raw))
            for f in range(raw.shape[1]):
                lengths[:, f] += np.bincount(postings.docids[lo:hi], weights=raw[lo:hi, f], minlength=n_docs).astype(
                    np.int64)
        np.save(seg / "lengths.npy", lengths.astype(np.int32))
        if query_dir is not None:
            encoder.analyzer.save(query_dir)
        raw.flush()
    else:
        scratch = query_dir if query_dir is not None else seg / f"finalize{TMP_SUFFIX}"
        scratch.mkdir(exist_ok=True)
        weights = np.asarray(encoder.finalize(postings, scratch), dtype=np.float32)
        if query_dir is None:
            _remove_tree(scratch)
        if len(weights) != len(postings.docids) or not np.all(np.isfinite(weights)):
            raise WinnowError("encoder produced non-finite impacts or the wrong number of them")
        np.save(seg / "weights.npy", weights)
        term_max, _, _, block_max = bounds(indptr, postings.docids, weights)
        np.save(seg / "term_max.npy", term_max)
        np.save(seg / "block_max.npy", block_max)
        entry["non_negative"] = bool(weights.min(initial=0.0) >= 0)
        del postings
        (seg / "raw.npy").unlink()
    hashes_a = np.array(hashes, np.uint64)
    order = np.argsort(hashes_a, kind="stable")
    np.save(seg / "ids-hash.npy", hashes_a[order])
    np.save(seg / "ids-docno.npy", order.astype(np.int32))
    for p in seg.iterdir():
        fsync_file(p)
    fsync_dir(seg)
    return entry


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def segment_files(seg: Path) -> list[str]:
    """The files of a finished segment folder, relative to the index folder."""
    return [f"{seg.name}/{p.name}" for p in sorted(seg.iterdir()) if p.is_file()]
