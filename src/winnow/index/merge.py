"""Fold adjacent segments into one, dropping deleted documents (no re-encoding).

Documents keep their order (segment by segment), so ranking ties, broken by document order,
come out as before. Postings are scattered term by term as in the build's counting sort.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from winnow.index.blocks import block_metadata, bounds
from winnow.index.columns import Columns, merge_columns
from winnow.index.docstore import StringTable, StringTableWriter
from winnow.fsutil import fsync_dir
from winnow.index.manifest import fsync_file
from winnow.index.segment import id_hash


def _kept_postings(indptr, docids, alive, n_terms):
    """Per-term counts and the kept postings' positions, terms and new doc numbers of one segment."""
    docids = np.asarray(docids)
    keep = alive[docids]
    terms = np.repeat(np.arange(len(indptr) - 1, dtype=np.int32), np.diff(indptr))[keep]
    counts = np.bincount(terms, minlength=n_terms)
    return np.flatnonzero(keep), terms, counts


def merge_segments(folder: Path, run: list[dict], lives: list[np.ndarray], seg: Path, n_terms: int,
                   rescored: bool, store: bool) -> dict | None:
    """Write the live documents of the segments ``run`` (in order) as the new segment ``seg``."""
    alive = [np.asarray(live, bool) for live in lives]
    n_docs = int(sum(a.sum() for a in alive))
    if n_docs == 0:
        return None
    seg.mkdir()
    srcs = [folder / e["name"] for e in run]
    parts = []
    counts = np.zeros(n_terms, np.int64)
    base = 0
    for src, a in zip(srcs, alive):
        indptr = np.load(src / "indptr.npy")
        renumber = np.cumsum(a, dtype=np.int64) - 1 + base
        pos, terms, c = _kept_postings(indptr, np.load(src / "docids.npy", mmap_mode="r"), a, n_terms)
        parts.append((src, pos, terms, renumber, counts.copy()))  # counts so far: this part's offset per term
        counts += c
        base += int(a.sum())
    indptr = np.zeros(n_terms + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    nnz = int(indptr[-1])
    docids = np.empty(nnz, np.int32)
    value_file = "raw.npy" if rescored else "weights.npy"
    first = np.load(srcs[0] / value_file, mmap_mode="r")
    values = np.empty((nnz, *first.shape[1:]), first.dtype)
    for src, pos, terms, renumber, before in parts:
        if len(pos) == 0:
            continue
        rank = np.arange(len(terms)) - np.searchsorted(terms, terms, side="left")
        dst = indptr[terms] + before[terms] + rank
        docids[dst] = renumber[np.asarray(np.load(src / "docids.npy", mmap_mode="r"))[pos]]
        values[dst] = np.asarray(np.load(src / value_file, mmap_mode="r"))[pos]
    np.save(seg / "indptr.npy", indptr)
    np.save(seg / "docids.npy", docids)
    np.save(seg / value_file, values)
    block_ptr, block_last, _ = block_metadata(indptr, docids, np.zeros(nnz, np.uint8))
    np.save(seg / "block_ptr.npy", block_ptr)
    np.save(seg / "block_last.npy", block_last)
    entry = {"name": seg.name, "n_docs": n_docs, "n_postings": nnz, "n_terms": n_terms, "rescored": rescored}
    if rescored:
        np.save(seg / "lengths.npy", np.concatenate([np.load(s / "lengths.npy")[a] for s, a in zip(srcs, alive)]))
    else:
        term_max, _, _, block_max = bounds(indptr, docids, values)
        np.save(seg / "term_max.npy", term_max)
        np.save(seg / "block_max.npy", block_max)
        entry["non_negative"] = bool(values.min(initial=0.0) >= 0)
    _merge_strings(srcs, alive, seg, store)
    schemas = [e.get("columns") for e in run]
    entry["columns"] = merge_columns(seg, [(Columns(src, schema), a) for src, schema, a in zip(srcs, schemas, alive)]) \
        if all(schemas) else None
    for p in seg.iterdir():
        fsync_file(p)
    fsync_dir(seg)
    return entry


def _merge_strings(srcs: list[Path], alive: list[np.ndarray], seg: Path, store: bool) -> None:
    """Ids, their hash table and stored documents of the live documents."""
    ids_w = StringTableWriter(seg, "doc_ids")
    store_w = StringTableWriter(seg, "docstore") if store else None
    hashes = []
    for src, a in zip(srcs, alive):
        keep = np.flatnonzero(a)
        ids = StringTable(src, "doc_ids").take(keep) if len(keep) else []
        for doc_id in ids:
            ids_w.add(doc_id)
            hashes.append(id_hash(doc_id))
        if store_w is not None and len(keep):
            records = StringTable(src, "docstore").take(keep)
            for record in records:
                store_w.add(record)
    ids_w.close()
    if store_w is not None:
        store_w.close()
    h = np.array(hashes, np.uint64)
    order = np.argsort(h, kind="stable")
    np.save(seg / "ids-hash.npy", h[order])
    np.save(seg / "ids-docno.npy", order.astype(np.int32))
