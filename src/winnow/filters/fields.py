"""Metadata field types and how a Python value becomes a stored one.

Five types: ``keyword`` (text compared exactly; a list of strings makes a multi-valued keyword
field), ``integer`` (int64), ``float`` (float64), ``boolean`` and ``date``. Dates are ISO 8601
dates or datetimes stored as int64 **microseconds since 1970-01-01T00:00:00 UTC**: a date alone
is midnight UTC, a datetime without an offset is read as UTC, one with an offset is converted.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Iterable, Mapping

from winnow.errors import InputError

FIELD_TYPES = ("keyword", "integer", "float", "boolean", "date")
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

# YYYY-MM-DD, optionally THH:MM[:SS[.ffffff]] and Z or +HH:MM (a space may stand for the T)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MICRO = dt.timedelta(microseconds=1)


class FieldValueError(ValueError):
    """A value that does not fit a field's type; the message says what was expected."""


def parse_date(text: str) -> int:
    """Microseconds since the Unix epoch (UTC) of an ISO 8601 date or datetime.

    Raises:
        FieldValueError: ``text`` is not a valid ISO 8601 date (``2021-06-01``) or datetime
            (``2021-06-01T12:30:00Z``).
    """
    if not ISO_DATE.fullmatch(text):
        raise FieldValueError(f"{text!r} is not an ISO 8601 date such as 2021-06-01 or 2021-06-01T12:30:00Z")
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise FieldValueError(f"{text!r} is not a valid date ({exc})") from exc
    return date_micros(moment)


def date_micros(moment: dt.date) -> int:
    """Microseconds since the Unix epoch (UTC) of a ``date`` (midnight UTC) or ``datetime``."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return (moment - _EPOCH) // _MICRO


def infer_type(value: object) -> str | None:
    """The field type a metadata value suggests (``None`` for a value no type holds).

    A string that is an ISO 8601 date (:data:`ISO_DATE`) suggests ``date``; a list of strings
    suggests a (multi-valued) ``keyword``.
    """
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, str):
        return "date" if ISO_DATE.fullmatch(value) else "keyword"
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return "keyword"
    return None


def to_stored(value: object, kind: str) -> int | float | str:
    """The stored form of one scalar metadata value in a field of type ``kind``.

    Integers are int64, floats finite float64 (an int is accepted), booleans 0/1, dates
    microseconds (:func:`parse_date`), keywords the string itself.

    Raises:
        FieldValueError: the value does not fit the type.
    """
    if kind == "keyword":
        if isinstance(value, str):
            return value
    elif kind == "boolean":
        if isinstance(value, bool):
            return int(value)
    elif kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            if not INT64_MIN <= value <= INT64_MAX:
                raise FieldValueError(f"{value} does not fit in a 64-bit integer")
            return value
    elif kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
            if not math.isfinite(number):
                raise FieldValueError(f"{value!r} is not a finite number (use null for a missing value)")
            return number
    elif kind == "date":
        if isinstance(value, str):
            return parse_date(value)
        if isinstance(value, dt.date):
            return date_micros(value)
    raise FieldValueError(f"{value!r} ({describe(value)}) is not of type {kind}")


def from_text(text: str, kind: str) -> int | float | bool:
    """The number or boolean a CSV/TSV cell spells, for a field declared ``integer``, ``float`` or
    ``boolean`` (``2020``, ``-1.5e3``, ``true``/``false``, any case).

    Raises:
        FieldValueError: the text does not spell a value of the type.
    """
    word = text.strip()
    try:
        if kind == "integer":
            return int(word)
        if kind == "float":
            return float(word)
    except ValueError:
        pass
    if kind == "boolean" and word.lower() in ("true", "false"):
        return word.lower() == "true"
    raise FieldValueError(f"{text!r} does not spell {'an' if kind == 'integer' else 'a'} {kind}")


def declared_value(field: str, value: object, kind: str, doc: str) -> int | float | str | list[str] | None:
    """The stored form of ``value`` in ``field``, declared ``kind``, of the document ``doc`` (its
    description for messages, e.g. ``"document 'd7'"``): :func:`to_stored`, except that a keyword
    field also takes a list of strings (returned as a list) and an integer, float or boolean field
    also takes text that spells one (:func:`from_text`: CSV and TSV cells are text). Blank text
    in a field of another type than keyword is a missing value (an empty CSV cell): ``None``.

    Raises:
        FieldValueError: the value does not fit the type; the message names the document, the
            field and the value.
    """
    if isinstance(value, str) and kind != "keyword" and not value.strip():
        return None
    try:
        if kind == "keyword" and isinstance(value, (list, tuple)):
            if not all(isinstance(v, str) for v in value):
                raise FieldValueError(f"a keyword list holds strings only, found {value!r}")
            return list(value)
        if isinstance(value, str) and kind in ("integer", "float", "boolean"):
            value = from_text(value, kind)
        return to_stored(value, kind)
    except FieldValueError as exc:
        raise FieldValueError(f"metadata field {field!r} of {doc}: {exc} (the field is declared {kind})") from None


def check_metadata(metadata: Mapping[str, object], fields: Mapping[str, str], doc: str) -> None:
    """Check that each value of a declared field in one document's metadata fits its type
    (``None``, a missing value, always does).

    Raises:
        FieldValueError: as :func:`declared_value`.
    """
    for name, kind in fields.items():
        value = metadata.get(name)
        if value is not None:
            declared_value(name, value, kind, doc)


def check_declared(fields: Mapping[str, str]) -> dict[str, str]:
    """``fields`` as a dict, after checking each name is a non-empty string and each type one of
    :data:`FIELD_TYPES`.

    Raises:
        InputError: a bad name or an unknown type.
    """
    if not isinstance(fields, Mapping):
        raise InputError(f"declared fields are a mapping of name to type, not {type(fields).__name__}")
    for name, kind in fields.items():
        if not isinstance(name, str) or not name:
            raise InputError(f"field names must be non-empty strings, not {name!r}")
        if kind not in FIELD_TYPES:
            raise InputError(f"field {name!r}: unknown type {kind!r}; use one of {', '.join(FIELD_TYPES)}")
    return dict(fields)


def parse_declarations(specs: Iterable[str]) -> dict[str, str]:
    """``{name: type}`` from ``NAME=TYPE`` texts such as ``year=integer`` (the command line's
    ``--field``); the name is everything before the last ``=``.

    Raises:
        InputError: a text without ``=``, a name given twice, or an unknown type.
    """
    fields: dict[str, str] = {}
    for spec in specs:
        name, eq, kind = spec.rpartition("=")
        if not eq or not name.strip():
            raise InputError(f"{spec!r}: declare a field as NAME=TYPE, e.g. year=integer "
                                  f"(types: {', '.join(FIELD_TYPES)})")
        name, kind = name.strip(), kind.strip().lower()
        if name in fields:
            raise InputError(f"field {name!r} is declared twice ({fields[name]} and {kind})")
        fields[name] = kind
    return check_declared(fields)


def describe(value: object) -> str:
    """A value's kind in words, for error messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a date" if ISO_DATE.fullmatch(value) else "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"
