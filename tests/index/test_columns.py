"""Metadata columns: type inference and declared types, the files and schema, damaged files refused."""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.filters.strategies import TYPES, documents, filters, passes
from winnow.errors import FilterError, IndexFormatError, InputError
from winnow.index.columns import Columns, ColumnsWriter, field_types, merge_columns

DOCS = [{"year": 2020, "venue": "ACL", "tags": ["nlp", "ir", "nlp"], "published": "2020-03-01", "oa": True,
         "score": 1, "authors": [{"name": "A"}]},
        {"year": 2019, "venue": "EMNLP", "tags": "ir", "published": dt.date(2019, 11, 7), "oa": False,
         "score": 2.5, "extra": None},
        {"venue": "ACL", "tags": []}]


def write(folder, docs, fields=None) -> dict:
    writer = ColumnsWriter(folder, fields)
    for i, metadata in enumerate(docs):
        writer.add(metadata, f"d{i}")
    return writer.close()


def test_inferred_schema_and_files(tmp_path):
    schema = write(tmp_path, DOCS)
    assert {name: (s["type"], s.get("multi")) for name, s in schema["fields"].items()} == {
        "year": ("integer", None), "venue": ("keyword", False), "tags": ("keyword", True),
        "published": ("date", None), "oa": ("boolean", None), "score": ("float", None)}  # 1 then 2.5: widened
    assert schema["n_docs"] == 3 and schema["fields"]["venue"]["values"] == 2
    assert schema["unfilterable"] == {"authors": "document 'd0' has a list; filters take scalars and lists of strings"}
    assert sorted(schema["files"]) == sorted(p.name for p in tmp_path.iterdir())
    assert json.loads(json.dumps(schema)) == schema
    tags = schema["fields"]["tags"]["files"]
    assert np.load(tmp_path / tags["indptr"]).tolist() == [0, 2, 3, 3]  # each value once per document
    assert bytes(np.load(tmp_path / tags["dict"])) == b"irnlp"
    assert np.load(tmp_path / tags["codes"]).tolist() == [1, 0, 0]
    year = schema["fields"]["year"]["files"]
    assert np.load(tmp_path / year["values"]).tolist() == [2020, 2019, 0]
    assert np.unpackbits(np.load(tmp_path / year["present"]), bitorder="little")[:3].tolist() == [1, 1, 0]
    published = np.load(tmp_path / schema["fields"]["published"]["files"]["values"])
    assert published[:2].tolist() == [1583020800 * 10 ** 6, 1573084800 * 10 ** 6]  # microseconds, UTC midnight
    columns = Columns(tmp_path, schema)
    assert columns.types == {"year": "integer", "venue": "keyword", "tags": "keyword", "published": "date",
                             "oa": "boolean", "score": "float"}
    assert columns.mask('tags == "ir" and venue == "ACL"').tolist() == [True, False, False]


def test_declared_types_keep_only_those_fields(tmp_path):
    schema = write(tmp_path, DOCS, {"year": "float", "venue": "keyword", "doi": "keyword"})
    assert {n: s["type"] for n, s in schema["fields"].items()} == {"year": "float", "venue": "keyword",
                                                                  "doi": "keyword"}
    columns = Columns(tmp_path, schema)
    assert columns.mask("year > 2019.5").tolist() == [True, False, False]
    assert not columns.mask("doi exists").any()
    with pytest.raises(FilterError, match="unknown field 'tags'"):
        columns.mask('tags == "ir"')


