"""The dense index folder: vectors, ids, stored documents, metadata columns, optional HNSW graphs.

::

    manifest.json        {"format": "winnow-dense-index", "format_version": 1}, the encoder config,
                         counts, dtype, metric, column schema, ANN graphs, per-file size + xxh3
    vectors.npy          (n, dim) float32 or float16, memory-mapped when searched
    doc_ids.bin/.idx.npy document ids (string table)
    docstore.bin/.idx.npy stored title/text/metadata (optional)
    col-*.npy            metadata columns for filters (see :mod:`winnow.index.columns`)
    hnsw-<library>.bin   an HNSW graph per ANN library built (see :mod:`winnow.dense.ann`)

A build writes a sibling staging folder and renames it into place (an index already at the target
is replaced only once the new one is complete), so a crash never leaves a half-written index where
a good one was. Opening checks the format, every file's size and, with ``verify``, its checksum.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from winnow.errors import IndexFormatError, WinnowError
from winnow.fsutil import building, write_atomic
from winnow.index.docstore import StringTable, StringTableWriter, document_record
from winnow.index.manifest import check_file_entries, check_folder, file_digest
from winnow.types import Document, check_documents

log = logging.getLogger("winnow.dense")

FORMAT = "winnow-dense-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DTYPES = ("float32", "float16")
ENCODE_CHUNK = 4096  # documents encoded per call (bounds memory; vectors are appended to disk)


@dataclass(frozen=True)
class DenseIndexInfo:
    """What a build produced."""

    path: Path
    n_docs: int
    dim: int
    bytes: int
    seconds: float

    @property
    def docs_per_second(self) -> float:
        return self.n_docs / self.seconds if self.seconds else float("inf")


def _describe(folder: Path) -> dict[str, dict]:
    return {p.relative_to(folder).as_posix(): {"bytes": p.stat().st_size, "xxh3": file_digest(p)}
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST}


def _check_replaceable(target: Path) -> None:
    if target.exists() and (not target.is_dir() or (any(target.iterdir()) and not (target / MANIFEST).is_file())):
        raise IndexFormatError(f"{target}: exists and is not a winnow index; refusing to overwrite it")


def write_manifest(folder: Path, manifest: dict) -> None:
    """Record every file's size and checksum, then write ``manifest.json`` atomically."""
    manifest = {**manifest, "files": _describe(folder)}
    write_atomic(folder / MANIFEST, json.dumps(manifest, indent=1).encode("utf-8"))


def read_manifest(folder: Path, verify: bool = True) -> dict:
    """The checked manifest of a dense index folder (with ``verify``, every checksum too).

    The checks are the sparse index's (:func:`~winnow.index.manifest.check_folder`,
    :func:`~winnow.index.manifest.check_file_entries`) for the dense format.

    Raises:
        IndexFormatError: not a dense index, another format version, or a missing, resized or
            (with ``verify``) altered file.
    """
    folder = Path(folder)
    manifest = check_folder(folder, FORMAT, FORMAT_VERSION, "dense")
    if not isinstance(manifest.get("files"), dict):
        raise IndexFormatError(f"{folder / MANIFEST}: damaged manifest (no file list)")
    check_file_entries(folder, manifest["files"], verify)
    return manifest


