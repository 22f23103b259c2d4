"""Encode a large corpus to numbered shards on disk, resumable after an interruption.

Each shard holds ``shard_size`` consecutive documents as ``shard-NNNNN.npz`` (document ids
plus CSR ``indptr``/``indices``/``values``) and is written to a temporary file then renamed,
so a shard file that exists is complete. ``shards.json`` records the encoder config and shard
size; a restart with the same settings skips the shards already written. ``vocab.json`` holds the
encoder's vocabulary once every shard is written. The ``vectors`` encoder
(:mod:`winnow.encode.vectors`) indexes the shards of a learned sparse encoder without its model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import numpy as np

from winnow.errors import WinnowError
from winnow.fsutil import replacing, write_atomic
from winnow.types import Document, SparseBatch, check_documents

logger = logging.getLogger(__name__)

MANIFEST = "shards.json"
VOCAB = "vocab.json"


def shard_path(shard_dir: Path, number: int) -> Path:
    return Path(shard_dir) / f"shard-{number:05d}.npz"


def _check_manifest(shard_dir: Path, manifest: dict) -> None:
    path = shard_dir / MANIFEST
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved != manifest:
            raise WinnowError(f"{shard_dir} holds shards of another encoder or shard size; use an empty folder (saved: {saved})")
    else:
        path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def _write_shard(path: Path, ids: list[str], batch: SparseBatch) -> None:
    with replacing(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, ids=np.array(ids, dtype=str), indptr=batch.indptr, indices=batch.indices, values=batch.values)


def encode_corpus_to_shards(
    encoder, docs: Iterable[Document], shard_dir: Path, shard_size: int = 10_000, progress: bool = False
) -> list[Path]:
    """Encode ``docs`` with ``encoder.encode_documents`` into shards, skipping finished ones.

    Args:
        encoder: A :class:`~winnow.encode.base.DocumentEncoder`.
        docs: The corpus in a fixed order (the same order on every run).
        shard_dir: Folder for the shards (created if missing).
        shard_size: Documents per shard.
        progress: Show a rich progress bar counting documents.

    Returns:
        Paths of all shards, in corpus order.

    Raises:
        WinnowError: when ``shard_dir`` holds shards written with other settings.
    """
    if shard_size < 1:
        raise WinnowError(f"shard_size must be at least 1, got {shard_size}")
    shard_dir = Path(shard_dir)
    shard_dir.mkdir(parents=True, exist_ok=True)
    _check_manifest(shard_dir, {"encoder": encoder.kind, "config": encoder.config(), "shard_size": shard_size})
    paths, skipped = [], 0
    iterator = check_documents(docs)
    with _progress(progress) as advance:
        while chunk := list(islice(iterator, shard_size)):
            path = shard_path(shard_dir, len(paths))
            if path.exists():
                skipped += 1
            else:
                _write_shard(path, [d.id for d in chunk], encoder.encode_documents(chunk))
            paths.append(path)
            advance(len(chunk))
    write_atomic(shard_dir / VOCAB, json.dumps(encoder.vocabulary(), ensure_ascii=False).encode("utf-8"))
    logger.info("%d shards in %s (%d already there)", len(paths), shard_dir, skipped)
    return paths


def shards_manifest(shard_dir: Path) -> dict:
    """The ``shards.json`` of a finished shard folder (``encoder`` kind, its ``config``, ``shard_size``).

    Raises:
        WinnowError: when the folder holds no finished shards.
    """
    shard_dir = Path(shard_dir)
    if not (shard_dir / MANIFEST).is_file() or not (shard_dir / VOCAB).is_file():
        raise WinnowError(f"{shard_dir}: no finished shards ({MANIFEST} and {VOCAB}); "
                          "write them with encode_corpus_to_shards")
    return json.loads((shard_dir / MANIFEST).read_text(encoding="utf-8"))


def read_shards(shard_dir: Path) -> Iterator[tuple[list[str], SparseBatch]]:
    """Yield ``(document ids, vectors)`` of each shard in order (for an index build)."""
    number = 0
    while (path := shard_path(shard_dir, number)).exists():
        with np.load(path) as data:
            yield data["ids"].tolist(), SparseBatch(data["indptr"], data["indices"], data["values"])
        number += 1


class _progress:
    """Context manager yielding ``advance(n)``; a rich bar when enabled, a no-op otherwise."""

    def __init__(self, enabled: bool):
        self.bar = None
        if enabled:
            from rich.progress import Progress

            self.bar = Progress()

    def __enter__(self):
        if self.bar is None:
            return lambda n: None
        self.bar.start()
        task = self.bar.add_task("encoding", total=None)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
