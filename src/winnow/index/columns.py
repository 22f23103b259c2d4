"""Typed metadata columns of one segment, memory-mapped, that a filter turns into a document mask.

One column per field, in ``.npy`` files named ``col-<i>.<role>.npy`` beside the segment's postings:

=========  =========================================================================================
type       files (``n`` = documents in the segment)
=========  =========================================================================================
integer    ``values`` int64 (n), ``present`` bitmap
float      ``values`` float64 (n), ``present`` bitmap
date       ``values`` int64 (n) microseconds since 1970-01-01T00:00:00 UTC, ``present`` bitmap
boolean    ``values`` uint8 (n) 0/1, ``present`` bitmap
keyword    ``dict`` uint8 (UTF-8 of the sorted unique values, concatenated) and ``offsets`` int64
           (values + 1); then ``codes`` int32 (n), -1 where missing, or, for a multi-valued field
           (a list such as tags), ``indptr`` int64 (n + 1) and ``codes`` int32, an empty row where
           missing
=========  =========================================================================================

A ``present`` bitmap holds bit ``d % 8`` of byte ``d // 8`` (``np.packbits(..., bitorder="little")``)
set when document ``d`` has a value; a missing value is stored as 0. Keyword codes index the sorted
dictionary, so equality and ``in`` are integer compares and a range over strings (code point order)
is a range of codes.

Types are declared (``fields={"year": "integer"}``) or inferred from the first value seen (see
:class:`ColumnsWriter`). The schema :meth:`ColumnsWriter.close` returns goes into the index's
commit; :class:`Columns` opens the files it names and checks them structurally, so no damaged file
makes a filter read out of bounds.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from functools import cached_property
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from winnow.errors import FilterError, IndexFormatError, InputError
from winnow.filters.fields import (FIELD_TYPES, INT64_MAX, INT64_MIN, FieldValueError, check_declared, declared_value,
                                   describe, infer_type, to_stored)

COLUMNS_VERSION = 1
_DTYPES = {"integer": np.int64, "float": np.float64, "date": np.int64, "boolean": np.uint8}
_ROLES = {"keyword": ("dict", "offsets", "codes"), "keyword+multi": ("dict", "offsets", "indptr", "codes"),
          **{kind: ("values", "present") for kind in _DTYPES}}
_FEW_CODES = 4  # keyword "in" lists up to this long compare codes one by one (measured faster than a table)
_BUFFER_CODES = {"integer": "q", "date": "q", "float": "d", "boolean": "B", "keyword": "i"}
_FILE_NAME = re.compile(r"col-\d+\.[a-z]+\.npy")
_COMPARE = {"==": np.equal, "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


class _Buffer:
    """One field's values as documents arrive: parallel arrays of document numbers and values."""

    def __init__(self, kind: str, first: str):
        self.kind, self.first, self.multi = kind, first, False
        self.docs = array("q")
        self.values = array(_BUFFER_CODES[kind])  # stored scalars, or provisional keyword codes
        self.codes: dict[str, int] = {}  # keyword -> provisional code (first-seen order)

    def widen(self) -> None:
        """An integer field becomes a float field."""
        self.kind, self.values = "float", array("d", self.values)

    def fast(self, docno: int, value) -> bool:
        """Record a value of the exact Python type the field takes (the common case); ``False``
        leaves any other value to the writer's checks and conversions."""
        kind, t = self.kind, type(value)
        if kind == "keyword":
            if t is str or (t is list and all(type(v) is str for v in value)):
                self.add(docno, value)
                return True
            return False
        if not ((kind == "integer" and t is int and INT64_MIN <= value <= INT64_MAX)
                or (kind == "float" and t is float and value - value == 0.0)  # finite
                or (kind == "boolean" and t is bool)):
            return False  # dates are parsed by the writer
        self.docs.append(docno)
        self.values.append(value)
        return True

    def add(self, docno: int, value) -> None:
        """Record a stored scalar, or a keyword or list of keywords."""
        if self.kind != "keyword":
            self.docs.append(docno)
            self.values.append(value)
            return
        if isinstance(value, (list, tuple)):
            self.multi = True
            value = dict.fromkeys(value)  # each value once per document, in order
        else:
            value = (value,)
        codes = self.codes
        for v in value:
            self.docs.append(docno)
            self.values.append(codes.setdefault(v, len(codes)))


