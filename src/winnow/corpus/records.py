"""Shared machinery of the corpus readers: numbered lines, bad-record policy, record checks.

Every reader turns a file into ``(line, record)`` pairs and hands each bad record
to a :class:`BadRecords` policy, which either raises the :class:`InputError` or,
in skip mode, records ``(path, line, reason)``, logs a warning and lets the
reader go on. :func:`documents` then checks each record, drops nothing silently
and refuses duplicate ids and empty corpora.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from winnow.errors import InputError
from winnow.types import Document, Qrels

logger = logging.getLogger("winnow.corpus")

_BOM = "\ufeff"


class BadRecords:
    """What to do with a bad record: raise it, or skip it and say so.

    Args:
        skip: When False, :meth:`report` raises the error. When True, it appends
            ``(path, line, reason)`` to ``skipped`` and logs a warning on the
            ``winnow.corpus`` logger.
        skipped: Optional list that collects the skipped records.
    """

    def __init__(self, skip: bool = False, skipped: list | None = None):
        self.skip, self.skipped, self.count = skip, skipped, 0

    def report(self, error: InputError) -> None:
        """Raise ``error``, or in skip mode record and log it.

        Raises:
            InputError: ``error`` itself, unless skipping.
        """
        if not self.skip:
            raise error
        self.count += 1
        if self.skipped is not None:
            self.skipped.append((error.path, error.line, error.reason))
        logger.warning("skipped bad record: %s", error)


@dataclass(frozen=True)
class Fields:
    """Which record fields hold the id, the text and the title (``None``: no title)."""

    id: str = "_id"
    text: str = "text"
    title: str | None = "title"


def check_file(path: str | Path) -> Path:
    """Return ``path`` as a :class:`Path` after checking it names a readable file.

    Raises:
        InputError: The path does not exist or is a folder.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", str(path))
    if path.is_dir():
        raise InputError("is a folder, expected a file", str(path))
    return path


def open_binary(path: Path):
    """Open a file for reading bytes, decompressing it on the fly when its name ends in ``.gz``."""
    if path.suffix.lower() == ".gz":
        import gzip

        return gzip.open(path, "rb")
    return open(path, "rb")


def binary_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(line number, raw bytes)`` of a file, decompressed when gzipped.

    Raises:
        InputError: A compressed file is damaged or not compressed after all.
    """
    import zlib

    with open_binary(path) as f:
        number = 0
        while True:
            try:
                raw = f.readline()
            except (OSError, EOFError, zlib.error) as exc:
                raise InputError(f"cannot read the compressed file ({exc})", str(path)) from None
            if not raw:
                return
            number += 1
            yield number, raw


def decode_line(raw: bytes, path: str, line: int) -> str:
    """Decode one raw line as UTF-8, dropping a byte-order mark at the start of line 1.

    Raises:
        InputError: The bytes are not valid UTF-8.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not valid UTF-8 ({exc.reason} at byte {exc.start}); re-encode the file as UTF-8",
            path,
            line,
        ) from None
    return text[1:] if line == 1 and text.startswith(_BOM) else text


