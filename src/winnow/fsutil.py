"""Durable file writes: a file is written whole under a temporary name, flushed to disk and renamed,
so a reader sees the old bytes or the new ones, never a mix, even after a crash. Whole folders are
built beside their target and renamed into place the same way (:func:`building`)."""

from __future__ import annotations

import glob
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("winnow.index")


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


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (one of another user counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def building(out: Path, check: Callable[[Path], None] = lambda out: None) -> Iterator[Path]:
    """Yield a new folder beside ``out`` (``.NAME.building-PID-HEX``) to build it in; when the
    block succeeds, ``check(out)`` runs and the folder replaces ``out`` (an older one is moved aside
    to ``.NAME.old-PID-HEX``, then removed); when it raises, the folder is removed.

    First the folders that builds of ``out`` left when their process was killed are removed, with
    a warning (:func:`remove_stale_builds`).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_builds(out)
    staging = out.parent / f".{out.name}.building-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
        check(out)
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            os.rename(out, old)
            os.rename(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_dir(out.parent)


def remove_stale_builds(out: Path) -> None:
    """Remove the ``.NAME.building-*`` and ``.NAME.old-*`` folders beside ``out`` whose process no
    longer runs (a folder without a process id in its name, from an older winnow, too)."""
    for kind in ("building", "old"):
        prefix = f".{out.name}.{kind}-"
        for path in out.parent.glob(glob.escape(prefix) + "*"):
            pid = path.name[len(prefix):].partition("-")[0]
            if pid.isdigit() and process_alive(int(pid)):
                continue
            log.warning("removing %s, left by an interrupted build", path)
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
