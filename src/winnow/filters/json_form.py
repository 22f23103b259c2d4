"""The JSON form of a filter, for the API and the server.

::

    {"and": [FILTER, ...]}      {"or": [FILTER, ...]}      {"not": FILTER}
    {"field": "year", "op": ">=", "value": 2020}           (op: == != < <= > >=)
    {"field": "venue", "op": "in", "value": ["ACL", "EMNLP"]}   (op: in, not in)
    {"field": "doi", "op": "exists"}

Values are JSON strings, numbers and booleans; a date is a string (``"2021-06-01"``).
"""

from __future__ import annotations

from typing import Mapping

from winnow.errors import FilterError
from winnow.filters.expression import (COMPARISONS, And, Compare, Exists, Filter, In, Literal, Not, Or, all_of,
                                       any_of)


def from_json(obj: object, max_depth: int, where: str = "$", depth: int = 1) -> Filter:
    """The filter of a decoded JSON object; errors name the path to the bad part."""
    if not isinstance(obj, Mapping):
        raise FilterError(f"{where}: expected an object, not {_kind(obj)}")
    if depth > max_depth:
        raise FilterError(f"{where}: nested deeper than {max_depth} levels")
    keys = set(obj)
    for combinator in ("and", "or"):
        if combinator in obj:
            _only(obj, {combinator}, where)
            items = obj[combinator]
            if not isinstance(items, list) or not items:
                raise FilterError(f"{where}.{combinator}: expected a non-empty list of filters")
            parts = [from_json(x, max_depth, f"{where}.{combinator}[{i}]", depth + 1) for i, x in enumerate(items)]
            return all_of(parts) if combinator == "and" else any_of(parts)
    if "not" in obj:
        _only(obj, {"not"}, where)
        return Not(from_json(obj["not"], max_depth, f"{where}.not", depth + 1))
    if "field" not in keys or "op" not in keys:
        raise FilterError(f"{where}: expected an object with and, or, not, or field and op; found keys "
                          f"{sorted(map(str, keys))}")
    field, op = obj["field"], obj["op"]
    if not isinstance(field, str) or not field:
        raise FilterError(f"{where}.field: expected a non-empty string, not {_kind(field)}")
    if op == "exists":
        _only(obj, {"field", "op"}, where)
        return Exists(field)
    _only(obj, {"field", "op", "value"}, where)
    if "value" not in obj:
        raise FilterError(f"{where}: op {op!r} needs a value")
    value = obj["value"]
    if op in ("in", "not in"):
        if not isinstance(value, list):
            raise FilterError(f"{where}.value: op {op!r} needs a list, not {_kind(value)}")
        return In(field, tuple(Literal.of(v, f"{where}.value[{i}]: ") for i, v in enumerate(value)), op == "not in")
    if op in COMPARISONS:
        return Compare(field, op, Literal.of(value, f"{where}.value: "))
    raise FilterError(f"{where}.op: unknown operator {op!r}; use one of {', '.join(COMPARISONS)}, in, not in, exists")


def to_json(f: Filter) -> dict:
    """The JSON form of a filter; :func:`from_json` reads it back to an equal filter."""
    if isinstance(f, (And, Or)):
        return {"and" if isinstance(f, And) else "or": [to_json(g) for g in f.filters]}
    if isinstance(f, Not):
        return {"not": to_json(f.filter)}
    if isinstance(f, Exists):
        return {"field": f.field, "op": "exists"}
    if isinstance(f, In):
        return {"field": f.field, "op": "not in" if f.negated else "in", "value": [v.value for v in f.values]}
    if isinstance(f, Compare):
        return {"field": f.field, "op": f.op, "value": f.value.value}
    raise FilterError(f"not a filter: {f!r}")


def _only(obj: Mapping, allowed: set, where: str) -> None:
    extra = set(obj) - allowed
    if extra:
        raise FilterError(f"{where}: unexpected keys {sorted(map(str, extra))} beside {sorted(allowed)}")


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
