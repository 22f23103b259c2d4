"""The filter text grammar: a tokenizer, a recursive-descent parser, and the way back to text.

::

    filter     := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" or ")" | test
    test       := field ("==" | "!=" | "<" | "<=" | ">" | ">=") value
                | field ["not"] "in" "[" [value ("," value)* [","]] "]"
                | field ["not"] "exists"
    field      := name | `any name`            (backquotes for other characters or a keyword)
    value      := "string" | 'string' | number | true | false | date
    date       := 2021-06-01 | 2021-06-01T12:30[:00[.000000]][Z|+02:00]   (same as a quoted date)

Keywords (``and or not in exists true false``) are case-insensitive. Strings take JSON's
backslash escapes (and ``\\'`` in single quotes). Precedence: ``not`` binds tightest, then ``and``,
then ``or``; parentheses group.
"""

from __future__ import annotations

import json
import re

from winnow.errors import FilterError
from winnow.filters.expression import (COMPARISONS, And, Compare, Exists, Filter, In, Literal, Not, Or, all_of,
                                       any_of)
from winnow.filters.fields import FieldValueError, parse_date

KEYWORDS = ("and", "or", "not", "in", "exists", "true", "false")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<quoted>`(?:[^`\\]|\\.)*`)
  | (?P<date>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?)(?![\w.:+\-])
  | (?P<number>[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.])
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[()\[\],])
  | (?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)
""", re.VERBOSE | re.DOTALL)
_HINTS = {"=": "write == for equality", "&": "write and", "|": "write or", "!": "write not or !="}


class _Token:
    __slots__ = ("kind", "text", "pos")

    def __init__(self, kind: str, text: str, pos: int):
        self.kind, self.text, self.pos = kind, text, pos

    @property
    def word(self) -> str:
        """The keyword this token is (lowercase), or ``""``."""
        low = self.text.lower()
        return low if self.kind == "name" and low in KEYWORDS else ""

    def shown(self) -> str:
        return "the end of the filter" if self.kind == "end" else repr(self.text)


def tokenize(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            char = text[pos]
            hint = _HINTS.get(char, "")
            if char in "\"'`":
                hint = f"the {char} here is never closed"
            raise FilterError(f"unexpected character {char!r}" + (f" ({hint})" if hint else ""), pos)
        if m.lastgroup != "space":
            tokens.append(_Token(m.lastgroup, m.group(), pos))
        pos = m.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def parse_text(text: str, max_depth: int) -> Filter:
    """Parse the text grammar (limits on size are checked by the caller)."""
    parser = _Parser(tokenize(text), max_depth)
    result = parser.parse_or(1)
    if parser.peek.kind != "end":
        raise parser.error("expected and, or, or the end of the filter")
    return result


