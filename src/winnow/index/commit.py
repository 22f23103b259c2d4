"""Commit points: ``commit-<N>.json`` names the one complete snapshot a reader may open.

A commit lists its segments (with their deletion and impact files), the vocabulary and query-side
files, counts, the encoder config, and the size and xxh3 of every file it names; its own xxh3 over
its canonical JSON (``checksum``) makes a damaged commit fail loudly instead of steering a reader
to wrong arrays. Commits are written atomically (:func:`~winnow.fsutil.write_atomic`); the
newest generation is the index's state, as Lucene's ``segments_N``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import xxhash

from winnow.errors import IndexFormatError
from winnow.fsutil import write_atomic
from winnow.index.manifest import FORMAT, FORMAT_VERSION, check_file_entries, file_digest

COMMIT_RE = re.compile(r"^commit-(\d{1,12})\.json$")


def commit_name(generation: int) -> str:
    return f"commit-{generation}.json"


def generations(folder: Path) -> list[int]:
    """Generations of the commit files in ``folder``, newest first."""
    found = []
    for p in folder.iterdir():
        m = COMMIT_RE.match(p.name)
        if m:
            found.append(int(m.group(1)))
    return sorted(found, reverse=True)


def _canonical(commit: dict) -> bytes:
    body = {k: v for k, v in commit.items() if k != "checksum"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def write_commit(folder: Path, commit: dict) -> None:
    """Seal ``commit`` with its checksum and write it durably as ``commit-<generation>.json``."""
    commit = {**commit, "format": FORMAT, "format_version": FORMAT_VERSION}
    commit["checksum"] = xxhash.xxh3_64_hexdigest(_canonical(commit))
    write_atomic(folder / commit_name(commit["generation"]), json.dumps(commit).encode())


_REQUIRED = {"generation": int, "segments": list, "files": dict, "encoder": dict, "impacts": dict,
             "n_docs": int, "n_terms": int, "vocabulary": str, "query_files": str}


def load_commit(folder: Path, generation: int) -> dict:
    """Read and check one commit file (its checksum, format and the shape of its fields)."""
    path = folder / commit_name(generation)
    try:
        commit = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IndexFormatError(f"{path}: damaged commit ({exc}); the index is damaged") from exc
    if not isinstance(commit, dict) or commit.get("checksum") != xxhash.xxh3_64_hexdigest(_canonical(commit)):
        older = [g for g in generations(folder) if g < generation]
        hint = f"; commit {older[0]} is the previous state (delete {path.name} to fall back to it)" if older else ""
        raise IndexFormatError(f"{path}: commit checksum mismatch: the file is damaged{hint}")
    if commit.get("format") != FORMAT or commit.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(f"{path}: format {commit.get('format')!r} version {commit.get('format_version')!r} "
                               f"is not readable by this winnow (version {FORMAT_VERSION}); rebuild the index")
    for key, typ in _REQUIRED.items():
        if not isinstance(commit.get(key), typ):
            raise IndexFormatError(f"{path}: field {key!r} missing or not a {typ.__name__}")
    if commit["generation"] != generation:
        raise IndexFormatError(f"{path}: holds generation {commit['generation']}, not {generation}")
    return commit


def newest_commit(folder: Path) -> dict:
    """The newest commit of an index folder (refused when damaged: never an older one silently)."""
    gens = generations(folder)
    if not gens:
        raise IndexFormatError(f"{folder}: an index folder without any commit (an interrupted first build?); "
                               "build the index again")
    return load_commit(folder, gens[0])


def check_files(folder: Path, commit: dict, verify: bool, digest_always: frozenset[str] = frozenset()) -> None:
    """Check that every file the commit names exists with its recorded size (and checksum).

    Checksums are compared with ``verify``, and always for the names in ``digest_always``.
    """
    check_file_entries(folder, commit["files"], verify, digest_always, f"commit {commit['generation']}")


def describe(folder: Path, names) -> dict[str, dict]:
    """``{name: {"bytes", "xxh3"}}`` of files under ``folder``."""
    return {n: {"bytes": (folder / n).stat().st_size, "xxh3": file_digest(folder / n)} for n in sorted(names)}
