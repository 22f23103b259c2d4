"""The pipeline grammar: one line of text that names retrievers, fuses them and reranks.

::

    pipeline := sum ( ">>" sum )*              rerank what is on the left
    sum      := cut ( "+" cut )*               fuse (reciprocal rank fusion unless a method is named)
    cut      := primary ( "%" INTEGER )*       cut to the best n (pushed into the retriever)
    primary  := ATOM | METHOD "(" pipeline ")" | "(" pipeline ")"

The operators bind as Python's do (``%`` before ``+`` before ``>>``), so the text and the Python
expression of a pipeline mean the same: cut a fusion with ``(a + b) % 100``. Operators stand apart, separated by spaces, so that specs keep their own characters
(``bm25:variant=bm25+``, ``splade:naver/splade-v3``). An ``ATOM`` is a retriever or a reranker:
an encoder spec (``bm25``, ``splade:MODEL``, ``inference-free:MODEL``, ``dense:MODEL``) resolved
against a corpus, a winnow folder (index or saved pipeline), ``rerank:MODEL`` or ``llm:URL``.
``METHOD`` is a fusion method with its options, written against the opening parenthesis:
``rrf:k=60(...)``, ``convex:norm=zscore,weights=0.3/0.7(...)``, ``zscore(...)`` (convex with that
normalisation; ``minmax`` and ``tm2c2`` likewise), ``combsum(...)``, ``combmnz(...)``.

Examples::

    bm25 % 100 >> rerank:models/ce % 10
    zscore:weights=0.4/0.6(bm25 + dense:all-MiniLM-L6-v2)
    rrf(bm25 + inference-free:models/if) >> rerank:models/ce
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Union

from winnow.errors import WinnowError

OPERATORS = (">>", "%", "+")
NORM_METHODS = ("minmax", "zscore", "tm2c2")  # shorthands for convex:norm=NAME
_INTEGER = re.compile(r"\d+")


@dataclass(frozen=True)
class Atom:
    text: str


@dataclass(frozen=True)
class Cut:
    inner: "Node"
    n: int


@dataclass(frozen=True)
class Chain:
    parts: tuple["Node", ...]


@dataclass(frozen=True)
class Fuse:
    parts: tuple["Node", ...]
    method: str = "rrf"
    params: tuple[tuple[str, str], ...] = ()  # as written, checked when built


Node = Union[Atom, Cut, Chain, Fuse]


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """``(kind, value, position)`` with kinds ``word``, ``call`` (a word glued to "("), ``(``, ``)``, ``op``."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append((c, c, i))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "()":
                j += 1
            word = text[i:j]
            if j < n and text[j] == "(":
                out.append(("call", word, i))
                out.append(("(", "(", j))
                j += 1
            else:
                out.append(("op" if word in OPERATORS else "word", word, i))
            i = j
    return out


class _Parser:
    def __init__(self, text: str):
        self.text, self.tokens, self.i = text, _tokens(text), 0

    def fail(self, message: str, at: int | None = None) -> WinnowError:
        pos = at if at is not None else (self.tokens[self.i][2] if self.i < len(self.tokens) else len(self.text))
        return WinnowError(f"pipeline {self.text!r}, at character {pos + 1}: {message}")

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None) -> tuple[str, str, int] | None:
        tok = self.peek()
        if tok and tok[0] == kind and (value is None or tok[1] == value):
            self.i += 1
            return tok
        return None

    def parse(self) -> Node:
        if not self.tokens:
            raise self.fail("empty pipeline")
        node = self.chain()
        if self.peek():
            raise self.fail(f"unexpected {self.peek()[1]!r}")
        return node

    def chain(self) -> Node:
        parts = [self.sum()]
        while self.take("op", ">>"):
            parts.append(self.sum())
        flat = tuple(q for p in parts for q in (p.parts if isinstance(p, Chain) else (p,)))  # >> associates
        return flat[0] if len(flat) == 1 else Chain(flat)

    def sum(self) -> Node:
        parts = [self.cut()]
        while self.take("op", "+"):
            parts.append(self.cut())
        return parts[0] if len(parts) == 1 else Fuse(tuple(parts))

    def cut(self) -> Node:
        node = self.primary()
        while self.take("op", "%"):
            tok = self.take("word")
            if not tok or not _INTEGER.fullmatch(tok[1]):
                raise self.fail("% needs a whole number after it, e.g. % 100")
            node = Cut(node, int(tok[1]))
        return node

    def primary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.fail("a retriever is missing at the end")
        if self.take("("):
            node = self.chain()
            if not self.take(")"):
                raise self.fail("missing )")
            return node
        if tok[0] == "call":
            self.i += 1
            self.take("(")
            inner = self.chain()
            if not self.take(")"):
                raise self.fail("missing )")
            return _fusion(tok[1], inner, lambda m: self.fail(m, tok[2]))
        if tok[0] == "word":
            self.i += 1
            return Atom(tok[1])
        raise self.fail(f"expected a retriever, found {tok[1]!r}")