def text_lines(path: Path, bad: BadRecords) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, text)`` for every non-blank line, streaming the file.

    Lines are split on ``\\n`` only and decoded one by one, so an undecodable line
    is reported with its number (and, in skip mode, skipped alone).
    """
    for number, raw in binary_lines(path):
        try:
            text = decode_line(raw, str(path), number).rstrip("\r\n")
        except InputError as exc:
            bad.report(exc)
            continue
        if text.strip():
            yield number, text


def json_records(path: Path, bad: BadRecords) -> Iterator[tuple[int, dict]]:
    """Yield ``(line number, object)`` for each line of a JSON Lines file."""
    for number, text in text_lines(path, bad):
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            bad.report(InputError(f"malformed JSON ({exc.msg}, column {exc.colno})", str(path), number))
            continue
        if not isinstance(record, dict):
            kind = "array" if isinstance(record, list) else type(record).__name__
            bad.report(InputError(f"expected a JSON object per line (JSON Lines), found {kind}", str(path), number))
            continue
        yield number, record


def record_id(value: object, name: str, path: str, line: int) -> str:
    """Check an id value: a non-empty string, or an integer converted to one.

    Raises:
        InputError: The id is missing, empty or of another type.
    """
    if value is None:
        raise InputError(f"missing id field {name!r}", path, line)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise InputError(f"id field {name!r} must be a string or integer, found {type(value).__name__}", path, line)
    if not value.strip():
        raise InputError(f"id field {name!r} is empty", path, line)
    return value


def to_document(record: Mapping[str, object], fields: Fields, path: str, line: int) -> Document:
    """Check one record and build its :class:`Document`.

    The id must be a string or integer; the text must be present and a string
    (it may be empty); the title may be absent or null (then ``""``). A field
    named ``metadata`` must hold an object, whose entries become the metadata;
    every other field is added to the metadata as well.

    Raises:
        InputError: A field is missing or has the wrong type, or a field appears
            both at the top level and inside ``metadata``.
    """
    doc_id = record_id(record.get(fields.id), fields.id, path, line)
    text = record.get(fields.text)
    if text is None:
        raise InputError(f"missing text field {fields.text!r}", path, line)
    if not isinstance(text, str):
        raise InputError(f"text field {fields.text!r} must be a string, found {type(text).__name__}", path, line)
    title = record.get(fields.title) if fields.title is not None else None
    if title is None:
        title = ""
    elif not isinstance(title, str):
        raise InputError(f"title field {fields.title!r} must be a string, found {type(title).__name__}", path, line)
    return Document(doc_id, text, title, _metadata(record, fields, path, line))


def _metadata(record: Mapping[str, object], fields: Fields, path: str, line: int) -> dict:
    nested = record.get("metadata")
    if nested is not None and not isinstance(nested, dict):
        raise InputError(f"field 'metadata' must be an object, found {type(nested).__name__}", path, line)
    metadata = dict(nested or {})
    taken = {fields.id, fields.text, fields.title, "metadata"}
    for key, value in record.items():
        if key in taken:
            continue
        if key in metadata:
            raise InputError(f"field {key!r} appears both at the top level and inside 'metadata'", path, line)
        metadata[key] = value
    return metadata


def documents(
    records: Iterable[tuple[int, Mapping[str, object]]], path: Path, fields: Fields, bad: BadRecords,
    field_types: Mapping[str, str] | None = None,
) -> Iterator[Document]:
    """Turn ``(line, record)`` pairs into documents, refusing duplicates and empty corpora.

    A duplicate id is a bad record (the first one is kept in skip mode), as is a metadata value
    that does not fit its field's type in ``field_types`` (declared types, ``{"year": "integer"}``).

    Raises:
        InputError: A bad record (unless skipping), or no document at all.
    """
    seen: dict[str, int] = {}
    for line, record in records:
        try:
            doc = to_document(record, fields, str(path), line)
            if doc.id in seen:
                first = seen[doc.id]
                raise InputError(f"duplicate document id {doc.id!r} (first seen on line {first})", str(path), line)
            if field_types:
                _check_types(doc, field_types, str(path), line)
        except InputError as exc:
            bad.report(exc)
            continue
        seen[doc.id] = line
        yield doc
    if not seen:
        why = f" (all {bad.count} records were skipped as bad)" if bad.count else ""
        raise InputError(f"empty corpus{why}: no documents found", str(path))


def _check_types(doc: Document, field_types: Mapping[str, str], path: str, line: int) -> None:
    from winnow.filters.fields import FieldValueError, check_metadata

    try:
        check_metadata(doc.metadata, field_types, f"document {doc.id!r}")
    except FieldValueError as exc:
        raise InputError(str(exc), path, line) from None


def parse_grade(value: str, path: str, line: int) -> int:
    """Parse an integer relevance grade.

    Raises:
        InputError: The value is not an integer.
    """
    try:
        return int(value)
    except ValueError:
        raise InputError(f"relevance grade must be an integer, found {value!r}", path, line) from None


class Judgements:
    """Collects qrels rows in file order, refusing a second grade for the same pair."""

    def __init__(self, path: Path):
        self.path = str(path)
        self.table: dict[str, dict[str, int]] = {}
        self._lines: dict[tuple[str, str], int] = {}

    def add(self, qid: str, docid: str, grade: int, line: int) -> None:
        """Add one judgement.

        Raises:
            InputError: The pair ``(qid, docid)`` was already judged.
        """
        first = self._lines.get((qid, docid))
        if first is not None:
            raise InputError(
                f"duplicate judgement for query {qid!r} and document {docid!r} (first on line {first})",
                self.path,
                line,
            )
        self._lines[qid, docid] = line
        self.table.setdefault(qid, {})[docid] = grade

    def qrels(self) -> Qrels:
        """The collected judgements.

        Raises:
            InputError: The file held no judgement.
        """
        if not self.table:
            raise InputError("no relevance judgements found", self.path)
        return Qrels(self.table)
