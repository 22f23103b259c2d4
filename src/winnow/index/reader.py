"""Open an index folder: check its manifest and memory-map its arrays."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import numpy as np

from winnow.errors import IndexFormatError
from winnow.index.docstore import StringTable
from winnow.index.manifest import read_manifest
from winnow.index.pruned import PRUNED


class SparseIndex:
    """A loaded index: term-major postings plus document ids and stored documents.

    Args:
        path: the index folder.
        verify: check every file's checksum (sizes and format version are always checked).
    """

    def __init__(self, path: str | Path, verify: bool = True):
        self.path = Path(path)
        self.manifest = read_manifest(self.path, verify=verify)
        segments = self.manifest["segments"]
        if len(segments) != 1:
            raise IndexFormatError(f"{self.path}: {len(segments)} segments; this winnow reads single-segment indexes")
        seg = self.path / segments[0]["name"]
        try:
            self.indptr = np.load(seg / "indptr.npy", mmap_mode="r")
            self.docids = np.load(seg / "docids.npy", mmap_mode="r")
            self.impacts = np.load(seg / "impacts.npy", mmap_mode="r")
            self.term_max = np.load(seg / "term_max.npy")
            self.block_ptr = np.load(seg / "block_ptr.npy", mmap_mode="r")
            self.block_last = np.load(seg / "block_last.npy", mmap_mode="r")
            self.block_max = np.load(seg / "block_max.npy", mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise IndexFormatError(f"{seg}: cannot read postings ({exc}); the index is damaged, rebuild it") from exc
        self.pruned = tuple(np.load(seg / f"pruned-{name}.npy", mmap_mode="r") for name in PRUNED) \
            if "pruned" in self.manifest else None
        self.scale = float(self.manifest["impacts"]["scale"])
        self.block_size = int(self.manifest["impacts"]["block_size"])
        self.non_negative = float(self.manifest["impacts"]["min"]) >= 0
        self._ids = StringTable(seg, "doc_ids")
        self._store = StringTable(seg, "docstore") if self.manifest.get("stored") else None

    @property
    def n_docs(self) -> int:
        return int(self.manifest["n_docs"])

    @property
    def n_terms(self) -> int:
        return int(self.manifest["n_terms"])

    @property
    def encoder_kind(self) -> str:
        return self.manifest["encoder"]["kind"]

    @property
    def encoder_config(self) -> dict:
        return self.manifest["encoder"]["config"]

    @cached_property
    def vocabulary(self) -> list[str]:
        return json.loads((self.path / "vocab.json").read_text(encoding="utf-8"))

    def doc_id(self, docno: int) -> str:
        return self._ids[int(docno)]

    def doc_ids(self, docnos: np.ndarray) -> list[str]:
        return self._ids.take(docnos)

    def document(self, docno: int) -> dict:
        """Stored title/text/metadata of a document (``{}`` when the index keeps no text)."""
        return json.loads(self._store[int(docno)]) if self._store is not None else {}

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """Doc numbers and impacts (float32, dequantised) of one term."""
        lo, hi = self.indptr[term], self.indptr[term + 1]
        return np.asarray(self.docids[lo:hi]), np.asarray(self.impacts[lo:hi], dtype=np.float32) * self.scale