class ColumnsWriter:
    """Writes one segment's metadata columns, one :meth:`add` per document in document order.

    Args:
        folder: the segment folder (files ``col-*.npy`` are written there by :meth:`close`).
        fields: ``{name: type}`` with types from ``keyword integer float boolean date``: only
            these fields are stored, and a value that does not fit raises :class:`InputError`
            (text spelling a number or boolean fits: CSV and TSV cells are text).
            Blank text is a missing value in a declared field of another type than keyword.
            ``None`` infers every field's type from its first non-null value: ``bool`` boolean,
            ``int`` integer (widened to float if a float comes later), ``float`` float, an ISO
            8601 date string (``2021-06-01``, ``2021-06-01T12:30:00Z``) date, another string or a
            list of strings keyword. A later value of another type raises :class:`InputError`
            naming the document and the field; a field holding objects or lists of non-strings
            is not filterable and is listed under ``unfilterable`` in the schema.
        known: with ``fields=None``, the types of the fields the index already holds
            (:func:`field_types` of its segments' schemas): inference starts from them, so a
            new segment never gives a field another type than earlier ones did.

    ``null`` (``None``) and an empty list are a missing value.
    """

    def __init__(self, folder: Path, fields: Mapping[str, str] | None = None, known: Mapping[str, str] | None = None):
        self.folder = Path(folder)
        self._declared = None if fields is None else dict(fields)
        self._buffers: dict[str, _Buffer] = {}
        self._unfilterable: dict[str, str] = {}
        self._n = 0
        start = self._declared if fields is not None else dict(known or {})
        first = "the declared fields" if fields is not None else "earlier segments of the index"
        for name, kind in check_declared(start).items():
            self._buffers[name] = _Buffer(kind, first)

    def add(self, metadata: Mapping[str, object], doc_id: str | None = None) -> None:
        """Record one document's metadata (``doc_id`` names it in error messages)."""
        docno, buffers = self._n, self._buffers
        for name, value in metadata.items():
            buf = buffers.get(name)
            if buf is None or not buf.fast(docno, value):
                self._add(name, value, docno, doc_id)
        self._n += 1

    def _add(self, name, value, docno: int, doc_id: str | None) -> None:
        doc = f"document {doc_id!r}" if doc_id is not None else f"document number {docno}"
        if not isinstance(name, str) or not name:
            raise InputError(f"{doc}: metadata field names must be non-empty strings, not {name!r}")
        if value is None or name in self._unfilterable:
            return
        if self._declared is not None:
            if name in self._declared:
                self._add_declared(name, value, docno, doc)
        else:
            self._add_inferred(name, value, docno, doc)

    def _add_declared(self, name: str, value, docno: int, doc: str) -> None:
        buf = self._buffers[name]
        try:
            stored = declared_value(name, value, buf.kind, doc)
        except FieldValueError as exc:
            raise InputError(str(exc)) from None
        if stored is not None:
            buf.add(docno, stored)

    def _add_inferred(self, name: str, value, docno: int, doc: str) -> None:
        kind = infer_type(value)
        if kind is None:
            self._unfilterable[name] = f"{doc} has {describe(value)}; filters take scalars and lists of strings"
            self._buffers.pop(name, None)
            return
        buf = self._buffers.get(name)
        if buf is None:
            buf = self._buffers[name] = _Buffer(kind, doc)
        elif buf.kind == "integer" and kind == "float":
            buf.widen()
        elif not (buf.kind == kind or (buf.kind, kind) in (("float", "integer"), ("keyword", "date"))):
            advice = (f"declare it a keyword (fields={{{name!r}: 'keyword'}}) or fix the document"
                      if {buf.kind, kind} <= {"keyword", "date"} else "a field holds one type: fix the document")
            raise InputError(f"metadata field {name!r} holds {buf.kind} values (first in {buf.first}) but {doc} "
                             f"has {value!r}, {describe(value)}; {advice}")
        if kind == "keyword":
            buf.add(docno, value)
            return
        try:
            buf.add(docno, to_stored(value, buf.kind))
        except FieldValueError as exc:
            raise InputError(f"metadata field {name!r} of {doc}: {exc}") from None

    def close(self) -> dict:
        """Write the columns; returns the schema (for the index's commit) with the file names."""
        n = self._n
        columns = []
        for name, buf in self._buffers.items():
            arrays = _keyword_arrays(buf, n, name) if buf.kind == "keyword" else _scalar_arrays(buf, n)
            columns.append((name, buf.kind, buf.multi, len(buf.codes), arrays))
        self._buffers.clear()
        return _write(self.folder, n, columns, self._unfilterable)


