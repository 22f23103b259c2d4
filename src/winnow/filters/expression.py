"""The filter tree: immutable, hashable nodes (so a mask can be cached per segment and filter).

Leaves test one field: :class:`Compare` (``== != < <= > >=``), :class:`In` (``in`` / ``not in``)
and :class:`Exists`; :class:`And`, :class:`Or` and :class:`Not` combine them. Build trees with
:func:`winnow.filters.parse_filter` from the text grammar or the JSON form; ``str(f)`` gives the
text and ``f.to_json()`` the JSON form, and both parse back to an equal filter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from winnow.errors import FilterError

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
LITERAL_KINDS = ("string", "integer", "float", "boolean")


@dataclass(frozen=True)
class Literal:
    """A constant in a filter. ``kind`` is part of equality, so ``true`` never equals ``1``.

    A string may stand for a keyword or, compared with a date field, an ISO 8601 date.
    """

    kind: str
    value: str | int | float | bool

    @staticmethod
    def of(value: object, where: str = "", position: int | None = None) -> "Literal":
        """The literal of a Python/JSON value: ``str``, ``int``, finite ``float`` or ``bool``."""
        if isinstance(value, bool):
            return Literal("boolean", value)
        if isinstance(value, int):
            return Literal("integer", value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise FilterError(f"{where}numbers must be finite, not {value!r}", position)
            return Literal("float", value)
        if isinstance(value, str):
            return Literal("string", value)
        shown = "null" if value is None else type(value).__name__
        hint = " (test a missing value with 'exists')" if value is None else ""
        raise FilterError(f"{where}a value must be a string, number or boolean, not {shown}{hint}", position)


class Filter:
    """Base class of filter nodes."""

    def to_json(self) -> dict:
        """The JSON form (see :mod:`winnow.filters.json_form`)."""
        from winnow.filters.json_form import to_json

        return to_json(self)

    def __str__(self) -> str:
        from winnow.filters.grammar import to_text

        return to_text(self)

    def fields(self) -> frozenset[str]:
        """The metadata fields the filter reads."""
        raise NotImplementedError


@dataclass(frozen=True)
class Compare(Filter):
    """``field op value``; false where the field is missing (``!=`` too)."""

    field: str
    op: str
    value: Literal

    def fields(self) -> frozenset[str]:
        return frozenset((self.field,))


@dataclass(frozen=True)
class In(Filter):
    """``field in [values]`` (or ``not in`` when ``negated``); false where the field is missing."""

    field: str
    values: tuple[Literal, ...]
    negated: bool = False

    def fields(self) -> frozenset[str]:
        return frozenset((self.field,))


@dataclass(frozen=True)
class Exists(Filter):
    """``field exists``: the document has a value (a multi-valued field: at least one)."""

    field: str

    def fields(self) -> frozenset[str]:
        return frozenset((self.field,))


@dataclass(frozen=True)
class And(Filter):
    """All of ``filters`` (two or more; nested ``And`` are flattened by :func:`all_of`)."""

    filters: tuple[Filter, ...]

    def fields(self) -> frozenset[str]:
        return frozenset().union(*(f.fields() for f in self.filters))


@dataclass(frozen=True)
class Or(Filter):
    """Any of ``filters`` (two or more; nested ``Or`` are flattened by :func:`any_of`)."""

    filters: tuple[Filter, ...]

    def fields(self) -> frozenset[str]:
        return frozenset().union(*(f.fields() for f in self.filters))


@dataclass(frozen=True)
class Not(Filter):
    """The documents ``filter`` rejects, including those where its fields are missing."""

    filter: Filter

    def fields(self) -> frozenset[str]:
        return self.filter.fields()


def all_of(filters: list[Filter]) -> Filter:
    """``And`` of ``filters`` (one filter stands alone; nested ``And`` are flattened)."""
    flat = tuple(g for f in filters for g in (f.filters if isinstance(f, And) else (f,)))
    return flat[0] if len(flat) == 1 else And(flat)


def any_of(filters: list[Filter]) -> Filter:
    """``Or`` of ``filters`` (one filter stands alone; nested ``Or`` are flattened)."""
    flat = tuple(g for f in filters for g in (f.filters if isinstance(f, Or) else (f,)))
    return flat[0] if len(flat) == 1 else Or(flat)
