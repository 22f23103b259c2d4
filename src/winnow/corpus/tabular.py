"""Corpus files in common record formats: JSON Lines, CSV, TSV and Parquet.

All formats stream: JSON Lines and CSV/TSV one line at a time, Parquet one
record batch at a time. A record's id, text and title come from named fields;
every other field is kept in :attr:`Document.metadata`.

Example:
    >>> docs = read_records("docs.csv", id_field="docid", title_field=None)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator

from winnow.corpus.records import BadRecords, Fields, check_file, decode_line, documents, json_records
from winnow.errors import InputError, require
from winnow.types import Document

FORMATS = ("jsonl", "json", "csv", "tsv", "parquet")
_PARQUET_BATCH = 1024


def read_records(
    path: str | Path,
    *,
    id_field: str = "_id",
    text_field: str = "text",
    title_field: str | None = "title",
    fmt: str | None = None,
    skip_bad: bool = False,
    skipped: list | None = None,
) -> Iterator[Document]:
    """Stream the documents of a JSON Lines, CSV, TSV or Parquet file.

    The format comes from the extension (``.jsonl`` and ``.json`` are read as
    JSON Lines) unless ``fmt`` names it. CSV and TSV files need a header row
    naming the fields and follow the :mod:`csv` module's quoting rules (fields
    may be double-quoted, as pandas writes them); their values are strings.
    Parquet needs the ``parquet`` extra (pyarrow).

    The id must be a string or an integer (turned into a string); the text must
    be present (it may be empty); a missing or null title becomes ``""``. A
    field named ``metadata`` must hold an object, whose entries become the
    metadata; all other fields are added to the metadata too.

    Args:
        path: The file.
        id_field: The field holding the document id.
        text_field: The field holding the text.
        title_field: The field holding the title, or None for no title.
        fmt: One of ``jsonl``, ``json``, ``csv``, ``tsv``, ``parquet``; overrides the extension.
        skip_bad: If True, a bad record (malformed JSON or CSV, a wrong number of
            columns, a missing or mistyped field, bytes that are not UTF-8, a
            later duplicate of an id) is skipped instead of raising:
            ``(path, line, reason)`` is appended to ``skipped`` and a warning is
            logged on the ``winnow.corpus`` logger. A header that lacks the id
            or text column, and a corpus with no good document, are still errors.
        skipped: Optional list that collects the skipped records.

    Returns:
        An iterator over the documents in file order; the file is read as it is consumed.

    Raises:
        InputError: The file is missing or of an unknown format, a record is bad
            (unless ``skip_bad``; the message names the file and the line, which
            for Parquet is the 1-based row number), or the corpus is empty.
        MissingExtraError: A Parquet file is read without pyarrow installed.
    """
    path = check_file(path)
    fmt = _format(path, fmt)
    fields = Fields(id_field, text_field, title_field)
    bad = BadRecords(skip_bad, skipped)
    if fmt in ("jsonl", "json"):
        records = json_records(path, bad)
    elif fmt == "parquet":
        records = _parquet_records(path, fields, _import_parquet())
    else:
        records = _csv_records(path, fields, "\t" if fmt == "tsv" else ",", bad)
    return documents(records, path, fields, bad)


def open_corpus(path: str | Path, **fields) -> Iterator[Document]:
    """Stream a corpus from a BEIR folder (one holding ``corpus.jsonl``) or a record file.

    Args:
        path: A BEIR dataset folder, or a file read by :func:`read_records`.
        **fields: Keyword arguments of :func:`read_records` (``id_field``,
            ``skip_bad``, ...), applied to the file.

    Returns:
        The documents, streamed in file order.

    Raises:
        InputError: The folder has no ``corpus.jsonl``, or as :func:`read_records`.
    """
    path = Path(path)
    if path.is_dir():
        corpus = path / "corpus.jsonl"
        if not corpus.is_file():
            raise InputError("folder has no corpus.jsonl; pass a BEIR dataset folder or a corpus file", str(path))
        path = corpus
    return read_records(path, **fields)


def _format(path: Path, fmt: str | None) -> str:
    name = fmt if fmt is not None else path.suffix.lower().lstrip(".")
    if name not in FORMATS:
        given = f"format {fmt!r}" if fmt is not None else f"extension {path.suffix!r}"
        raise InputError(f"unknown corpus {given}; pass fmt= one of {', '.join(FORMATS)}", str(path))
    return name


def _csv_records(path: Path, fields: Fields, delimiter: str, bad: BadRecords) -> Iterator[tuple[int, dict]]:
    undecodable: dict[int, InputError] = {}

    def lines() -> Iterator[str]:
        # Undecodable lines are replaced so that the rows around them still parse;
        # the row that spans one is reported bad below.
        with open(path, "rb") as f:
            for number, raw in enumerate(f, 1):
                try:
                    yield decode_line(raw, str(path), number)
                except InputError as exc:
                    undecodable[number] = exc
                    yield raw.decode("utf-8", "replace")

    reader = csv.reader(lines(), delimiter=delimiter, strict=True)
    header = _header(reader, path, fields, undecodable)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            bad.report(InputError(f"malformed row: {exc}", str(path), start))
            continue
        if not row:
            continue
        decode_error = next((undecodable[n] for n in range(start, reader.line_num + 1) if n in undecodable), None)
        if decode_error is not None:
            bad.report(decode_error)
        elif len(row) != len(header):
            reason = f"expected {len(header)} columns as in the header, found {len(row)}"
            bad.report(InputError(reason, str(path), start))
        else:
            yield start, dict(zip(header, row))


def _header(reader, path: Path, fields: Fields, undecodable: dict[int, InputError]) -> list[str]:
    try:
        header = next((row for row in reader if row), None)
    except csv.Error as exc:
        raise InputError(f"malformed header row: {exc}", str(path), reader.line_num) from None
    if header is None:
        raise InputError("empty corpus: no header row", str(path))
    if undecodable:
        raise undecodable[min(undecodable)]
    _check_columns(header, fields, str(path), reader.line_num)
    return header


def _check_columns(columns: list[str], fields: Fields, path: str, line: int | None) -> None:
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise InputError(f"repeated column names: {', '.join(duplicates)}", path, line)
    for role, name in (("id", fields.id), ("text", fields.text)):
        if name not in columns:
            raise InputError(
                f"no {role} column {name!r} (columns: {', '.join(columns)}); pass {role}_field= to name it",
                path,
                line,
            )


def _import_parquet():
    return require("pyarrow.parquet", "parquet")


def _parquet_records(path: Path, fields: Fields, pq) -> Iterator[tuple[int, dict]]:
    import pyarrow as pa

    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"not a readable Parquet file: {exc}", str(path)) from None
    with file:
        _check_columns(file.schema_arrow.names, fields, str(path), None)
        row = 0
        for batch in file.iter_batches(batch_size=_PARQUET_BATCH):
            for record in batch.to_pylist():
                row += 1
                yield row, record
