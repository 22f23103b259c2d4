"""Record files: JSONL, CSV, TSV and Parquet give the same documents; bad rows are reported."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from winnow.corpus import open_corpus, read_records
from winnow.errors import InputError, MissingExtraError
from winnow.types import Document

from .helpers import TINY, assert_at

RECORDS = [
    {"docid": "a1", "title": "First", "body": "plain text", "lang": "en"},
    {"docid": "a2", "title": "", "body": 'commas, "quotes"\tand a tab', "lang": "de"},
    {"docid": "a3", "title": "Multi\nline", "body": "line one\nline two", "lang": ""},
    {"docid": "a4", "title": "Empty body", "body": "", "lang": "fr"},
]
EXPECTED = [
    Document(r["docid"], r["body"], r["title"], {"lang": r["lang"]}) for r in RECORDS
]
FIELDS = {"id_field": "docid", "text_field": "body"}


def _write(path: Path, records: list[dict]) -> Path:
    fmt = path.suffix.lstrip(".")
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    elif fmt in ("csv", "tsv"):
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(records[0]), delimiter="\t" if fmt == "tsv" else ",")
            writer.writeheader()
            writer.writerows(records)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(records), path, row_group_size=2)
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "tsv", "parquet"])
def test_formats_agree(tmp_path: Path, fmt: str):
    path = _write(tmp_path / f"docs.{fmt}", RECORDS)
    assert list(read_records(path, **FIELDS)) == EXPECTED


def test_fmt_overrides_the_extension(tmp_path: Path):
    path = _write(tmp_path / "docs.csv", RECORDS).rename(tmp_path / "docs.txt")
    assert list(read_records(path, fmt="csv", **FIELDS)) == EXPECTED
    json_path = _write(tmp_path / "docs.jsonl", RECORDS).rename(tmp_path / "docs.json")
    assert list(read_records(json_path, **FIELDS)) == EXPECTED


def test_unknown_format(tmp_path: Path):
    path = tmp_path / "docs.txt"
    path.write_text("x")
    with pytest.raises(InputError, match=r"unknown corpus extension '\.txt': name the file \*\.jsonl"):
        read_records(path)
    with pytest.raises(InputError, match="unknown corpus format 'xml'"):
        read_records(path, fmt="xml")


def test_no_title_field_keeps_title_as_metadata(tmp_path: Path):
    path = _write(tmp_path / "docs.csv", RECORDS[:1])
    (doc,) = read_records(path, title_field=None, **FIELDS)
    assert doc == Document("a1", "plain text", "", {"title": "First", "lang": "en"})


def test_json_file_holding_an_array(tmp_path: Path):
    path = tmp_path / "docs.json"
    path.write_text(json.dumps(RECORDS))
    with pytest.raises(InputError, match=r"expected a JSON object per line \(JSON Lines\), found array") as error:
        list(read_records(path, **FIELDS))
    assert_at(error, path, 1)


# -- CSV / TSV bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (b"a9,too,many,cells,here", "expected 4 columns as in the header, found 5"),
        (b"a9,short", "found 2"),
        (b",no id,text,en", "id field 'docid' is empty"),
        (b"a1,dup,text,en", r"duplicate document id 'a1' \(first seen on line 2\)"),
        (b"a9,caf\xe9,text,en", "not valid UTF-8"),
        (b'a9,"bad"quote,text,en', "malformed row"),
    ],
)
def test_csv_bad_row(tmp_path: Path, row: bytes, reason: str):
    path = tmp_path / "docs.csv"
    path.write_bytes(b"docid,title,body,lang\na1,t,x,en\na2,t,y,en\n" + row + b"\na3,t,z,en\n")
    with pytest.raises(InputError, match=reason) as error:
        list(read_records(path, **FIELDS))
    assert_at(error, path, 4)


def test_csv_line_numbers_count_quoted_newlines(tmp_path: Path):
    path = tmp_path / "docs.csv"
    path.write_bytes(b'docid,body\na1,"two\nlines"\n\na2,fine\na3\n')
    docs = read_records(path, **FIELDS)
    assert [next(docs).id, next(docs).id] == ["a1", "a2"]
    with pytest.raises(InputError, match="found 1") as error:
        next(docs)
    assert_at(error, path, 6)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (b"id,title,body", r"no id column 'docid' \(columns: id, title, body\); pass id_field="),
        (b"docid,title,text", "no text column 'body'"),
        (b"docid,body,body", "repeated column names: body"),
        (b"docid,b\xffody", "not valid UTF-8"),
    ],
)
def test_csv_bad_header(tmp_path: Path, header: bytes, reason: str):
    path = tmp_path / "docs.csv"
    path.write_bytes(header + b"\na1,x,y\n")
    with pytest.raises(InputError, match=reason) as error:
        list(read_records(path, **FIELDS))
    assert_at(error, path, 1)


@pytest.mark.parametrize("content", [b"", b"docid,body\n", b"docid,body\n\n\n"])
def test_csv_empty_corpus(tmp_path: Path, content: bytes):
    path = tmp_path / "docs.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as error:
        list(read_records(path, **FIELDS))
    assert str(error.value).startswith(f"{path}: empty corpus")


def test_tsv_skip_bad(tmp_path: Path):
    path = tmp_path / "docs.tsv"
    path.write_bytes(b"docid\tbody\na1\tx\na2\n\xff\tbad\na3\ty\na1\tagain\n")
    skipped: list = []
    docs = list(read_records(path, skip_bad=True, skipped=skipped, **FIELDS))
    assert [d.id for d in docs] == ["a1", "a3"]
    assert [line for _, line, _ in skipped] == [3, 4, 6]


# -- Parquet -------------------------------------------------------------------------------


def test_parquet_streams_batches_and_reports_rows(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 2500
    texts = [f"text {i}" for i in range(n)]
    texts[1999] = None
    years = [2000 + i % 3 for i in range(n)]
    table = pa.table({"_id": list(range(n)), "title": [None] * n, "text": texts, "year": years})
    path = tmp_path / "docs.parquet"
    pq.write_table(table, path, row_group_size=700)
    docs = read_records(path)
    first = next(docs)
    assert first == Document("0", "text 0", "", {"year": 2000})
    assert sum(1 for _ in zip(range(1998), docs)) == 1998
    with pytest.raises(InputError, match="missing text field 'text'") as error:
        next(docs)
    assert_at(error, path, 2000)
    skipped: list = []
    assert sum(1 for _ in read_records(path, skip_bad=True, skipped=skipped)) == n - 1
    assert skipped == [(str(path), 2000, "missing text field 'text'")]


def test_parquet_missing_column(tmp_path: Path):
    path = _write(tmp_path / "docs.parquet", RECORDS)
    with pytest.raises(InputError, match="no id column '_id'") as error:
        list(read_records(path))
    assert_at(error, path, None)


def test_parquet_unreadable_file(tmp_path: Path):
    path = tmp_path / "docs.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        list(read_records(path))


def test_parquet_without_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "docs.parquet"
    path.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'winnow\[parquet\]'"):
        read_records(path)


# -- open_corpus -----------------------------------------------------------------------------


def test_open_corpus_reads_a_beir_folder_or_a_file(tmp_path: Path):
    assert sum(1 for _ in open_corpus(TINY)) == 20
    assert [d.id for d in open_corpus(TINY / "corpus.jsonl")][:2] == ["d01", "d02"]
    path = _write(tmp_path / "docs.tsv", RECORDS)
    assert list(open_corpus(path, **FIELDS)) == EXPECTED


def test_open_corpus_passes_options(tmp_path: Path):
    (tmp_path / "corpus.jsonl").write_text('{"_id": "a", "text": "x"}\n{oops\n')
    skipped: list = []
    assert [d.id for d in open_corpus(tmp_path, skip_bad=True, skipped=skipped)] == ["a"]
    assert [line for _, line, _ in skipped] == [2]


def test_open_corpus_folder_without_corpus(tmp_path: Path):
    with pytest.raises(InputError, match="folder has no corpus.jsonl") as error:
        open_corpus(tmp_path)
    assert_at(error, tmp_path, None)


def test_skip_bad_skips_a_stray_quote_alone(tmp_path: Path):
    """Regression: a stray quote on line 3 of 1,003 rows swallowed the rest of the file as one field."""
    rows = [f"d{i},text number {i}" for i in range(1002)]
    rows[1] = 'd1,"a stray quote opens this field'
    path = tmp_path / "docs.csv"
    path.write_text("_id,text\n" + "\n".join(rows) + "\n")
    skipped: list = []
    docs = list(read_records(path, title_field=None, skip_bad=True, skipped=skipped))
    assert len(docs) == 1001 and [d.id for d in docs[:2]] == ["d0", "d2"]
    assert [line for _, line, _ in skipped] == [3]
    with pytest.raises(InputError) as error:
        list(read_records(path, title_field=None))
    assert error.value.line == 3


@pytest.mark.parametrize("name", ["docs.jsonl.gz", "docs.csv.gz", "docs.tsv.gz"])
def test_gzipped_text_formats(tmp_path: Path, name: str):
    import gzip

    plain = _write(tmp_path / name[:-3], RECORDS)
    packed = tmp_path / name
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert list(read_records(packed, **FIELDS)) == list(read_records(plain, **FIELDS))
    packed.write_bytes(b"not gzip at all")
    with pytest.raises(InputError):
        list(read_records(packed, **FIELDS))


def test_headerless_two_column_tsv_is_id_and_text(tmp_path: Path):
    """MS MARCO's collection.tsv: ``pid<TAB>passage`` with no header row."""
    path = tmp_path / "collection.tsv"
    path.write_text("0\tThe presence of communication\n1\tThe Manhattan Project\n")
    docs = list(read_records(path, title_field=None))
    assert [(d.id, d.text) for d in docs] == [("0", "The presence of communication"), ("1", "The Manhattan Project")]
