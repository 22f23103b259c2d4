"""The filter grammar and JSON form: trees, precedence, round trips, errors with positions, limits, fuzz."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.filters.strategies import filters
from winnow.errors import FilterError, WinnowError
from winnow.filters import And, Compare, Exists, In, Literal, Not, Or, parse_filter
from winnow.filters.expression import all_of, any_of

YEAR = Compare("year", ">=", Literal("integer", 2020))
VENUE = In("venue", (Literal("string", "ACL"), Literal("string", "EMNLP")))


@pytest.mark.parametrize("text, tree", [
    ('year >= 2020 and venue in ["ACL", "EMNLP"]', And((YEAR, VENUE))),
    ("year>=2020 AND venue IN ['ACL','EMNLP',]", And((YEAR, VENUE))),
    ('not (tags == "retracted")', Not(Compare("tags", "==", Literal("string", "retracted")))),
    ("published < 2021-06-01", Compare("published", "<", Literal("string", "2021-06-01"))),
    ("t >= 2021-06-01T12:30:00+02:00", Compare("t", ">=", Literal("string", "2021-06-01T12:30:00+02:00"))),
    ("open_access == true", Compare("open_access", "==", Literal("boolean", True))),
    ("doi exists", Exists("doi")),
    ("doi not exists", Not(Exists("doi"))),
    ("x not in []", In("x", (), True)),
    ("score > -1.5e3", Compare("score", ">", Literal("float", -1500.0))),
    ("`pub date` != 'it\\'s'", Compare("pub date", "!=", Literal("string", "it's"))),
    ("`and` == \"\\u00e9\\n\"", Compare("and", "==", Literal("string", "é\n"))),
    # not binds tighter than and, and tighter than or
    ("a exists or b exists and not c exists", Or((Exists("a"), And((Exists("b"), Not(Exists("c"))))))),
    ("(a exists or b exists) and c exists", And((Or((Exists("a"), Exists("b"))), Exists("c")))),
    ("a exists and (b exists and c exists)", And((Exists("a"), Exists("b"), Exists("c")))),
    ("((a exists))", Exists("a")),
])
def test_trees(text, tree):
    assert parse_filter(text) == tree
    assert parse_filter(str(tree)) == tree


def test_json_form():
    spec = {"and": [{"field": "year", "op": ">=", "value": 2020},
                    {"field": "venue", "op": "in", "value": ["ACL", "EMNLP"]}]}
    f = parse_filter(spec)
    assert f == And((YEAR, VENUE)) == parse_filter(json.dumps(spec))
    assert f.to_json() == spec
    assert parse_filter({"not": {"field": "doi", "op": "exists"}}) == Not(Exists("doi"))
    assert parse_filter({"or": [{"field": "a", "op": "exists"}]}) == Exists("a")


def test_literals_keep_their_kind():
    assert parse_filter("x == true") != parse_filter("x == 1")
    assert parse_filter("x == 1") != parse_filter("x == 1.0")
    assert len({parse_filter("x == true"), parse_filter("x == 1"), parse_filter("x == 1.5")}) == 3


SETTINGS = settings(max_examples=200, deadline=None)


@SETTINGS
@given(filters())
def test_round_trip(f):
    assert parse_filter(str(f)) == f
    assert parse_filter(f.to_json()) == f
    assert parse_filter(json.dumps(f.to_json())) == f
    assert hash(parse_filter(str(f))) == hash(f)


NAMES = st.text(min_size=1, max_size=8)
VALUES = st.one_of(st.text(max_size=8), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                   st.booleans()).map(Literal.of)
ODD = st.recursive(
    st.one_of(st.builds(Compare, NAMES, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), VALUES),
              st.builds(In, NAMES, st.lists(VALUES, max_size=3).map(tuple), st.booleans()),
              st.builds(Exists, NAMES)),
    lambda inner: st.one_of(st.lists(inner, min_size=2, max_size=3).map(all_of),
                            st.lists(inner, min_size=2, max_size=3).map(any_of), inner.map(Not)),
    max_leaves=6)


@settings(max_examples=100, deadline=None)
@given(ODD)
def test_round_trip_of_any_names_and_values(f):
    assert parse_filter(str(f)) == f
    assert parse_filter(json.dumps(f.to_json())) == f


@pytest.mark.parametrize("text, position, message", [
    ("year = 2020", 5, "unexpected character '=' (write == for equality)"),
    ("venue == ACL", 9, "expected a value: a quoted string, number, true, false or date (quote text: \"ACL\"), "
                        "found 'ACL'"),
    ("year >=", 7, "expected a value: a quoted string, number, true, false or date, found the end of the filter"),
    ("(a exists", 9, "expected ) to close the ( at position 0, found the end of the filter"),
    ("a in [1, 2", 10, "expected , or ] in the list, found the end of the filter"),
    ("a in 1", 5, "expected [ to start the list after in, found '1'"),
    ("and == 1", 0, "expected a field name (write `and` for a field named so), found 'and'"),
    ("a exists b exists", 9, "expected and, or, or the end of the filter, found 'b'"),
    ("a ~ 1", 2, "unexpected character '~'"),
    ("a like 1", 2, "expected an operator (==, !=, <, <=, >, >=, in, not in, exists) after a, found 'like'"),
    ("a not == 1", 6, "expected in or exists after a not, found '=='"),
    ("d < 2021-02-30", 4, "'2021-02-30' is not a valid date (day is out of range for month)"),
    ('a == "open', 5, 'unexpected character \'"\' (the " here is never closed)'),
    ('a == "\\q"', 5, "bad backslash escape in a quoted string"),
    ("``", 0, "empty field name"),
    ("", 0, "expected a field name, not, or (, found the end of the filter"),
    ('{"field": "a", ', 15, "bad JSON (Expecting property name enclosed in double quotes)"),
])
def test_errors_give_the_position(text, position, message):
    with pytest.raises(FilterError) as err:
        parse_filter(text)
    assert err.value.position == position
    assert str(err.value).startswith(f"filter, position {position}: {message}")


@pytest.mark.parametrize("spec, message", [
    ({"field": "a", "op": "~", "value": 1}, "$.op: unknown operator '~'; use one of ==, !=, <, <=, >, >=, in, "
                                            "not in, exists"),
    ({"field": "a", "op": "==", "value": None}, "$.value: a value must be a string, number or boolean, not null "
                                                "(test a missing value with 'exists')"),
    ({"field": "a", "op": "=="}, "$: op '==' needs a value"),
    ({"field": "a", "op": "in", "value": "x"}, "$.value: op 'in' needs a list, not str"),
    ({"and": [{"field": "a", "op": "exists"}, {"fld": "b"}]}, "$.and[1]: expected an object with and, or, not, "
                                                              "or field and op; found keys ['fld']"),
    ({"and": []}, "$.and: expected a non-empty list of filters"),
    ({"not": {"field": "a", "op": "exists"}, "and": []}, "$: unexpected keys ['not'] beside ['and']"),
    ({"field": "", "op": "exists"}, "$.field: expected a non-empty string, not str"),
    ({"field": "a", "op": "exists", "value": 1}, "$: unexpected keys ['value'] beside ['field', 'op']"),
    ({"field": "a", "op": ">", "value": float("nan")}, "$.value: numbers must be finite, not nan"),
    ({"field": "a", "op": "in", "value": [1, [2]]}, "$.value[1]: a value must be a string, number or boolean, "
                                                    "not list"),
])
def test_json_errors_give_the_path(spec, message):
    with pytest.raises(FilterError) as err:
        parse_filter(spec)
    assert err.value.position is None and str(err.value) == f"filter: {message}"


def test_limits():
    deep = "(" * 32 + "a exists" + ")" * 32
    with pytest.raises(FilterError, match="position 31: nested deeper than 32 levels"):
        parse_filter(deep)
    assert parse_filter(deep, max_depth=33) == Exists("a")
    assert parse_filter("not " * 31 + "a exists").fields() == {"a"}
    with pytest.raises(FilterError, match="nested deeper than 32 levels"):
        parse_filter("not " * 40 + "a exists")
    nested = {"field": "a", "op": "exists"}
    for _ in range(40):
        nested = {"not": nested}
    with pytest.raises(FilterError, match=r"\$(\.not){32}: nested deeper than 32 levels"):
        parse_filter(nested)
    with pytest.raises(FilterError, match="nested deeper than 32 levels"):
        parse_filter('{"not": ' * 100000)  # the JSON decoder gives up recursing
    many = " or ".join(f"f{i} == {i}" for i in range(1001))
    with pytest.raises(FilterError, match="1001 tests and listed values, more than the limit of 1000"):
        parse_filter(many)
    with pytest.raises(FilterError, match="1002 tests and listed values, more than the limit of 10"):
        parse_filter({"field": "a", "op": "in", "value": list(range(1001))}, max_terms=10)
    built = Not(Not(Not(Exists("a"))))
    with pytest.raises(FilterError, match="nested deeper than 3 levels"):
        parse_filter(built, max_depth=3)
    assert parse_filter(built) is built
    with pytest.raises(FilterError, match="expected filter text, a JSON object or a Filter, not list"):
        parse_filter([1])


GRAMMAR_BITS = st.sampled_from(["a", "year", " ", "==", "!=", "<", ">=", "in", "not", "and", "or", "exists", "(",
                                ")", "[", "]", ",", '"x"', "'y'", "`f`", "1", "-2.5e3", "2021-06-01", "true", "{",
                                "}", ":", '"', "\\", "T12:00Z", "\n", "é"])


@settings(max_examples=500, deadline=None)
@given(st.lists(GRAMMAR_BITS, max_size=20).map("".join) | st.text(max_size=40))
def test_fuzz_text_raises_only_filter_errors(text):
    try:
        f = parse_filter(text)
    except WinnowError as exc:
        assert isinstance(exc, FilterError)
    else:
        assert parse_filter(str(f)) == f


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
    | st.sampled_from(["and", "or", "not", "field", "op", "value", "in", "==", "exists"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["and", "or", "not", "field", "op", "value", "x"]), inner, max_size=3),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(JSONISH)
def test_fuzz_json_raises_only_filter_errors(obj):
    try:
        f = parse_filter(obj) if isinstance(obj, dict) else parse_filter(json.dumps(obj))
    except WinnowError as exc:
        assert isinstance(exc, FilterError)
    else:
        assert parse_filter(f.to_json()) == f
