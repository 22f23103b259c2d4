"""Durable file writes: a file is written whole under a temporary name, flushed to disk and renamed,
so a reader sees the old bytes or the new ones, never a mix, even after a crash."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def fsync_file(path: str | Path) -> None:
    """Flush a file's bytes to disk (whoever wrote it: a library given the file name, too)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: str | Path) -> None:
    """Flush a folder's entries (a rename is durable only once its folder is synced)."""
    fsync_file(folder)


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds, the file there replaces ``path``.

    The file is fsynced, renamed over ``path`` and the folder fsynced; if the block raises, the
    temporary file is removed and ``path`` is untouched. For writers that take a file name
    (``np.savez``, ``torch.onnx.export``); :func:`write_atomic` is the form for bytes in memory.

    Example::

        with replacing("vectors.npz") as tmp, open(tmp, "wb") as f:
            np.savez(f, ids=ids)
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_atomic(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)