class _Parser:
    def __init__(self, tokens: list[_Token], max_depth: int):
        self.tokens, self.at, self.max_depth = tokens, 0, max_depth

    @property
    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def error(self, expected: str, token: _Token | None = None) -> FilterError:
        token = token or self.peek
        return FilterError(f"{expected}, found {token.shown()}", token.pos)

    def parse_or(self, depth: int) -> Filter:
        parts = [self.parse_and(depth)]
        while self.peek.word == "or":
            self.take()
            parts.append(self.parse_and(depth))
        return any_of(parts)

    def parse_and(self, depth: int) -> Filter:
        parts = [self.parse_not(depth)]
        while self.peek.word == "and":
            self.take()
            parts.append(self.parse_not(depth))
        return all_of(parts)

    def parse_not(self, depth: int) -> Filter:
        token = self.peek
        if token.word == "not" or token.text == "(":
            if depth >= self.max_depth:
                raise FilterError(f"nested deeper than {self.max_depth} levels", token.pos)
            self.take()
            if token.word == "not":
                return Not(self.parse_not(depth + 1))
            inner = self.parse_or(depth + 1)
            if self.peek.text != ")":
                raise self.error(f"expected ) to close the ( at position {token.pos}")
            self.take()
            return inner
        return self.parse_test()

    def parse_test(self) -> Filter:
        token = self.take()
        if token.kind == "quoted":
            field = _unescape(token.text[1:-1], "`", token.pos)
            if not field:
                raise FilterError("empty field name", token.pos)
        elif token.kind == "name" and not token.word:
            field = token.text
        elif token.word:
            raise self.error(f"expected a field name (write `{token.text}` for a field named so)", token)
        else:
            raise self.error("expected a field name, not, or (", token)
        op = self.take()
        negated = op.word == "not"
        if negated:
            op = self.take()
            if op.word not in ("in", "exists"):
                raise self.error(f"expected in or exists after {field} not", op)
        if op.word == "exists":
            return Not(Exists(field)) if negated else Exists(field)
        if op.word == "in":
            return In(field, self.parse_list(), negated)
        if op.kind == "op":
            return Compare(field, op.text, self.parse_value())
        raise self.error(f"expected an operator ({', '.join(COMPARISONS)}, in, not in, exists) after {field}", op)

    def parse_list(self) -> tuple[Literal, ...]:
        if self.peek.text != "[":
            raise self.error("expected [ to start the list after in")
        self.take()
        values = []
        while self.peek.text != "]":
            values.append(self.parse_value())
            if self.peek.text == ",":
                self.take()
            elif self.peek.text != "]":
                raise self.error("expected , or ] in the list")
        self.take()
        return tuple(values)

    def parse_value(self) -> Literal:
        token = self.take()
        if token.kind == "string":
            return Literal("string", _unescape(token.text[1:-1], token.text[0], token.pos))
        if token.kind == "date":
            try:
                parse_date(token.text)
            except FieldValueError as exc:
                raise FilterError(str(exc), token.pos) from None
            return Literal("string", token.text)
        if token.kind == "number":
            if any(c in token.text for c in ".eE"):
                return Literal.of(float(token.text), position=token.pos)
            return Literal("integer", int(token.text))
        if token.word in ("true", "false"):
            return Literal("boolean", token.word == "true")
        hint = f" (quote text: \"{token.text}\")" if token.kind == "name" else ""
        raise self.error("expected a value: a quoted string, number, true, false or date" + hint, token)


def _unescape(body: str, quote: str, pos: int) -> str:
    """The text of a quoted token: JSON escapes, plus an escaped quote character of either kind."""
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body) and body[i + 1] in "'`":
            out.append(body[i + 1])
            i += 2
            continue
        if c == "\\":
            out.append(body[i:i + 2])
            i += 2
            continue
        out.append('\\"' if c == '"' and quote != '"' else c)
        i += 1
    try:
        return json.loads('"' + "".join(out) + '"', strict=False)
    except ValueError:
        raise FilterError("bad backslash escape in a quoted string (JSON escapes such as \\n, \\\" and "
                          "\\u00e9 are allowed)", pos) from None


# --- back to text ---------------------------------------------------------------------------

def to_text(f: Filter) -> str:
    """The filter in the text grammar; :func:`parse_text` reads it back to an equal filter."""
    if isinstance(f, Or):
        return " or ".join(_grouped(g, isinstance(g, Or)) for g in f.filters)
    if isinstance(f, And):
        return " and ".join(_grouped(g, isinstance(g, (And, Or))) for g in f.filters)
    if isinstance(f, Not):
        return "not " + _grouped(f.filter, not isinstance(f.filter, Not))
    if isinstance(f, Exists):
        return f"{_field(f.field)} exists"
    if isinstance(f, In):
        values = ", ".join(_value(v) for v in f.values)
        return f"{_field(f.field)} {'not in' if f.negated else 'in'} [{values}]"
    if isinstance(f, Compare):
        return f"{_field(f.field)} {f.op} {_value(f.value)}"
    raise FilterError(f"not a filter: {f!r}")


def _grouped(f: Filter, parens: bool) -> str:
    return f"({to_text(f)})" if parens else to_text(f)


def _field(name: str) -> str:
    if NAME.fullmatch(name) and name.lower() not in KEYWORDS:
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _value(v: Literal) -> str:
    if v.kind == "boolean":
        return "true" if v.value else "false"
    if v.kind == "string":
        return json.dumps(v.value, ensure_ascii=False)
    return repr(v.value)
