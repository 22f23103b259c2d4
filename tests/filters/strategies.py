"""Random typed metadata, random filters over it, and a brute-force evaluation over the dicts.

The oracle is written from the documented semantics with plain Python values (exact int/float
comparison, ``datetime`` for dates), independently of the stored forms the columns use.
"""

from __future__ import annotations

import datetime as dt
from typing import Mapping

from hypothesis import strategies as st

from winnow.filters import And, Compare, Exists, Filter, In, Literal, Not, Or
from winnow.filters.expression import all_of, any_of

TYPES = {"year": "integer", "score": "float", "venue": "keyword", "tags": "keyword", "published": "date",
         "open_access": "boolean", "never": "integer"}  # "never" has no value in any document

YEARS = st.integers(2015, 2022) | st.sampled_from([-(2 ** 63), 2 ** 63 - 1, 0])
SCORES = st.sampled_from([-2.5, 0.0, 0.5, 1.0, 3.25, 1e300]) | st.integers(-3, 3)
WORDS = st.sampled_from(["ACL", "EMNLP", "NAACL", "", "acl", "Zeta", "é", "ab", "a b", "日本"])
DATES = st.sampled_from(["2019-12-31", "2020-01-01", "2020-01-01T00:00:00Z", "2020-01-01T01:30:00+02:00",
                         "2021-06-01", "2021-06-01T12:30:00.25", "1969-07-20T20:17:00Z", "2100-02-28"])


def _maybe(values):
    return st.none() | values


def documents(max_docs: int = 40):
    """Lists of metadata dicts: each field absent, null, or a value of its type."""
    doc = st.fixed_dictionaries({}, optional={
        "year": _maybe(YEARS), "score": _maybe(SCORES), "venue": _maybe(WORDS),
        "tags": _maybe(WORDS | st.lists(WORDS, max_size=3)), "published": _maybe(DATES),
        "open_access": _maybe(st.booleans())})
    return st.lists(doc, min_size=1, max_size=max_docs)


def _literal(kind: str):
    if kind == "integer":
        return (YEARS | st.sampled_from([2019.5, 2020.0, -1e30, 1e30])).map(Literal.of)
    if kind == "float":
        return (SCORES | st.sampled_from([0.25, 10 ** 400, -(10 ** 400)])).map(Literal.of)
    if kind == "keyword":
        return (WORDS | st.sampled_from(["AC", "B", "zz"])).map(Literal.of)
    if kind == "date":
        return (DATES | st.sampled_from(["2020-06-15", "2020-01-01T00:00:01Z"])).map(Literal.of)
    return st.booleans().map(Literal.of)


def _test(field: str):
    kind = TYPES[field]
    ops = ["==", "!="] if kind == "boolean" else ["==", "!=", "<", "<=", ">", ">="]
    return st.one_of(
        st.builds(Compare, st.just(field), st.sampled_from(ops), _literal(kind)),
        st.builds(In, st.just(field), st.lists(_literal(kind), max_size=4).map(tuple), st.booleans()),
        st.builds(Exists, st.just(field)))


LEAVES = st.one_of([_test(field) for field in sorted(TYPES)])


def filters(max_leaves: int = 8):
    """Random filters over :data:`TYPES`, combined as the parser combines them."""
    return st.recursive(LEAVES, lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(all_of),
        st.lists(inner, min_size=2, max_size=3).map(any_of),
        inner.map(Not)), max_leaves=max_leaves)


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _values(field: str, metadata: Mapping) -> list:
    """A document's values of a field, as comparable Python values ([] when missing)."""
    value = metadata.get(field)
    if value is None:
        return []
    values = list(value) if isinstance(value, list) else [value]
    return [_moment(v) for v in values] if TYPES[field] == "date" else values


def _constant(field: str, lit: Literal):
    return _moment(lit.value) if TYPES[field] == "date" else lit.value


_OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a == b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def passes(f: Filter, metadata: Mapping) -> bool:
    """Brute-force evaluation of ``f`` on one document's metadata."""
    if isinstance(f, And):
        return all(passes(g, metadata) for g in f.filters)
    if isinstance(f, Or):
        return any(passes(g, metadata) for g in f.filters)
    if isinstance(f, Not):
        return not passes(f.filter, metadata)
    values = _values(f.field, metadata)
    if isinstance(f, Exists):
        return bool(values)
    if isinstance(f, In):
        wanted = [_constant(f.field, v) for v in f.values]
        hit = any(v == w for v in values for w in wanted)
        return bool(values) and not hit if f.negated else hit
    c = _constant(f.field, f.value)
    hit = any(_OPS[f.op](v, c) for v in values)
    return bool(values) and not hit if f.op == "!=" else hit