@pytest.mark.parametrize("docs, fields, message", [
    ([{"year": 2020}, {"year": "2020a"}], None,
     "metadata field 'year' holds integer values (first in document 'd0') but document 'd1' has '2020a', a string; "
     "a field holds one type: fix the document"),
    ([{"n": 1}, {"n": True}], None, "metadata field 'n' holds integer values (first in document 'd0') but document "
                                    "'d1' has True, a boolean"),
    ([{"d": "2020-01-01"}, {"d": "soon"}], None, "metadata field 'd' holds date values (first in document 'd0') "
                                                 "but document 'd1' has 'soon', a string; declare it a keyword "
                                                 "(fields={'d': 'keyword'}) or fix the document"),
    ([{"f": 1.5}, {"f": "x"}], None, "metadata field 'f' holds float values"),
    ([{"d": "2020-02-30"}], None, "metadata field 'd' of document 'd0': '2020-02-30' is not a valid date"),
    ([{"n": 2 ** 63}], None, "metadata field 'n' of document 'd0': 9223372036854775808 does not fit in a 64-bit"),
    ([{"f": float("nan")}], None, "metadata field 'f' of document 'd0': nan is not a finite number"),
    ([{"year": 2020.5}], {"year": "integer"}, "metadata field 'year' of document 'd0': 2020.5 (a float) is not of type "
                                              "integer (the field is declared integer)"),
    ([{"oa": 1}], {"oa": "boolean"}, "metadata field 'oa' of document 'd0': 1 (an integer) is not of type boolean"),
    ([{"tags": ["a", 1]}], {"tags": "keyword"}, "metadata field 'tags' of document 'd0': a keyword list holds "
                                                "strings only, found ['a', 1]"),
    ([{"x": 1}], {"x": "text"}, "field 'x': unknown type 'text'; use one of keyword, integer, float, boolean, date"),
    ([{1: 1}], None, "document 'd0': metadata field names must be non-empty strings, not 1"),
])
def test_values_that_do_not_fit_name_document_and_field(tmp_path, docs, fields, message):
    with pytest.raises(InputError, match="^" + re.escape(message)):
        write(tmp_path, docs, fields)


def test_declared_types_read_text_cells(tmp_path):
    rows = [{"year": "2020", "score": " 2.5", "oa": "TRUE", "d": "2021-06-01"}, {"year": "1999", "oa": "false"}]
    columns = Columns(tmp_path, write(tmp_path, rows, {"year": "integer", "score": "float", "oa": "boolean",
                                                       "d": "date"}))
    assert columns.mask("year >= 2000 and score > 2 and oa == true and d exists").tolist() == [True, False]
    assert columns.mask("oa == false").tolist() == [False, True]
    with pytest.raises(InputError, match="^metadata field 'year' of document 'd0': '20x' does not spell an integer"):
        write(tmp_path, [{"year": "20x"}], {"year": "integer"})


def test_empty_segment_and_fields_without_values(tmp_path):
    schema = write(tmp_path, [], {"year": "integer", "venue": "keyword"})
    columns = Columns(tmp_path, schema)
    assert columns.n_docs == 0 and columns.mask('year > 1 or venue == "x"').shape == (0,)
    schema = write(tmp_path, [{"a": None, "b": []}, {}])
    assert Columns(tmp_path, schema).mask("b exists or not b exists").tolist() == [True, True]


def test_datetimes_with_offsets(tmp_path):
    schema = write(tmp_path, [{"t": "2021-06-01T02:00:00+02:00"}, {"t": dt.datetime(2021, 6, 1)},
                              {"t": "2021-06-01 00:00:01"}])
    columns = Columns(tmp_path, schema)
    assert columns.mask("t == 2021-06-01").tolist() == [True, True, False]
    assert columns.mask("t > 2021-06-01T00:00:00Z").tolist() == [False, False, True]


# --- damaged columns are refused ---------------------------------------------------------------

@pytest.fixture
def written(tmp_path):
    return tmp_path, write(tmp_path, DOCS)


def _files(schema, field):
    return schema["fields"][field]["files"]


def resave(folder, name, array):
    np.save(folder / name, array)


