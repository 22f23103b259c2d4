"""The index folder's self-description: ``manifest.json``, checksums and atomic replacement.

An index is a folder::

    manifest.json        format, version, encoder config, counts, dtypes, per-file size + xxh3
    vocab.json           the term of each term id
    seg-0/               one segment: postings and documents (more segments come with updates)
        indptr.npy docids.npy impacts.npy term_max.npy doc_ids.* docstore.*

A build writes a sibling staging folder and renames it into place, so a crash never
leaves a half-written index where a good one was.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import xxhash

from winnow.errors import IndexFormatError

FORMAT = "winnow-sparse-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def file_digest(path: Path) -> str:
    """xxh3-64 of a file's bytes (fast enough to verify every load)."""
    h = xxhash.xxh3_64()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 23):
            h.update(chunk)
    return h.hexdigest()


def describe_files(folder: Path) -> dict[str, dict]:
    """Size and checksum of every file under ``folder`` except the manifest."""
    files = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            files[p.relative_to(folder).as_posix()] = {"bytes": p.stat().st_size, "xxh3": file_digest(p)}
    return files


def write_manifest(folder: Path, manifest: dict) -> None:
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)


def read_manifest(folder: Path, verify: bool = True) -> dict:
    """Read and check a manifest; with ``verify`` also every file's size and checksum."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        leftovers = sorted(folder.parent.glob(f".{folder.name}.old-*"))
        hint = (f"; an interrupted rebuild left the previous index at {leftovers[0]}: rename it back"
                if leftovers else "")
        raise IndexFormatError(f"{folder}: not a winnow index (no {MANIFEST}){hint}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IndexFormatError(f"{path}: damaged manifest ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise IndexFormatError(f"{path}: not a winnow sparse index (format {manifest.get('format')!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(f"{path}: format version {manifest.get('format_version')} is not supported "
                               f"by this winnow (reads version {FORMAT_VERSION}); rebuild the index")
    for name, meta in manifest.get("files", {}).items():
        p = folder / name
        if not p.is_file():
            raise IndexFormatError(f"{folder}: missing file {name}; the index is damaged, rebuild it")
        if p.stat().st_size != meta["bytes"]:
            raise IndexFormatError(f"{p}: size {p.stat().st_size} != {meta['bytes']} recorded; damaged, rebuild it")
        if verify and file_digest(p) != meta["xxh3"]:
            raise IndexFormatError(f"{p}: checksum mismatch; the index is damaged, rebuild it")
    return manifest


def staging_folder(target: Path) -> Path:
    """A fresh sibling folder to build into (same file system, so the final rename is atomic)."""
    path = target.parent / f".{target.name}.building-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path


def check_replaceable(target: Path) -> None:
    """Refuse to overwrite a non-empty folder that is not a winnow index (never destroy user data)."""
    if target.exists() and (not target.is_dir() or (any(target.iterdir()) and not (target / MANIFEST).is_file())):
        raise IndexFormatError(f"{target}: exists and is not a winnow index; refusing to overwrite it")


def commit_folder(staging: Path, target: Path) -> None:
    """Move a finished build into place, replacing an older index at ``target``."""
    check_replaceable(target)
    if not target.exists():
        os.rename(staging, target)
        return
    old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
    os.rename(target, old)
    os.rename(staging, target)
    shutil.rmtree(old, ignore_errors=True)