def _write(folder: Path, n: int, columns: list[tuple[str, str, bool, int, dict]], unfilterable: Mapping) -> dict:
    """Save ``(name, type, multi, distinct keywords, {role: array})`` columns; return the schema."""
    fields, files = {}, []
    for i, (name, kind, multi, n_values, arrays) in enumerate(columns):
        spec = {"type": kind, **({"multi": multi, "values": n_values} if kind == "keyword" else {}), "files": {}}
        for role, data in arrays.items():
            spec["files"][role] = f"col-{i}.{role}.npy"
            np.save(folder / spec["files"][role], data)
            files.append(spec["files"][role])
        fields[name] = spec
    return {"version": COLUMNS_VERSION, "n_docs": n, "fields": fields, "unfilterable": dict(unfilterable),
            "files": files}


def field_types(schemas: Iterable[Mapping | None]) -> dict[str, str]:
    """``{field: type}`` over the schemas of an index's segments (``float`` where segments
    disagree between integer and float)."""
    types: dict[str, str] = {}
    for schema in schemas:
        for name, spec in ((schema or {}).get("fields") or {}).items():
            kind = spec.get("type") if isinstance(spec, Mapping) else None
            if kind in FIELD_TYPES:
                types[name] = "float" if {types.get(name), kind} == {"integer", "float"} else types.get(name, kind)
    return types


def merge_columns(folder: Path, parts: list[tuple["Columns", np.ndarray]]) -> dict:
    """Write the columns of the documents ``alive`` (a bool mask) keeps in each part, in order, as
    one segment's columns in ``folder``; return its schema.

    Raises:
        IndexFormatError: a field has incompatible types in two parts.
    """
    n = sum(int(np.count_nonzero(alive)) for _, alive in parts)
    kinds: dict[str, str] = {}
    for cols, _ in parts:
        for name, kind in cols.types.items():
            old = kinds.setdefault(name, kind)
            if old != kind and {old, kind} != {"integer", "float"}:
                raise IndexFormatError(f"field {name!r} is {old} in one segment and {kind} in another; rebuild the "
                                       f"index with its type declared")
            kinds[name] = "float" if old != kind else kind
    columns = []
    for name, kind in kinds.items():
        present = [cols.columns.get(name) for cols, _ in parts]
        if kind == "keyword":
            columns.append((name, kind, *_merged_keywords(present, parts, n)))
            continue
        values = np.zeros(n, _DTYPES[kind])
        have = np.zeros(n, bool)
        at = 0
        for col, (_, alive) in zip(present, parts):
            m = int(np.count_nonzero(alive))
            if col is not None:
                values[at:at + m] = col.values[alive]
                have[at:at + m] = col.present()[alive]
            at += m
        columns.append((name, kind, False, 0, {"values": values, "present": np.packbits(have, bitorder="little")}))
    unfilterable = {k: v for cols, _ in parts for k, v in cols.unfilterable.items() if k not in kinds}
    return _write(Path(folder), n, columns, unfilterable)


