"""Build an index in bounded memory: stream documents, spill postings, counting-sort them.

Documents are encoded batch by batch; each batch's postings are appended to spill files
in document order. A counting sort (document frequencies are known by then) scatters
the spilled postings chunk by chunk into term-major arrays on disk, so memory stays
bounded by the batch and chunk sizes, not the corpus.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from winnow.errors import InputError, WinnowError
from winnow.index.blocks import BLOCK_SIZE, BOUNDS, bounds
from winnow.index.docstore import StringTableWriter, document_record
from winnow.index.manifest import (FORMAT, FORMAT_VERSION, check_replaceable, commit_folder, describe_files,
                                   staging_folder, write_manifest)
from winnow.index.postings import Postings
from winnow.types import Document

log = logging.getLogger("winnow.index")

SORT_CHUNK = 1 << 23  # postings per counting-sort chunk (~170 MB of temporaries)


@dataclass(frozen=True)
class IndexInfo:
    """What a build produced."""

    path: Path
    n_docs: int
    n_terms: int
    n_postings: int
    bytes: int
    seconds: float

    @property
    def docs_per_second(self) -> float:
        return self.n_docs / self.seconds if self.seconds else float("inf")


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

    def sort(self, n_terms: int, n_docs: int) -> Postings:
        """Counting-sort the spilled postings into term-major arrays (memory-mapped)."""
        for f in self.files.values():
            f.close()
        df = np.zeros(n_terms, dtype=np.int64)
        df[: len(self.df)] = self.df
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        docids = np.lib.format.open_memmap(self.folder / "docids.npy", "w+", np.int32, (self.n,))
        raw = np.lib.format.open_memmap(self.folder / "spill-raw-sorted.npy", "w+", np.float32, (self.n, self.n_columns))
        if self.n:
            terms_in = np.memmap(self.folder / "spill-terms.bin", np.int32, "r")
            docs_in = np.memmap(self.folder / "spill-docs.bin", np.int32, "r")
            raw_in = np.memmap(self.folder / "spill-raw.bin", np.float32, "r").reshape(self.n, self.n_columns)
            cursor = indptr[:-1].copy()
            for lo in range(0, self.n, SORT_CHUNK):
                hi = min(lo + SORT_CHUNK, self.n)
                terms = np.asarray(terms_in[lo:hi])
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


def _quantize(impacts: np.ndarray) -> tuple[np.ndarray, float]:
    """8-bit impacts: ``q = round(x / scale)``, ``scale = max / 255``; error <= scale / 2 per posting."""
    if len(impacts) and impacts.min() < 0:
        raise WinnowError("8-bit quantisation needs non-negative impacts (this BM25 variant gives negative "
                          "idf for very common terms); use float32 impacts or another variant")
    top = float(impacts.max()) if len(impacts) else 0.0
    scale = top / 255 if top > 0 else 1.0
    return np.clip(np.rint(impacts / scale), 0, 255).astype(np.uint8), scale


def build_index(docs: Iterable[Document], encoder, out: str | Path, *, batch_size: int = 1000,
                quantize: str | None = None, store: bool = True,
                progress: Callable[[int], None] | None = None, spec: str | None = None) -> IndexInfo:
    """Encode ``docs`` and write an index folder at ``out`` (replacing an index already there).

    Args:
        docs: documents, streamed once.
        encoder: a :class:`~winnow.encode.base.DocumentEncoder`.
        out: the index folder; an existing index is replaced atomically once the build succeeds.
        batch_size: documents per encoder call (bounds memory).
        quantize: ``None`` for float32 impacts or ``"u8"`` for 8-bit impacts.
        store: keep title/text/metadata for display (ids are always kept).
        progress: called with the number of documents done after each batch.
        spec: the encoder spec string the encoder was built from, recorded in the manifest.
    """
    if quantize not in (None, "u8"):
        raise WinnowError(f"quantize must be None or 'u8', not {quantize!r}")
    out = Path(out)
    check_replaceable(out)
    start = time.perf_counter()
    staging = staging_folder(out)
    try:
        seg = staging / "seg-0"
        seg.mkdir()
        spill = _Spill(seg, encoder.n_columns)
        ids = StringTableWriter(seg, "doc_ids")
        store_w = StringTableWriter(seg, "docstore") if store else None
        seen: set[str] = set()

        def recorded(batches, seen):  # ids and stored documents, written as batches go to the encoder
            count = 0
            for batch in batches:
                for doc in batch:
                    count += 1
                    if doc.id in seen:
                        raise InputError(f"duplicate document id {doc.id!r} (document {count})")
                    seen.add(doc.id)
                    ids.add(doc.id)
                    if store_w:
                        store_w.add(document_record(doc.title, doc.text, doc.metadata))
                yield batch

        batches = recorded(_batches(docs, batch_size), seen)
        stream = encoder.encode_stream(batches) if hasattr(encoder, "encode_stream") else \
            map(encoder.encode_documents, batches)
        n_docs = 0
        for sparse in stream:
            spill.add(sparse, n_docs)
            n_docs += len(sparse)
            if progress:
                progress(n_docs)
        seen.clear()  # the ids are on disk now; free the set before the sort
        ids.close()
        if store_w:
            store_w.close()
        if n_docs == 0:
            raise InputError("empty corpus: no documents to index")
        vocab = encoder.vocabulary()
        if len(spill.df) > len(vocab):
            raise WinnowError(f"encoder produced term id {len(spill.df) - 1} beyond its vocabulary of {len(vocab)}")
        postings = spill.sort(len(vocab), n_docs)
        impacts = np.asarray(encoder.finalize(postings, staging), dtype=np.float32)
        if not np.all(np.isfinite(impacts)):
            raise WinnowError("encoder produced non-finite impacts")
        indptr, docids = postings.indptr, postings.docids
        del postings
        (seg / "spill-raw-sorted.npy").unlink()
        min_impact = float(impacts.min()) if len(impacts) else 0.0
        scale = 1.0
        if quantize == "u8":
            impacts, scale = _quantize(impacts)
        np.save(seg / "indptr.npy", indptr)
        np.save(seg / "impacts.npy", impacts)
        for name, array in zip(BOUNDS, bounds(indptr, docids, impacts)):
            np.save(seg / f"{name}.npy", array)
        docids.flush()
        del docids
        (staging / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "encoder": {"kind": encoder.kind, "config": encoder.config()},
            "spec": spec,
            "n_docs": n_docs,
            "n_terms": len(vocab),
            "n_postings": int(indptr[-1]),
            "impacts": {"dtype": str(impacts.dtype), "scale": scale, "min": min_impact,
                        "block_size": BLOCK_SIZE},
            "stored": bool(store),
            "segments": [{"name": "seg-0", "doc_base": 0, "n_docs": n_docs, "n_postings": int(indptr[-1])}],
            "files": describe_files(staging),
        }
        write_manifest(staging, manifest)
        size = sum(f["bytes"] for f in manifest["files"].values())
        commit_folder(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start
    log.info("indexed %d documents in %.1f s (%d postings)", n_docs, seconds, manifest["n_postings"])
    return IndexInfo(out, n_docs, len(vocab), manifest["n_postings"], size, seconds)
