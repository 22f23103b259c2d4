"""Append-only string tables: document ids and stored documents, read back by offset."""

from __future__ import annotations

import json
from array import array
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
        # plain ndarray views of the maps: indexing them is several times faster than np.memmap's
        self._offsets = np.asarray(np.load(folder / f"{name}.idx.npy", mmap_mode="r"))
        path = folder / f"{name}.bin"
        self._data = np.asarray(np.memmap(path, dtype=np.uint8, mode="r")) if path.stat().st_size else np.zeros(0, np.uint8)
        self._all: list[str] | None = None

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i: int) -> str:
        if self._all is not None:
            return self._all[i]
        lo, hi = self._offsets[i], self._offsets[i + 1]
        return self._data[lo:hi].tobytes().decode("utf-8")

    def take(self, indices) -> list[str]:
        """Many entries at once; past a few dozen, the whole table is decoded once and kept."""
        if self._all is None and len(indices) > 32:
            self._all = self._decode_all()
        return [self[i] for i in indices]

    def _decode_all(self) -> list[str]:
        data, off = self._data.tobytes(), self._offsets.tolist()
        if data.isascii():  # byte offsets are character offsets
            text = data.decode("ascii")
            return [text[a:b] for a, b in zip(off, off[1:])]
        return [data[a:b].decode("utf-8") for a, b in zip(off, off[1:])]


def document_record(title: str, text: str, metadata) -> str:
    return json.dumps({"title": title, "text": text, "metadata": dict(metadata)}, ensure_ascii=False)
