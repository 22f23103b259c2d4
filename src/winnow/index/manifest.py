"""The index folder's outer shell: ``manifest.json``, checksums and durable atomic writes.

An index is a folder (layout and rules in ``docs/index-format.md``)::

    manifest.json        {"format": "winnow-sparse-index", "format_version": 2}: what the folder is
    commit-<N>.json      generation N: its segments, deletions, counts and per-file size + xxh3
    write.lock           held by the one writer (its process id)
    query-<G>/           vocab.json and the encoder's query-side files
    seg-<S>/             one immutable segment: postings, raw statistics, ids, stored documents

Every file is written under a temporary name, fsynced and renamed, and the folder fsynced, so a
crash leaves either the old state or the new one, never half of either.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import xxhash

from winnow.errors import IndexFormatError
from winnow.fsutil import write_atomic

FORMAT = "winnow-sparse-index"
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
TMP_SUFFIX = ".winnow-tmp"  # scratch folders of a segment build
_FSUTIL_TMP = re.compile(r"^\..+\.\d+-\d+\.tmp$")  # winnow.fsutil.replacing's temporary files


def file_digest(path: Path) -> str:
    """xxh3-64 of a file's bytes (several GB/s: cheap enough to verify on open)."""
    h = xxhash.xxh3_64()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 23):
            h.update(chunk)
    return h.hexdigest()


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_temporary(name: str) -> bool:
    """Whether a file name is one of winnow's temporary names (left behind only by a killed writer)."""
    return name.endswith(TMP_SUFFIX) or bool(_FSUTIL_TMP.match(name))


def write_folder_manifest(folder: Path) -> None:
    write_atomic(folder / MANIFEST, json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION}).encode())


def folder_manifest(folder: Path) -> dict | None:
    """The parsed ``manifest.json`` of a folder, or ``None`` when it has none."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IndexFormatError(f"{path}: damaged manifest ({exc})") from exc
    if not isinstance(manifest, dict):
        raise IndexFormatError(f"{path}: damaged manifest (not a JSON object)")
    return manifest


def check_folder(folder: Path, fmt: str = FORMAT, version: int = FORMAT_VERSION, kind: str = "sparse") -> dict:
    """The ``manifest.json`` of a winnow index folder of format ``fmt``, version ``version``.

    Raises:
        IndexFormatError: no manifest, a damaged one, another format or another version.
    """
    manifest = folder_manifest(folder)
    if manifest is None:
        raise IndexFormatError(f"{folder}: not a winnow index (no {MANIFEST})")
    if manifest.get("format") != fmt:
        raise IndexFormatError(f"{folder / MANIFEST}: not a winnow {kind} index (format {manifest.get('format')!r})")
    if manifest.get("format_version") != version:
        raise IndexFormatError(f"{folder / MANIFEST}: format version {manifest.get('format_version')!r} is not "
                               f"supported by this winnow (reads version {version}); rebuild the index")
    return manifest


def check_file_entries(folder: Path, files: dict, verify: bool, digest_always: frozenset[str] = frozenset(),
                       where: str = MANIFEST) -> None:
    """Check that every file of ``files`` (``{name: {"bytes", "xxh3"}}``, as ``where`` lists them) exists
    under ``folder`` with its recorded size, and its checksum with ``verify`` or when in ``digest_always``.

    Raises:
        IndexFormatError: a bad entry, or a missing, resized or altered file.
    """
    for name, meta in files.items():
        parts = Path(name).parts
        if not parts or Path(name).is_absolute() or ".." in parts or not isinstance(meta, dict):
            raise IndexFormatError(f"{folder}: {where} names a bad file entry {name!r}")
        p = folder / name
        try:
            size = p.stat().st_size
        except OSError:
            raise IndexFormatError(f"{folder}: missing file {name}; the index is damaged") from None
        if size != meta.get("bytes"):
            raise IndexFormatError(f"{p}: size {size} != {meta.get('bytes')} recorded; the index is damaged")
        if (verify or name in digest_always) and file_digest(p) != meta.get("xxh3"):
            raise IndexFormatError(f"{p}: checksum mismatch; the index is damaged")


def read_manifest(folder: str | Path, verify: bool = True) -> dict:
    """The newest commit of an index folder (format, encoder, counts, segments, files), checked.

    With ``verify`` every file's checksum is checked too (sizes always are).
    """
    from winnow.index.commit import check_files, newest_commit

    folder = Path(folder)
    check_folder(folder)
    commit = newest_commit(folder)
    check_files(folder, commit, verify=verify)
    return commit
