"""Evaluate a filter over one segment's columns to a document mask.

Two-valued logic: a test on a missing value is false (``!=`` and ``not in`` too: ``year != 2020``
keeps only documents that have a year), and ``not`` negates plainly, so ``not (year == 2020)``
keeps documents without a year. A multi-valued keyword passes a test when any value passes it;
``tags != "x"`` is ``tags exists and not (tags == "x")``: documents with tags, none of them ``x``.

Values meet fields by type: keyword fields take strings, date fields ISO 8601 strings, integer and
float fields numbers (an integer field compared with ``2020.5`` is compared exactly, not rounded),
boolean fields ``true``/``false`` with ``==``, ``!=``, ``in`` and ``not in`` only.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from winnow.errors import FilterError
from winnow.filters.expression import And, Compare, Exists, Filter, In, Literal, Not, Or
from winnow.filters.fields import INT64_MAX, INT64_MIN, FieldValueError, parse_date


def evaluate(f: Filter, column: Callable[[str], object], n: int) -> np.ndarray:
    """The ``bool`` mask (length ``n``, a new array) of the documents ``f`` keeps.

    ``column(name)`` returns a field's column (see :mod:`winnow.index.columns`): ``kind``,
    ``present()``, ``compare(op, stored)`` and ``isin(stored values)``, each a new array.
    """
    if isinstance(f, (And, Or)):
        out = evaluate(f.filters[0], column, n)
        for g in f.filters[1:]:
            if isinstance(f, And):
                out &= evaluate(g, column, n)
            else:
                out |= evaluate(g, column, n)
        return out
    if isinstance(f, Not):
        return np.logical_not(evaluate(f.filter, column, n))
    if isinstance(f, Exists):
        return column(f.field).present()
    if isinstance(f, Compare):
        col = column(f.field)
        if f.op == "!=":
            return _absent_from(col, _compare(col, f.field, "==", f.value))
        return _compare(col, f.field, f.op, f.value)
    if isinstance(f, In):
        col = column(f.field)
        stored = [v for v in (_stored(col.kind, f.field, lit) for lit in f.values) if v is not None]
        hits = col.isin(stored) if stored else np.zeros(n, bool)
        return _absent_from(col, hits) if f.negated else hits
    raise FilterError(f"not a filter: {f!r}")


def _absent_from(col, hits: np.ndarray) -> np.ndarray:
    """Documents with a value that ``hits`` does not mark."""
    np.logical_not(hits, out=hits)
    hits &= col.present()
    return hits


def _compare(col, field: str, op: str, lit: Literal) -> np.ndarray:
    if col.kind == "boolean" and op != "==":
        raise FilterError(f"field {field!r} is boolean: use ==, !=, in or not in, not {op}")
    if col.kind == "integer":
        _check(lit, ("integer", "float"), col.kind, field)
        test = _integer_test(op, lit.value)
        if isinstance(test, bool):
            return col.present() if test else np.zeros(col.n, bool)
        return col.compare(*test)
    return col.compare(op, _stored(col.kind, field, lit))


def _stored(kind: str, field: str, lit: Literal):
    """A literal in a column's stored form (``None`` for a number no integer equals)."""
    if kind == "keyword":
        _check(lit, ("string",), kind, field)
        return lit.value
    if kind == "boolean":
        _check(lit, ("boolean",), kind, field)
        return int(lit.value)
    if kind == "date":
        _check(lit, ("string",), kind, field)
        try:
            return parse_date(lit.value)
        except FieldValueError as exc:
            raise FilterError(f"field {field!r} is a date: {exc}") from None
    _check(lit, ("integer", "float"), kind, field)
    if kind == "float":
        try:
            return float(lit.value)
        except OverflowError:  # an integer literal beyond float range
            return math.inf if lit.value > 0 else -math.inf
    value = lit.value
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    return value if INT64_MIN <= value <= INT64_MAX else None


def _integer_test(op: str, x: int | float) -> tuple[str, int] | bool:
    """``(op, bound)`` with an int64 bound equivalent to ``value op x`` over integers, or a
    constant: ``True`` (every present value passes) or ``False`` (none does)."""
    if isinstance(x, float):
        if x.is_integer():
            x = int(x)
        elif op == "==":
            return False
        elif op in ("<", "<="):
            op, x = "<=", math.floor(x)
        else:
            op, x = ">=", math.ceil(x)
    if x > INT64_MAX:
        return op in ("<", "<=")
    if x < INT64_MIN:
        return op in (">", ">=")
    return op, x


_WORDS = {"string": "a string", "integer": "an integer", "float": "a number", "boolean": "a boolean"}
_TAKES = {"keyword": "strings", "date": "ISO 8601 dates (strings such as 2021-06-01)",
          "integer": "numbers", "float": "numbers", "boolean": "true or false"}


def _check(lit: Literal, kinds: tuple[str, ...], field_kind: str, field: str) -> None:
    if lit.kind not in kinds:
        raise FilterError(f"field {field!r} is {field_kind} and takes {_TAKES[field_kind]}; "
                          f"{lit.value!r} is {_WORDS[lit.kind]}")
