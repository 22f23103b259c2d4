"""Index test helpers: scratch folders on a memory file system when there is one (builds fsync
every file; on tmpfs that costs nothing, so property tests can build hundreds of indexes)."""

from __future__ import annotations

import tempfile
from pathlib import Path

SHM = Path("/dev/shm")


def scratch() -> tempfile.TemporaryDirectory:
    """A temporary folder, in memory when the machine has ``/dev/shm``."""
    return tempfile.TemporaryDirectory(dir=SHM if SHM.is_dir() else None)