def _fusion(call: str, inner: Node, fail: Callable[[str], WinnowError]) -> Fuse:
    from winnow.fuse import METHODS

    method, _, options = call.partition(":")
    params: dict[str, str] = {}
    for item in filter(None, options.split(",")):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise fail(f"bad fusion option {item!r}: expected key=value")
        params[key] = value
    if method in NORM_METHODS:
        method, params = "convex", {"norm": method, **params}
    if method not in METHODS:
        raise fail(f"unknown fusion method {method!r}; choose one of {', '.join([*METHODS, *NORM_METHODS])}")
    if not isinstance(inner, Fuse):
        raise fail(f"{method}(...) fuses retrievers joined by +, e.g. {method}(bm25 + dense:MODEL)")
    return Fuse(inner.parts, method, tuple(params.items()))


def parse(text: str) -> Node:
    """Parse pipeline text into a tree of :class:`Atom`, :class:`Cut`, :class:`Chain` and :class:`Fuse`."""
    if not isinstance(text, str):
        raise WinnowError(f"a pipeline must be text, got {type(text).__name__}")
    return _Parser(text).parse()


def atoms(node: Node) -> list[str]:
    """The atoms of a tree, left to right, each once."""
    if isinstance(node, Atom):
        found = [node.text]
    elif isinstance(node, Cut):
        found = atoms(node.inner)
    else:
        found = [a for part in node.parts for a in atoms(part)]
    return list(dict.fromkeys(found))


def build(node: Node, resolve: Callable[[str], object], tuned: dict | None = None):
    """Turn a tree into retrievers and rerankers; ``resolve`` maps an atom's text to one.

    ``tuned`` maps a fusion's text (:func:`unparse` of its node) to parameters that replace the
    written ones (see :func:`winnow.pipeline.tune.tune_pipeline`).
    """
    from winnow.pipeline.ops import Fusion
    from winnow.retrieve.retriever import Retriever

    if isinstance(node, Atom):
        return resolve(node.text)
    if isinstance(node, Cut):
        return build(node.inner, resolve, tuned) % node.n
    if isinstance(node, Chain):
        first = build(node.parts[0], resolve, tuned)
        if not isinstance(first, Retriever):
            raise WinnowError(f"a pipeline starts with a retriever, not {first.name!r}")
        for part in node.parts[1:]:
            first = first >> build(part, resolve, tuned)
        return first
    parts = [build(p, resolve, tuned) for p in node.parts]
    for p, sub in zip(parts, node.parts):
        if not isinstance(p, Retriever):
            raise WinnowError(f"only retrievers can be fused; {unparse(sub)!r} is a reranker (put it after >>)")
    params = dict(node.params)
    depth = int(params.pop("depth")) if "depth" in params else None
    params = (tuned or {}).get(unparse(node), params)
    return Fusion(parts, node.method, params, **({"depth": depth} if depth else {}))


def unparse(node: Node) -> str:
    """Canonical text of a tree (``parse(unparse(t)) == t``)."""
    if isinstance(node, Atom):
        return node.text
    if isinstance(node, Cut):
        inner = unparse(node.inner)
        grouped = isinstance(node.inner, Chain) or (isinstance(node.inner, Fuse) and node.inner.method == "rrf"
                                                    and not node.inner.params)
        return f"{'(' + inner + ')' if grouped else inner} % {node.n}"
    if isinstance(node, Chain):
        return " >> ".join(unparse(p) for p in node.parts)
    inner = " + ".join(f"({unparse(p)})" if isinstance(p, Chain) or (isinstance(p, Fuse) and p.method == "rrf"
                                                                       and not p.params) else unparse(p)
                       for p in node.parts)
    options = ",".join(f"{k}={v}" for k, v in node.params)
    if node.method == "rrf" and not options:
        return inner
    return f"{node.method}{':' + options if options else ''}({inner})"


def build_pipeline(text: str, resolve: Callable[[str], object] | None = None):
    """Build a retriever from pipeline text.

    Args:
        text: see the module docstring.
        resolve: maps an atom to a retriever or reranker; by default a winnow folder opens with
            :func:`winnow.open`, ``rerank:`` and ``llm:`` atoms build rerankers, and encoder specs
            are refused (they need a corpus: use ``winnow eval`` or :func:`winnow.evaluate.run_beir`).

    Example::

        p = winnow.build_pipeline("rrf(indexes/bm25 + indexes/dense) >> rerank:models/ce % 10")
        hits = p.search("statins and heart disease")
    """
    return build(parse(text), resolve or resolve_folder)


def is_reranker(atom: str) -> bool:
    """Whether an atom names a reranker (``rerank:MODEL``, ``llm:URL``) rather than a retriever."""
    return atom.startswith(("rerank:", "llm:"))


class OpenOnce:
    """A resolver that opens each atom once (a pipeline may name it twice) and closes them all."""

    def __init__(self, open_atom: Callable[[str], object]):
        self.open_atom = open_atom
        self.opened: dict[str, object] = {}

    def __call__(self, atom: str):
        if atom not in self.opened:
            self.opened[atom] = self.open_atom(atom)
        return self.opened[atom]

    def close(self) -> None:
        for r in self.opened.values():
            r.close()


def resolve_folder(atom: str):
    """The default resolver: rerankers by spec, everything else as a winnow folder."""
    from pathlib import Path

    if is_reranker(atom):
        from winnow.rerank import build_reranker

        return build_reranker(atom)
    if Path(atom).is_dir():
        import winnow

        return winnow.open(atom)
    raise WinnowError(f"{atom!r} is neither a winnow folder nor a reranker spec; encoder specs such as "
                      f"bm25 need a corpus to index (winnow eval DATASET --retriever ...)")