def _merged_keywords(present: list, parts: list, n: int) -> tuple[bool, int, dict]:
    """(multi, distinct values, arrays) of one keyword field over the parts' live documents."""
    words = sorted(set().union(*(col.words for col in present if col is not None)))
    index = {w: i for i, w in enumerate(words)}
    multi = any(col is not None and col.multi for col in present)
    lengths, codes = [], []  # per part: values per live document, and their codes (-1: missing, single-valued)
    for col, (_, alive) in zip(present, parts):
        m = int(np.count_nonzero(alive))
        if col is None:
            lengths.append(np.zeros(m, np.int64))
            codes.append(np.full(0 if multi else m, -1, np.int32))
        elif col.multi:
            row_len = np.diff(col.indptr)
            lengths.append(row_len[alive])
            codes.append(np.array([index[w] for w in col.words], np.int32)[col.codes[np.repeat(alive, row_len)]])
        else:
            mine = np.array([index[w] for w in col.words] + [-1], np.int32)[col.codes[alive]]  # -1 reads the last
            lengths.append((mine >= 0).astype(np.int64))
            codes.append(mine[mine >= 0] if multi else mine)
    encoded = [w.encode("utf-8") for w in words]
    offsets = np.zeros(len(words) + 1, np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    arrays = {"dict": np.frombuffer(b"".join(encoded), dtype=np.uint8), "offsets": offsets}
    if multi:
        indptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.concatenate(lengths), out=indptr[1:])
        arrays["indptr"] = indptr
    arrays["codes"] = np.concatenate(codes).astype(np.int32)
    return multi, len(words), arrays


def _scalar_arrays(buf: _Buffer, n: int) -> dict[str, np.ndarray]:
    docs = np.frombuffer(buf.docs, dtype=np.int64)
    values = np.zeros(n, _DTYPES[buf.kind])
    values[docs] = np.frombuffer(buf.values, dtype=_DTYPES[buf.kind])
    present = np.zeros(n, bool)
    present[docs] = True
    return {"values": values, "present": np.packbits(present, bitorder="little")}


def _keyword_arrays(buf: _Buffer, n: int, name: str) -> dict[str, np.ndarray]:
    words = list(buf.codes)
    order = sorted(range(len(words)), key=words.__getitem__)
    final = np.empty(len(words), np.int32)
    final[order] = np.arange(len(words), dtype=np.int32)
    try:
        encoded = [words[i].encode("utf-8") for i in order]
    except UnicodeEncodeError as exc:
        raise InputError(f"metadata field {name!r}: a value is not valid Unicode ({exc})") from None
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    out = {"dict": np.frombuffer(b"".join(encoded), dtype=np.uint8), "offsets": offsets}
    docs = np.frombuffer(buf.docs, dtype=np.int64)
    codes = final[np.frombuffer(buf.values, dtype=np.int32)]
    if buf.multi:
        indptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(docs, minlength=n), out=indptr[1:])
        out.update(indptr=indptr, codes=codes)
    else:
        column = np.full(n, -1, np.int32)
        column[docs] = codes
        out["codes"] = column
    return out


class Columns:
    """The metadata columns of one segment, opened from the schema :meth:`ColumnsWriter.close` gave.

    Args:
        folder: the segment folder.
        schema: the schema recorded in the index's commit.

    Raises:
        IndexFormatError: the schema or a file is damaged (wrong size, dtype, offsets or codes).
    """

    def __init__(self, folder: Path, schema: Mapping):
        self.folder = Path(folder)
        self.schema = schema
        try:
            self.n_docs = int(schema["n_docs"])
            specs = dict(schema["fields"])
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexFormatError(f"{self.folder}: damaged column schema ({exc!r})") from None
        if self.n_docs < 0 or schema.get("version") != COLUMNS_VERSION:
            raise IndexFormatError(f"{self.folder}: column schema version {schema.get('version')!r} or n_docs "
                                   f"{self.n_docs} is not supported; rebuild the index")
        self.columns = {name: _open_column(self.folder, name, spec, self.n_docs) for name, spec in specs.items()}
        self.unfilterable = dict(schema.get("unfilterable") or {})

    @property
    def types(self) -> dict[str, str]:
        """``{field: type}``, the form :class:`ColumnsWriter` takes as ``fields``."""
        return {name: col.kind for name, col in self.columns.items()}

    def mask(self, filter, fields: Mapping[str, str] | None = None) -> np.ndarray:
        """The documents ``filter`` (a :class:`~winnow.filters.Filter`, text or JSON form) keeps.

        Args:
            filter: the filter.
            fields: the whole index's ``{field: type}`` when it has fields this segment lacks
                (they are missing in every document here).

        Returns:
            A new ``bool`` array of length :attr:`n_docs`, evaluated afresh (searchers keep the
            masks of repeated filters: :class:`~winnow.filters.cache.MaskCache`).

        Raises:
            FilterError: the filter names an unknown field or compares a field with a value
                of another type.
        """
        from winnow.filters import parse_filter
        from winnow.filters.evaluate import evaluate

        return evaluate(parse_filter(filter), lambda name: self.column(name, fields), self.n_docs)

    def column(self, name: str, fields: Mapping[str, str] | None = None):
        """The column of ``name`` (an all-missing one for a field only ``fields`` knows)."""
        col = self.columns.get(name)
        if col is not None:
            return col
        known = dict(fields or {})
        known.update(self.types)
        if name in known:
            return Absent(known[name], self.n_docs)
        if name in self.unfilterable:
            raise FilterError(f"field {name!r} cannot be filtered on: {self.unfilterable[name]}")
        import difflib

        close = difflib.get_close_matches(name, list(known), n=1)
        listed = ", ".join(f"{f} ({t})" for f, t in sorted(known.items())) or "none"
        raise FilterError(f"unknown field {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "") +
                          f"; the index has metadata fields: {listed}")


