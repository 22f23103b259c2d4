"""Append-only string tables: document ids and stored documents, read back by offset."""

from __future__ import annotations

import json
from array import array
from functools import cached_property
from pathlib import Path

import numpy as np


class StringTableWriter:
    """Writes ``<name>.bin`` (concatenated UTF-8) and ``<name>.idx.npy`` (int64 offsets, n + 1)."""

    def __init__(self, folder: Path, name: str):
        self._file = open(folder / f"{name}.bin", "wb")
        self._idx_path = folder / f"{name}.idx.npy"
        self._offsets = array("q", [0])

    def add(self, text: str) -> None:
        data = text.encode("utf-8")
        self._file.write(data)
        self._offsets.append(self._offsets[-1] + len(data))

    def close(self) -> None:
        self._file.close()
        np.save(self._idx_path, np.frombuffer(self._offsets, dtype=np.int64))


class StringTable:
    """Memory-mapped read side of :class:`StringTableWriter`."""

    def __init__(self, folder: Path, name: str):
        self._offsets_path = folder / f"{name}.idx.npy"
        path = folder / f"{name}.bin"
        self._data = memoryview(np.memmap(path, dtype=np.uint8, mode="r")) if path.stat().st_size else memoryview(b"")
        self._n = len(np.load(self._offsets_path, mmap_mode="r")) - 1

    @cached_property
    def _offsets(self) -> list[int]:
        """Offsets as a Python list (built on first use): per-item lookups are what search needs."""
        return np.load(self._offsets_path).tolist()

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> str:
        return str(self._data[self._offsets[i]:self._offsets[i + 1]], "utf-8")

    def take(self, indices: np.ndarray) -> list[str]:
        """Entries at ``indices`` (an integer array)."""
        data, off = self._data, self._offsets
        return [str(data[off[i]:off[i + 1]], "utf-8") for i in indices.tolist()]


def document_record(title: str, text: str, metadata) -> str:
    return json.dumps({"title": title, "text": text, "metadata": dict(metadata)}, ensure_ascii=False)
