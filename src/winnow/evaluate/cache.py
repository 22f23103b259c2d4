"""Indexes built for evaluation, kept by corpus identity and encoder spec.

An index is reused only when its spec, the corpus it was built from and the encoder's settings
all match: the corpus is identified by its content hash (xxh3 over the file's bytes), the encoder
by the configuration it would build with now (resolved defaults, the model's file digests), both
recorded beside the index folder. A second dataset never picks up the first one's index, nor a
changed model or a new default an index built before.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import xxhash

from winnow.errors import WinnowError


def corpus_identity(path: str | Path) -> dict:
    """``{"path", "bytes", "xxh3"}`` of a corpus file."""
    path = Path(path).resolve()
    h = xxhash.xxh3_64()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 23):
                h.update(chunk)
    except OSError as exc:
        raise WinnowError(f"{path}: cannot read the corpus ({exc})") from exc
    return {"path": str(path), "bytes": path.stat().st_size, "xxh3": h.hexdigest()}


@dataclass(frozen=True)
class IndexCache:
    """A folder of indexes, one per (corpus, spec): ``ROOT/<spec>-<key>/`` and its ``.source.json``."""

    root: Path

    def folder(self, identity: dict, spec: str) -> Path:
        key = xxhash.xxh3_64_hexdigest(json.dumps([identity["xxh3"], identity["bytes"], spec]).encode("utf-8"))
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", spec)[:48].strip("-.") or "index"
        return self.root / f"{slug}-{key}"

    def ensure(self, corpus_path: str | Path, spec: str, progress: Callable[[int], None] | None = None) -> Path:
        """The index of ``spec`` over ``corpus_path``: reused when its recorded source matches, else built."""
        from winnow.api import index_corpus
        from winnow.encode.registry import build_encoder
        from winnow.fsutil import write_atomic

        identity = corpus_identity(corpus_path)
        folder = self.folder(identity, spec)
        source = folder.with_name(folder.name + ".source.json")
        # the encoder as it builds now (defaults and the model's files included), as JSON reads it back
        encoder = json.loads(json.dumps(build_encoder(spec).config(), default=str))
        recorded = {"corpus": identity, "spec": spec, "encoder": encoder}
        if _records(source, recorded) and folder.is_dir():
            return folder
        self.root.mkdir(parents=True, exist_ok=True)
        with _one_builder(folder.with_name(folder.name + ".lock")):
            if _records(source, recorded) and folder.is_dir():  # another process built it meanwhile
                return folder
            source.unlink(missing_ok=True)
            index_corpus(corpus_path, folder, encoder=spec, progress=progress)
            write_atomic(source, json.dumps(recorded, indent=1).encode("utf-8"))
        return folder


def _records(source: Path, recorded: dict) -> bool:
    try:
        return json.loads(source.read_text(encoding="utf-8")) == recorded
    except (OSError, ValueError, UnicodeDecodeError):
        return False


@contextmanager
def _one_builder(path: Path):
    """Hold an exclusive advisory lock on ``path``: processes sharing a cache wait for the one that
    builds an index, then reuse it (no locking where ``fcntl`` is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
