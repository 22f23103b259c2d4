"""Exact metadata filters: one text grammar, an equivalent JSON form, and evaluation to a mask.

Example::

    from winnow.filters import parse_filter

    f = parse_filter('year >= 2020 and venue in ["ACL", "EMNLP"] and not (tags == "retracted")')
    g = parse_filter({"field": "published", "op": "<", "value": "2021-06-01"})
    f.to_json(), str(f)                    # both parse back to an equal (and equally hashed) filter

Semantics (see ``docs/filters.md``): a test on a field a document lacks is false (``!=`` and
``not in`` too); ``not`` is plain negation, so ``not (year >= 2020)`` keeps documents without a
year. A test on a multi-valued keyword field holds when any of its values passes it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Mapping

from winnow.errors import FilterError
from winnow.filters.expression import And, Compare, Exists, Filter, In, Literal, Not, Or

__all__ = ["parse_filter", "Filter", "Compare", "In", "Exists", "And", "Or", "Not", "Literal", "MAX_DEPTH",
           "MAX_TERMS"]

MAX_DEPTH = 32  # nesting levels of and/or/not and parentheses
MAX_TERMS = 1000  # field tests plus values listed after in


def parse_filter(spec: str | Mapping | Filter, max_depth: int = MAX_DEPTH, max_terms: int = MAX_TERMS) -> Filter:
    """A :class:`Filter` from the text grammar, the JSON form (a dict, or text starting with ``{``),
    or a filter already built (checked against the limits).

    Args:
        spec: ``'year >= 2020 and venue in ["ACL", "EMNLP"]'``, ``{"field": "year", "op": ">=",
            "value": 2020}``, its JSON text, or a :class:`Filter`.
        max_depth: most levels of nesting (and/or/not, parentheses).
        max_terms: most field tests plus values listed after ``in``.

    Raises:
        FilterError: the filter does not parse (the message gives the position in the text or the
            path in the JSON form), or exceeds a limit.
    """
    if not 1 <= max_depth <= 256:
        raise FilterError(f"max_depth must be between 1 and 256, not {max_depth}")
    if isinstance(spec, str) and spec.lstrip().startswith("{"):
        try:
            spec = json.loads(spec)
        except ValueError as exc:
            raise FilterError(f"bad JSON ({getattr(exc, 'msg', exc)})", getattr(exc, "pos", None)) from None
        except RecursionError:
            raise FilterError(f"nested deeper than {max_depth} levels") from None
    if isinstance(spec, str):
        result = _parse_text(spec, max_depth)
    elif isinstance(spec, Mapping):
        from winnow.filters.json_form import from_json

        result = from_json(spec, max_depth)
    elif isinstance(spec, Filter):
        result = spec
    else:
        raise FilterError(f"expected filter text, a JSON object or a Filter, not {type(spec).__name__}")
    depth, terms = _measure(result)
    if depth > max_depth:
        raise FilterError(f"nested deeper than {max_depth} levels")
    if terms > max_terms:
        raise FilterError(f"{terms} tests and listed values, more than the limit of {max_terms}")
    return result


def _measure(f: Filter) -> tuple[int, int]:
    """(depth, field tests plus listed values) of a filter."""
    if isinstance(f, (And, Or)):
        parts = [_measure(g) for g in f.filters]
        return 1 + max(d for d, _ in parts), sum(t for _, t in parts)
    if isinstance(f, Not):
        depth, terms = _measure(f.filter)
        return depth + 1, terms
    if isinstance(f, In):
        return 1, 1 + len(f.values)
    if isinstance(f, (Compare, Exists)):
        return 1, 1
    raise FilterError(f"not a filter: {f!r}")


@lru_cache(maxsize=256)
def _parse_text(text: str, max_depth: int) -> Filter:
    """Parsed filter text; the same text again (a query log, a server) costs a lookup."""
    from winnow.filters.grammar import parse_text

    return parse_text(text, max_depth)
