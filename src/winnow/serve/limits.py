"""What one request may ask of the server, and the typed errors it gets when it asks too much.

Every bound is configurable (:class:`Limits`, ``winnow serve --max-k ...``). A request over a
bound, or malformed in any other way, is answered with a 4xx JSON error
``{"error": {"type": ..., "message": ...}}``; it never reaches the engine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from winnow.errors import WinnowError


@dataclass(frozen=True)
class Limits:
    """Bounds on requests.

    Attributes:
        max_query_chars: characters in one query.
        max_k: hits asked for per query.
        max_batch: queries in one batch request.
        max_filter_chars: characters of a filter (text or JSON).
        max_filter_depth: nesting of a filter's ``and``/``or``/``not``.
        max_body_bytes: bytes of a request body.
        max_documents: documents added or updated by one request.
    """

    max_query_chars: int = 1_000
    max_k: int = 1_000
    max_batch: int = 256
    max_filter_chars: int = 2_000
    max_filter_depth: int = 8
    max_body_bytes: int = 4 * 2**20
    max_documents: int = 1_000

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise WinnowError(f"limit {f.name} must be a positive integer, got {value!r}")

    def to_dict(self) -> dict:
        return asdict(self)


class ApiError(Exception):
    """A request the server refuses: an HTTP status, a machine-readable type and a message."""

    def __init__(self, status: int, kind: str, message: str):
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message

    def body(self) -> dict:
        return {"error": {"type": self.kind, "message": self.message}}


def check_query(text: str, limits: Limits) -> str:
    if len(text) > limits.max_query_chars:
        raise ApiError(413, "limit_exceeded", f"query of {len(text):,} characters; the limit is "
                                              f"{limits.max_query_chars:,}")
    return text


def check_k(k: int, limits: Limits) -> int:
    if k < 0 or k > limits.max_k:
        raise ApiError(400, "limit_exceeded", f"k={k} is outside 0..{limits.max_k}")
    return k


def check_batch(n: int, limits: Limits) -> int:
    if n > limits.max_batch:
        raise ApiError(413, "limit_exceeded", f"batch of {n:,} queries; the limit is {limits.max_batch:,}")
    return n


def parse_filter(value, limits: Limits):
    """A request's filter (the text grammar, or the JSON form as an object or as text) as a filter
    tree, within the limits (the parser bounds nesting before it recurses)."""
    import json

    from winnow.filters import parse_filter as parse

    if value is None:
        return None
    shown = value if isinstance(value, str) else json.dumps(value)
    if len(shown) > limits.max_filter_chars:
        raise ApiError(413, "limit_exceeded", f"filter of {len(shown):,} characters; the limit is "
                                              f"{limits.max_filter_chars:,}")
    try:
        return parse(value, max_depth=limits.max_filter_depth)
    except (WinnowError, RecursionError) as exc:
        raise ApiError(400, "bad_filter", str(exc) or "filter nested too deeply") from None