def _save_vectors(staging: Path, raw: Path, n: int, dim: int, dtype: str) -> None:
    """Turn the raw float32 appended during encoding into ``vectors.npy`` of ``dtype``."""
    out = np.lib.format.open_memmap(staging / "vectors.npy", "w+", np.dtype(dtype), (n, dim))
    if n:
        src = np.memmap(raw, np.float32, "r", shape=(n, dim))
        step = max(1, (64 << 20) // (4 * dim))
        for lo in range(0, n, step):
            out[lo:lo + step] = src[lo:lo + step]
        del src
    out.flush()
    del out
    raw.unlink()


def write_dense_index(docs: Iterable[Document], encoder, out: str | Path, *, dtype: str = "float32",
                      store: bool = True, fields: Mapping[str, str] | None = None, ann: Iterable[str] = (),
                      hnsw: "HnswParams | None" = None, progress: Callable[[int], None] | None = None,  # noqa: F821
                      spec: str | None = None) -> DenseIndexInfo:
    """Encode ``docs`` with ``encoder`` (a :class:`~winnow.dense.encoder.DenseEncoder`) into a folder.

    Args:
        docs: The corpus, streamed.
        encoder: The dense encoder.
        out: The index folder (an index already there is replaced once the build succeeds).
        dtype: ``float32`` or ``float16`` vectors (half the size; scores change by ~1e-3).
        store: Keep each document's title, text and metadata (rerankers read them).
        fields: ``{name: type}`` metadata fields to make filterable (``None``: infer them all).
        ann: HNSW graphs to build: any of ``usearch``, ``faiss``.
        hnsw: Graph parameters (defaults of :class:`~winnow.dense.ann.HnswParams`).
        progress: Called with the number of documents encoded so far.
        spec: The encoder spec string, recorded in the manifest.
    """
    from winnow.dense.ann import LIBRARIES, HnswParams, build_graph
    from winnow.index.columns import ColumnsWriter

    if dtype not in DTYPES:
        raise WinnowError(f"vector dtype {dtype!r}: choose one of {', '.join(DTYPES)}")
    docs = check_documents(docs)
    ann = tuple(ann)
    unknown = [a for a in ann if a not in LIBRARIES]
    if unknown:
        raise WinnowError(f"unknown ANN library {unknown}; choose from {', '.join(LIBRARIES)}")
    hnsw = hnsw or HnswParams()
    out = Path(out)
    _check_replaceable(out)
    start = time.perf_counter()
    with building(out, _check_replaceable) as staging:
        ids = StringTableWriter(staging, "doc_ids")
        store_writer = StringTableWriter(staging, "docstore") if store else None
        columns = ColumnsWriter(staging, fields)
        raw = staging / "vectors.raw"
        n, dim, seen = 0, 0, set()
        with open(raw, "wb") as sink:
            while chunk := list(islice(docs, ENCODE_CHUNK)):
                for doc in chunk:
                    if doc.id in seen:
                        raise WinnowError(f"document id {doc.id!r} appears twice in the corpus")
                    seen.add(doc.id)
                    ids.add(doc.id)
                    columns.add(doc.metadata, doc.id)
                    if store_writer is not None:
                        store_writer.add(document_record(doc.title, doc.text, doc.metadata))
                base = n
                vectors = encoder.encode_documents(chunk, None if progress is None else lambda i: progress(base + i))
                sink.write(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
                n, dim = n + len(chunk), vectors.shape[1]
        if n == 0:
            raise WinnowError("the corpus has no documents")
        ids.close()
        if store_writer is not None:
            store_writer.close()
        schema = columns.close()
        _save_vectors(staging, raw, n, dim, dtype)
        graphs = {}
        for library in ann:
            graphs[library] = build_graph(library, np.load(staging / "vectors.npy", mmap_mode="r"), hnsw, staging)
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                    "encoder": {"kind": encoder.kind, "config": encoder.config()}, "spec": spec,
                    "n_docs": n, "dim": dim, "dtype": dtype, "metric": "cosine" if encoder.normalize else "ip",
                    "stored": bool(store), "columns": schema, "ann": graphs}
        write_manifest(staging, manifest)
        size = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
    seconds = time.perf_counter() - start
    log.info("indexed %d documents (%d-d vectors) in %.1f s", n, dim, seconds)
    return DenseIndexInfo(out, n, dim, size, seconds)


def build_dense_index(docs: Iterable[Document], spec: str, out: str | Path, *, dtype: str = "float32",
                      store: bool = True, fields: Mapping[str, str] | None = None, ann: Iterable[str] = (),
                      progress: Callable[[int], None] | None = None, **options) -> DenseIndexInfo:
    """Build a dense index from an encoder spec: ``dense:MODEL[:key=value,...]``.

    ``fields`` declares metadata field types (see :func:`write_dense_index`); ``options`` override
    the spec's encoder options (``backend="onnx"``, ``batch_size=64``...).

    Example::

        build_dense_index(read_corpus("scifact/corpus.jsonl"), "dense:all-MiniLM-L6-v2", "indexes/scifact-dense")
    """
    from winnow.encode.registry import build_encoder

    return write_dense_index(docs, build_encoder(spec, **options), out, dtype=dtype, store=store, fields=fields,
                             ann=ann, progress=progress, spec=spec)


class DenseIndex:
    """A loaded dense index: memory-mapped vectors, ids, stored documents, columns.

    Args:
        path: The index folder.
        verify: Check every file's checksum (sizes and the format version are always checked).
    """

    def __init__(self, path: str | Path, verify: bool = True):
        self.path = Path(path)
        self.manifest = read_manifest(self.path, verify=verify)
        m = self.manifest
        try:
            self.vectors = np.load(self.path / "vectors.npy", mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise IndexFormatError(f"{self.path}: cannot read vectors.npy ({exc}); the index is damaged, rebuild it") \
                from exc
        if self.vectors.shape != (m["n_docs"], m["dim"]) or str(self.vectors.dtype) != m["dtype"]:
            raise IndexFormatError(f"{self.path}/vectors.npy: shape {self.vectors.shape} {self.vectors.dtype} does not "
                                   f"match the manifest ({m['n_docs']}, {m['dim']}) {m['dtype']}; rebuild the index")
        self._ids = StringTable(self.path, "doc_ids")
        if len(self._ids) != m["n_docs"]:
            raise IndexFormatError(f"{self.path}: {len(self._ids)} document ids for {m['n_docs']} vectors; rebuild it")
        self._store = StringTable(self.path, "docstore") if m.get("stored") else None
        self._columns = None

    @property
    def n_docs(self) -> int:
        return int(self.manifest["n_docs"])

    @property
    def encoder_config(self) -> dict:
        return self.manifest["encoder"]["config"]

    @property
    def normalized(self) -> bool:
        return self.manifest["metric"] == "cosine"

    def doc_ids(self, docnos: np.ndarray) -> list[str]:
        return self._ids.take(np.asarray(docnos, dtype=np.int64))

    def docno_map(self) -> dict[str, int]:
        """``{document id: document number}`` (built on demand; used by :meth:`documents`)."""
        return {self._ids[i]: i for i in range(self.n_docs)}

    def document(self, docno: int) -> Document | None:
        """The stored document ``docno`` (``None`` when the index keeps no text)."""
        if self._store is None:
            return None
        record = json.loads(self._store[int(docno)])
        return Document(self._ids[int(docno)], record["text"], record["title"], record["metadata"])

    @property
    def columns(self):
        """The metadata columns (:class:`~winnow.index.columns.Columns`)."""
        if self._columns is None:
            from winnow.index.columns import Columns

            self._columns = Columns(self.path, self.manifest["columns"])
        return self._columns
