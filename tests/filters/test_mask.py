"""Columns.mask against a brute-force evaluation over the metadata dicts, and the documented semantics."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.filters.strategies import TYPES, documents, filters, passes
from winnow.errors import FilterError
from winnow.filters import parse_filter
from winnow.index.columns import Columns, ColumnsWriter

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def build(folder, docs, fields=None) -> Columns:
    writer = ColumnsWriter(folder, fields)
    for i, metadata in enumerate(docs):
        writer.add(metadata, f"d{i}")
    return Columns(folder, writer.close())


@SETTINGS
@given(docs=documents(), fs=st.lists(filters(), min_size=1, max_size=4), declared=st.booleans())
def test_mask_equals_brute_force(tmp_path_factory, docs, fs, declared):
    columns = build(tmp_path_factory.mktemp("cols"), docs, TYPES if declared else None)
    for f in fs:
        expected = np.array([passes(f, m) for m in docs])
        mask = columns.mask(f, fields=TYPES)
        assert mask.dtype == bool and mask.shape == (len(docs),)
        np.testing.assert_array_equal(mask, expected, err_msg=str(f))
        np.testing.assert_array_equal(columns.mask(str(f), fields=TYPES), expected)


DOCS = [{"year": 2020, "venue": "ACL", "tags": ["nlp", "ir"], "published": "2020-03-01", "open_access": True},
        {"year": 2019, "venue": "EMNLP", "tags": "retracted", "published": "2019-11-07T09:00:00+01:00"},
        {"venue": "SIGIR", "tags": [], "open_access": False},
        {"year": 2021.0, "score": 0.5}]


@pytest.fixture
def columns(tmp_path) -> Columns:
    return build(tmp_path, DOCS, {"year": "float", "venue": "keyword", "tags": "keyword", "published": "date",
                                  "open_access": "boolean", "score": "float"})


@pytest.mark.parametrize("text, expected", [
    ("year >= 2020", [1, 0, 0, 1]),
    ("not (year >= 2020)", [0, 1, 1, 0]),          # not keeps the documents without a year
    ("year != 2020", [0, 1, 0, 1]),                # != is false where the year is missing
    ("year not in [2020]", [0, 1, 0, 1]),
    ("year exists", [1, 1, 0, 1]),
    ("not year exists", [0, 0, 1, 0]),
    ('tags == "ir"', [1, 0, 0, 0]),                # any value of a multi-valued field
    ('tags != "retracted"', [1, 0, 0, 0]),         # has tags, none of them retracted; [] is missing
    ('not (tags == "retracted")', [1, 0, 1, 1]),
    ('venue in ["ACL", "EMNLP"] and year >= 2020', [1, 0, 0, 0]),
    ('venue < "EMNLP"', [1, 0, 0, 0]),             # code point order
    ("published < 2020-01-01", [0, 1, 0, 0]),
    ('published == "2019-11-07T08:00:00Z"', [0, 1, 0, 0]),  # offsets are converted to UTC
    ("open_access == false", [0, 0, 1, 0]),
    ("open_access != true", [0, 0, 1, 0]),
    ("year == 2019 or score > 0.25 and not venue exists", [0, 1, 0, 1]),
])
def test_semantics(columns, text, expected):
    np.testing.assert_array_equal(columns.mask(text), np.array(expected, bool))


def test_integer_fields_compare_exactly_with_fractions(tmp_path):
    columns = build(tmp_path, [{"n": v} for v in (1, 2, 3, 2 ** 63 - 1)])
    assert columns.mask("n > 1.5").tolist() == [False, True, True, True]
    assert columns.mask("n <= 2.5").tolist() == [True, True, False, False]
    assert columns.mask("n == 2.5").tolist() == [False] * 4
    assert columns.mask("n == 2.0").tolist() == [False, True, False, False]
    assert columns.mask("n < 100000000000000000000").tolist() == [True] * 4
    assert columns.mask("n in [3, 3.5, 1e30]").tolist() == [False, False, True, False]


@pytest.mark.parametrize("text, message", [
    ("yeer > 2000", "unknown field 'yeer' (did you mean 'year'?); the index has metadata fields: "
                    "open_access (boolean), published (date), score (float), tags (keyword), venue (keyword), "
                    "year (float)"),
    ('year == "2020"', "field 'year' is float and takes numbers; '2020' is a string"),
    ("venue == 1", "field 'venue' is keyword and takes strings; 1 is an integer"),
    ("open_access < true", "field 'open_access' is boolean: use ==, !=, in or not in, not <"),
    ("open_access == 1", "field 'open_access' is boolean and takes true or false; 1 is an integer"),
    ('published > "last week"', "field 'published' is a date: 'last week' is not an ISO 8601 date"),
    ("published in [2020]", "field 'published' is date and takes ISO 8601 dates"),
])
def test_mismatches_name_the_field(columns, text, message):
    with pytest.raises(FilterError, match="^filter: " + re.escape(message)):
        columns.mask(text)


def test_fields_of_the_index_missing_here_are_missing_everywhere(columns):
    assert not columns.mask("doi exists", fields={"doi": "keyword"}).any()
    assert columns.mask('not (doi == "x")', fields={"doi": "keyword"}).all()
    with pytest.raises(FilterError, match="field 'doi' is keyword and takes strings"):
        columns.mask("doi == 3", fields={"doi": "keyword"})


def test_unfilterable_field_is_named(tmp_path):
    columns = build(tmp_path, [{"a": 1}, {"authors": [{"name": "x"}], "a": 2}])
    with pytest.raises(FilterError, match="field 'authors' cannot be filtered on: document 'd1' has a list"):
        columns.mask("authors exists")
    assert columns.mask("a == 2").tolist() == [False, True]


def test_masks_are_new_arrays(columns):
    a = columns.mask("year exists")
    a[:] = False
    assert columns.mask("year exists").tolist() == [True, True, False, True]
    assert parse_filter("year exists") == parse_filter({"field": "year", "op": "exists"})