def _load(folder: Path, field: str, spec: Mapping, role: str, dtype, length: int | None) -> np.ndarray:
    name = spec["files"][role]
    if not isinstance(name, str) or not _FILE_NAME.fullmatch(name):
        raise IndexFormatError(f"{folder}: field {field!r}: bad column file name {name!r}; the index is damaged")
    path = folder / name
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # a damaged .npy header: numpy raises ValueError, SyntaxError, TokenError, ...
        if isinstance(exc, MemoryError):
            raise
        raise IndexFormatError(f"{path}: cannot read column of field {field!r} ({exc}); the index is damaged, "
                               f"rebuild it") from None
    if data.dtype != np.dtype(dtype) or data.ndim != 1 or (length is not None and len(data) != length):
        raise IndexFormatError(f"{path}: expected {np.dtype(dtype)} of length {length}, found {data.dtype} of "
                               f"shape {data.shape}; the index is damaged, rebuild it")
    return np.asarray(data)


def _open_column(folder: Path, name: str, spec: Mapping, n: int):
    try:
        kind = spec["type"]
        multi = kind == "keyword" and spec["multi"] is True
        role_set = _ROLES[kind + "+multi" if multi else kind]
        if set(spec["files"]) != set(role_set):
            raise KeyError("files")
        n_values = int(spec["values"]) if kind == "keyword" else 0
    except (KeyError, TypeError, ValueError):
        raise IndexFormatError(f"{folder}: damaged column schema for field {name!r}: {str(spec)[:200]}") from None

    def load(role, dtype, length):
        return _load(folder, name, spec, role, dtype, length)

    if kind != "keyword":
        col = Scalar(kind, n, load("values", _DTYPES[kind], n), load("present", np.uint8, (n + 7) // 8))
        if kind == "boolean" and n and col.values.max() > 1:
            raise IndexFormatError(f"{folder}: boolean column {name!r} holds values other than 0 and 1; damaged")
        return col
    blob, offsets = load("dict", np.uint8, None), load("offsets", np.int64, n_values + 1)
    if offsets[0] != 0 or offsets[-1] != len(blob) or np.any(np.diff(offsets) < 0):
        raise IndexFormatError(f"{folder}: dictionary offsets of field {name!r} are damaged; rebuild the index")
    if multi:
        indptr = load("indptr", np.int64, n + 1)
        codes = load("codes", np.int32, None)
        if indptr[0] != 0 or indptr[-1] != len(codes) or np.any(np.diff(indptr) < 0):
            raise IndexFormatError(f"{folder}: row pointers of field {name!r} are damaged; rebuild the index")
        lowest = 0
    else:
        indptr, codes, lowest = None, load("codes", np.int32, n), -1
    if len(codes) and (codes.min() < lowest or codes.max() >= n_values):
        raise IndexFormatError(f"{folder}: codes of field {name!r} fall outside its {n_values} values; damaged")
    return Keyword(name, n, blob, offsets, codes, indptr)


class Scalar:
    """An integer, float, date or boolean column: values plus a present bitmap."""

    def __init__(self, kind: str, n: int, values: np.ndarray, bitmap: np.ndarray):
        self.kind, self.n, self.values, self._bitmap = kind, n, values, bitmap

    @cached_property
    def _present(self) -> np.ndarray:
        return np.unpackbits(self._bitmap, count=self.n, bitorder="little").view(bool)

    @cached_property
    def _complete(self) -> bool:
        return bool(self._present.all())

    def present(self) -> np.ndarray:
        return self._present.copy()

    def compare(self, op: str, value) -> np.ndarray:
        """``value op`` in stored form (``op`` one of ``== < <= > >=``), false where missing."""
        return self._known(_COMPARE[op](self.values, value))

    def isin(self, values: list) -> np.ndarray:
        stored = np.array(values, dtype=self.values.dtype)
        if len(stored) == 1:
            return self.compare("==", stored[0])
        return self._known(np.isin(self.values, stored))

    def _known(self, mask: np.ndarray) -> np.ndarray:
        if not self._complete:
            mask &= self._present
        return mask


class Keyword:
    """A keyword column: sorted dictionary plus codes (one per document, or a row per document)."""

    kind = "keyword"

    def __init__(self, name: str, n: int, blob: np.ndarray, offsets: np.ndarray, codes: np.ndarray,
                 indptr: np.ndarray | None):
        self.name, self.n, self._blob, self._offsets = name, n, blob, offsets
        self.codes, self.indptr = codes, indptr
        self.multi = indptr is not None

    @cached_property
    def words(self) -> list[str]:
        """The dictionary, decoded and checked once (strictly increasing, valid UTF-8)."""
        data, bounds = self._blob.tobytes(), self._offsets.tolist()
        try:
            words = [data[a:b].decode("utf-8") for a, b in zip(bounds, bounds[1:])]
        except UnicodeDecodeError:
            raise IndexFormatError(f"dictionary of field {self.name!r} is not valid UTF-8; the index is damaged") \
                from None
        if any(a >= b for a, b in zip(words, words[1:])):
            raise IndexFormatError(f"dictionary of field {self.name!r} is out of order; the index is damaged")
        return words

    def present(self) -> np.ndarray:
        return np.diff(self.indptr) > 0 if self.multi else self.codes >= 0

    def compare(self, op: str, value: str) -> np.ndarray:
        """Documents with a value ``op value`` (code point order for ``< <= > >=``)."""
        words = self.words
        lo, hi = {"==": (bisect_left(words, value), bisect_right(words, value)),
                  "<": (0, bisect_left(words, value)), "<=": (0, bisect_right(words, value)),
                  ">": (bisect_right(words, value), len(words)), ">=": (bisect_left(words, value), len(words))}[op]
        if lo >= hi:
            return np.zeros(self.n, bool)
        hits = self.codes == lo if hi == lo + 1 else (self.codes >= lo) & (self.codes < hi)
        return self._rows(hits)

    def isin(self, values: list[str]) -> np.ndarray:
        words = self.words
        wanted = []
        for v in values:
            at = bisect_left(words, v)
            if at < len(words) and words[at] == v:
                wanted.append(at)
        if len(wanted) <= _FEW_CODES:  # a few compares beat a table lookup per value
            hits = np.zeros(len(self.codes), bool)
            for code in wanted:
                hits |= self.codes == code
            return self._rows(hits)
        table = np.zeros(len(words) + 1, bool)  # the extra last entry is what code -1 (missing) reads
        table[wanted] = True
        return self._rows(table[self.codes])

    @cached_property
    def _row_of(self) -> np.ndarray:
        """The document of each value of a multi-valued column."""
        return np.repeat(np.arange(self.n, dtype=np.int32), np.diff(self.indptr))

    def _rows(self, hits: np.ndarray) -> np.ndarray:
        """Per document: whether any of its values hit."""
        if not self.multi:
            return hits
        out = np.zeros(self.n, bool)
        out[self._row_of[np.flatnonzero(hits)]] = True
        return out


class Absent:
    """A field of the index that this segment has no column for: missing in every document."""

    multi = False

    def __init__(self, kind: str, n: int):
        self.kind, self.n = kind, n

    def present(self) -> np.ndarray:
        return np.zeros(self.n, bool)

    def compare(self, op: str, value) -> np.ndarray:
        return np.zeros(self.n, bool)

    def isin(self, values: Iterable) -> np.ndarray:
        return np.zeros(self.n, bool)
