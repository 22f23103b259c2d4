"""One writer per index: ``write.lock`` holds the writer's process id.

The lock is created with ``O_EXCL``, so two writers cannot both take it. A lock left by a process
that no longer runs (a killed writer) is broken with a warning.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from winnow.errors import WinnowError
from winnow.fsutil import process_alive

LOCK = "write.lock"
log = logging.getLogger("winnow.index")


class WriterLock:
    """Hold ``folder/write.lock`` until :meth:`release`."""

    def __init__(self, folder: Path):
        self.path = folder / LOCK
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                self._break_if_stale()
                continue
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            return
        raise WinnowError(f"{self.path}: could not take the write lock")

    def _break_if_stale(self) -> None:
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            return
        pid = int(text) if text.isdigit() else None
        if pid is not None and pid != os.getpid() and process_alive(pid):
            raise WinnowError(f"{self.path.parent}: another writer (process {pid}) is changing this index; "
                              "wait for it to finish")
        if pid == os.getpid():
            raise WinnowError(f"{self.path.parent}: this process already has a writer open on this index")
        log.warning("%s: breaking a stale write lock (process %s is gone)", self.path, text or "?")
        self.path.unlink(missing_ok=True)

    def release(self) -> None:
        self.path.unlink(missing_ok=True)
