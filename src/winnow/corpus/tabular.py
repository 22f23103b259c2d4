"""Corpus files in common record formats: JSON Lines, CSV, TSV and Parquet.

All formats stream: JSON Lines and CSV/TSV one line at a time, Parquet one
record batch at a time. A record's id, text and title come from named fields;
every other field is kept in :attr:`Document.metadata`.

Example:
    >>> docs = read_records("docs.csv", id_field="docid", title_field=None)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
from collections import deque
from pathlib import Path
from typing import Iterator, Mapping

from winnow.corpus.records import BadRecords, Fields, binary_lines, check_file, decode_line, documents, json_records
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
    field_types: Mapping[str, str] | None = None,
) -> Iterator[Document]:
    """Stream the documents of a JSON Lines, CSV, TSV or Parquet file.

    The format comes from the extension (``.jsonl`` and ``.json`` are read as
    JSON Lines) unless ``fmt`` names it; a further ``.gz`` (``docs.jsonl.gz``) is
    decompressed as the file is read. CSV and TSV files need a header row
    naming the fields, except a two-column TSV whose first row names neither
    field, read as ``id<TAB>text`` rows (MS MARCO's ``collection.tsv``); they
    follow the :mod:`csv` module's quoting rules (fields may be double-quoted,
    as pandas writes them); their values are strings. With ``skip_bad``, a bad
    row (a stray quote, say) is skipped alone: parsing resumes on its next line.
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
        field_types: Declared metadata field types (``{"year": "integer"}``, see
            :mod:`winnow.filters.fields`): a record whose value does not fit is a bad record.

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
    return documents(records, path, fields, bad, field_types)


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
        if not corpus.is_file() and (path / "corpus.jsonl.gz").is_file():
            corpus = path / "corpus.jsonl.gz"
        if not corpus.is_file():
            raise InputError("folder has no corpus.jsonl; pass a BEIR dataset folder or a corpus file", str(path))
        path = corpus
    return read_records(path, **fields)


def _format(path: Path, fmt: str | None) -> str:
    """The record format: ``fmt``, else the extension (``docs.jsonl``, ``docs.jsonl.gz``...)."""
    suffixes = [x.lower().lstrip(".") for x in path.suffixes[-2:]]
    gz = bool(suffixes) and suffixes[-1] == "gz"
    name = fmt if fmt is not None else (suffixes[-2] if gz and len(suffixes) == 2 else (suffixes or [""])[-1])
    if name not in FORMATS or (gz and name == "parquet"):
        given = f"format {fmt!r}" if fmt is not None else f"extension {''.join(path.suffixes[-2:]) or '(none)'!r}"
        raise InputError(f"unknown corpus {given}: name the file *.jsonl, *.json, *.csv, *.tsv or *.parquet "
                         "(the text formats may be gzipped: *.jsonl.gz...)", str(path))
    return name


class _Lines:
    """The decoded lines of a CSV/TSV file for :mod:`csv`, with the numbers of those one record used.

    After a bad record, the lines after its first one are read again (:meth:`replay`): a stray
    quote must not swallow the rest of the file into one field.
    """

    def __init__(self, path: Path, undecodable: dict[int, InputError]):
        self.path, self.undecodable = path, undecodable
        self._file = binary_lines(path)
        self._pending: deque = deque()
        self._read = 0
        self.window: list[tuple[int, str]] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self._pending:
            number, text = self._pending.popleft()
        else:
            number, raw = next(self._file)  # StopIteration at the end, again after a replay
            self._read = number
            try:
                text = decode_line(raw, str(self.path), number)
            except InputError as exc:  # replaced so the rows around it still parse; its row is reported
                self.undecodable[number] = exc
                text = raw.decode("utf-8", "replace")
        self.window.append((number, text))
        return text

    def replay(self) -> bool:
        """Read the current record's lines after its first one again; whether there were any."""
        window, self.window = self.window, []
        self._pending.extendleft(reversed(window[1:]))
        return len(window) > 1


def _csv_records(path: Path, fields: Fields, delimiter: str, bad: BadRecords) -> Iterator[tuple[int, dict]]:
    undecodable: dict[int, InputError] = {}
    lines = _Lines(path, undecodable)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    header, first = _header(reader, path, fields, undecodable, delimiter)
    if first is not None:
        yield 1, first
    while True:
        lines.window = []
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            start = lines.window[0][0] if lines.window else lines._read
            bad.report(InputError(f"malformed row: {exc}", str(path), start))
            lines.replay()
            reader = csv.reader(lines, delimiter=delimiter, strict=True)
            continue
        if not row:
            continue
        start = lines.window[0][0]
        decode_error = next((undecodable[n] for n, _ in lines.window if n in undecodable), None)
        if decode_error is not None:
            bad.report(decode_error)
        elif len(row) != len(header):
            reason = f"expected {len(header)} columns as in the header, found {len(row)}"
            bad.report(InputError(reason, str(path), start))
            if lines.replay():  # a quote opened in this row may have taken the next lines
                reader = csv.reader(lines, delimiter=delimiter, strict=True)
        else:
            yield start, dict(zip(header, row))


def _header(reader, path: Path, fields: Fields, undecodable: dict[int, InputError],
            delimiter: str) -> tuple[list[str], dict | None]:
    """The column names and, for a header-less two-column TSV (``id<TAB>text``, as MS MARCO's
    ``collection.tsv``), the first record."""
    try:
        header = next((row for row in reader if row), None)
    except csv.Error as exc:
        raise InputError(f"malformed header row: {exc}", str(path), reader.line_num) from None
    if header is None:
        raise InputError("empty corpus: no header row", str(path))
    if undecodable:
        raise undecodable[min(undecodable)]
    if delimiter == "\t" and len(header) == 2 and fields.id not in header and fields.text not in header:
        columns = [fields.id, fields.text]
        return columns, dict(zip(columns, header))
    _check_columns(header, fields, str(path), reader.line_num)
    return header, None


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
