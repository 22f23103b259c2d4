"""The pipeline grammar: precedence as Python's, canonical text round-trips, errors say where."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winnow.errors import WinnowError
from winnow.pipeline.grammar import Atom, Chain, Cut, Fuse, atoms, parse, unparse


def test_operators_bind_as_in_python():
    assert parse("bm25 % 100 >> rerank:ce % 10") == Chain((Cut(Atom("bm25"), 100), Cut(Atom("rerank:ce"), 10)))
    assert parse("a + b % 10") == Fuse((Atom("a"), Cut(Atom("b"), 10)))
    assert parse("(a + b) % 10 >> r") == Chain((Cut(Fuse((Atom("a"), Atom("b"))), 10), Atom("r")))
    assert parse("a >> r1 >> r2") == parse("(a >> r1) >> r2") == Chain((Atom("a"), Atom("r1"), Atom("r2")))


def test_specs_keep_their_own_characters():
    tree = parse("bm25:variant=bm25+,k1=0.9 + splade:naver/splade-v3:batch_size=8")
    assert tree == Fuse((Atom("bm25:variant=bm25+,k1=0.9"), Atom("splade:naver/splade-v3:batch_size=8")))


def test_fusion_methods_and_shorthands():
    assert parse("zscore(a + b)") == Fuse((Atom("a"), Atom("b")), "convex", (("norm", "zscore"),))
    assert parse("rrf:k=20(a + b + c)") == Fuse((Atom("a"), Atom("b"), Atom("c")), "rrf", (("k", "20"),))
    tree = parse("convex:norm=tm2c2,weights=0.3/0.7(a + b) >> r")
    assert tree.parts[0] == Fuse((Atom("a"), Atom("b")), "convex", (("norm", "tm2c2"), ("weights", "0.3/0.7")))
    assert atoms(parse("zscore(a + b) + a >> r % 3")) == ["a", "b", "r"]


@pytest.mark.parametrize("text, message", [
    ("", "empty pipeline"),
    ("a +", "a retriever is missing at the end"),
    ("a % x", "% needs a whole number"),
    ("a % -1", "% needs a whole number"),
    ("(a + b", "missing )"),
    ("a b", "unexpected 'b'"),
    ("nosuch(a + b)", "unknown fusion method 'nosuch'"),
    ("rrf(a)", "fuses retrievers joined by +"),
    ("rrf:k(a + b)", "bad fusion option 'k'"),
    (">> a", "expected a retriever, found '>>'"),
])
def test_bad_text_is_refused_with_its_position(text, message):
    with pytest.raises(WinnowError, match="at character") as err:
        parse(text)
    assert message in str(err.value)


def test_only_text_is_parsed():
    with pytest.raises(WinnowError, match="must be text"):
        parse(None)


names = st.sampled_from(["bm25", "dense:m", "splade:x/y:k=1,b=2", "idx/a", "rerank:ce"])


def trees(depth: int = 3):
    leaf = names.map(Atom)
    if depth == 0:
        return leaf
    sub = trees(depth - 1)
    method = st.sampled_from([("rrf", ()), ("rrf", (("k", "20"),)), ("convex", (("norm", "zscore"),)),
                              ("combmnz", ())])
    return st.one_of(
        leaf,
        st.builds(Cut, sub, st.integers(0, 1000)),
        st.builds(lambda ps, m: Fuse(tuple(ps), *m), st.lists(sub.filter(lambda t: not isinstance(t, Chain))
                                                                 | sub, min_size=2, max_size=3), method),
        st.builds(lambda ps: Chain(tuple(q for p in ps for q in (p.parts if isinstance(p, Chain) else (p,)))),
                  st.lists(sub, min_size=2, max_size=3)),
    )


@settings(max_examples=300, deadline=None)
@given(trees())
def test_canonical_text_round_trips(tree):
    assert parse(unparse(tree)) == tree


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab+%>() 1:=rz", max_size=30))
def test_any_text_parses_or_is_refused_cleanly(text):
    try:
        parse(text)
    except WinnowError:
        pass