@pytest.mark.parametrize("damage, message", [
    (lambda f, s: (f / _files(s, "year")["values"]).unlink(), "cannot read column of field 'year'"),
    (lambda f, s: resave(f, _files(s, "year")["values"], np.zeros(3, np.int32)), "expected int64 of length 3"),
    (lambda f, s: resave(f, _files(s, "year")["values"], np.zeros(4, np.int64)), "expected int64 of length 3"),
    (lambda f, s: resave(f, _files(s, "year")["values"], np.zeros((3, 1), np.int64)), "expected int64"),
    (lambda f, s: resave(f, _files(s, "year")["present"], np.zeros(2, np.uint8)), "expected uint8 of length 1"),
    (lambda f, s: resave(f, _files(s, "oa")["values"], np.array([1, 2, 0], np.uint8)), "values other than 0 and 1"),
    (lambda f, s: resave(f, _files(s, "venue")["codes"], np.array([0, 2, 0], np.int32)), "codes of field 'venue'"),
    (lambda f, s: resave(f, _files(s, "venue")["codes"], np.array([0, -2, 0], np.int32)), "codes of field 'venue'"),
    (lambda f, s: resave(f, _files(s, "tags")["codes"], np.array([0, 5, 1], np.int32)), "codes of field 'tags'"),
    (lambda f, s: resave(f, _files(s, "tags")["codes"], np.array([0, -1, 1], np.int32)), "codes of field 'tags'"),
    (lambda f, s: resave(f, _files(s, "tags")["indptr"], np.array([0, 2, 9, 3], np.int64)), "row pointers"),
    (lambda f, s: resave(f, _files(s, "tags")["indptr"], np.array([0, 2, 3, 4], np.int64)), "row pointers"),
    (lambda f, s: resave(f, _files(s, "tags")["indptr"], np.array([1, 2, 3, 3], np.int64)), "row pointers"),
    (lambda f, s: resave(f, _files(s, "venue")["offsets"], np.array([0, 9, 8], np.int64)), "dictionary offsets"),
    (lambda f, s: resave(f, _files(s, "venue")["offsets"], np.array([0, 3, 9], np.int64)), "dictionary offsets"),
    (lambda f, s: resave(f, _files(s, "venue")["dict"], np.zeros(3, np.uint16)), "expected uint8"),
    (lambda f, s: (f / _files(s, "year")["values"]).write_bytes(b"\x93NUMPY garbage"), "cannot read column"),
    (lambda f, s: (f / _files(s, "year")["values"]).write_bytes(
        (f / _files(s, "year")["values"]).read_bytes()[:-8]), "cannot read column"),
    (lambda f, s: resave(f, _files(s, "year")["values"], np.array([{}, {}, {}], object)), "cannot read column"),
    (lambda f, s: _files(s, "year").update(values="../../etc/passwd"), "bad column file name"),
    (lambda f, s: _files(s, "year").update(values=7), "bad column file name"),
    (lambda f, s: _files(s, "year").pop("present"), "damaged column schema for field 'year'"),
    (lambda f, s: s["fields"]["year"].update(type="text"), "damaged column schema for field 'year'"),
    (lambda f, s: s["fields"]["tags"].update(multi="yes"), "damaged column schema for field 'tags'"),
    (lambda f, s: s["fields"]["venue"].update(values="many"), "damaged column schema for field 'venue'"),
    (lambda f, s: s["fields"].update(year=[1, 2]), "damaged column schema for field 'year'"),
    (lambda f, s: s.update(n_docs=4), "expected int64 of length 4"),
    (lambda f, s: s.update(n_docs="x"), "damaged column schema"),
    (lambda f, s: s.update(version=2), "column schema version 2"),
    (lambda f, s: s.pop("fields"), "damaged column schema"),
])
def test_damaged_columns_are_refused(written, damage, message):
    folder, schema = written
    damage(folder, schema)
    with pytest.raises(IndexFormatError, match=re.escape(message)):
        Columns(folder, schema)


@pytest.mark.parametrize("blob, message", [(b"ACLEMNLP"[::-1], "out of order"), (b"AC\xffEMNLP", "not valid UTF-8")])
def test_damaged_dictionary_is_refused_when_first_read(written, blob, message):
    folder, schema = written
    resave(folder, _files(schema, "venue")["dict"], np.frombuffer(blob[:8], np.uint8))
    columns = Columns(folder, schema)
    assert columns.mask("year exists").tolist() == [True, True, False]
    with pytest.raises(IndexFormatError, match=message):
        columns.mask('venue == "ACL"')


def test_every_flipped_byte_is_refused_or_harmless(written):
    """A bit flip in any array byte, or anywhere in a .npy header: an IndexFormatError or FilterError,
    or masks of the right shape; never a crash."""
    folder, schema = written
    header = 128  # .npy magic, header length and header dict, padded: the arrays start here
    every_field = ('venue in ["ACL", "X"] or tags != "ir" or year >= 2020 and oa == true or score < 2 or '
                   'published exists or venue > "B"')
    for name in schema["files"]:
        path = folder / name
        original = path.read_bytes()
        first = 0 if name == schema["fields"]["tags"]["files"]["indptr"] else header
        for at in range(first, len(original)):
            damaged = bytearray(original)
            damaged[at] ^= 0x10
            path.write_bytes(bytes(damaged))
            try:
                assert Columns(folder, schema).mask(every_field).shape == (3,)
            except (IndexFormatError, FilterError):
                pass
        path.write_bytes(original)


# --- segments of one index: known types, merging ------------------------------------------------

def test_known_types_carry_over_to_new_segments(tmp_path):
    (tmp_path / "a").mkdir()
    first = write(tmp_path / "a", [{"year": 2020, "d": "2020-01-01"}])
    known = field_types([first])
    assert known == {"year": "integer", "d": "date"}
    (tmp_path / "b").mkdir()
    writer = ColumnsWriter(tmp_path / "b", known=known)
    writer.add({"year": 2021.5})  # widened, as within one segment
    with pytest.raises(InputError, match="^metadata field 'd' holds date values \\(first in earlier segments of the "
                                         "index\\) but document 'x' has 'soon', a string"):
        writer.add({"d": "soon"}, "x")
    second = writer.close()
    assert second["fields"]["year"]["type"] == "float" and second["fields"]["d"]["type"] == "date"
    assert field_types([first, second, None]) == {"year": "float", "d": "date"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=documents(), data=st.data())
def test_merged_columns_equal_columns_of_the_surviving_documents(tmp_path_factory, docs, data):
    folder = tmp_path_factory.mktemp("merge")
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(docs)), max_size=3))))
    bounds = list(zip([0, *cuts], [*cuts, len(docs)]))
    parts, survivors = [], []
    for i, (lo, hi) in enumerate(bounds):
        (folder / str(i)).mkdir()
        alive = np.array(data.draw(st.lists(st.booleans(), min_size=hi - lo, max_size=hi - lo)), bool)
        parts.append((Columns(folder / str(i), write(folder / str(i), docs[lo:hi])), alive))
        survivors += [d for d, keep in zip(docs[lo:hi], alive) if keep]
    (folder / "merged").mkdir()
    merged = Columns(folder / "merged", merge_columns(folder / "merged", parts))
    assert merged.n_docs == len(survivors)
    assert merged.types == field_types([cols.schema for cols, _ in parts])
    for f in data.draw(st.lists(filters(max_leaves=4), min_size=1, max_size=4)):
        expected = [passes(f, m) for m in survivors]
        assert merged.mask(f, fields=TYPES).tolist() == expected, str(f)


def test_merging_incompatible_types_is_refused(tmp_path):
    parts = []
    for name, value in (("a", 1), ("b", "x")):
        (tmp_path / name).mkdir()
        parts.append((Columns(tmp_path / name, write(tmp_path / name, [{"f": value}])), np.ones(1, bool)))
    (tmp_path / "m").mkdir()
    with pytest.raises(IndexFormatError, match="field 'f' is integer in one segment and keyword in another"):
        merge_columns(tmp_path / "m", parts)
