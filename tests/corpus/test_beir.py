"""BEIR folder readers: the tiny fixture, every kind of bad input, skip mode and laziness."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from winnow.corpus import BeirDataset, load_beir, read_corpus, read_qrels, read_queries
from winnow.errors import InputError
from winnow.types import Document, Query

from .helpers import SHARED_BEIR, TINY, assert_at


def _jsonl(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# -- happy path on the tiny fixture ------------------------------------------------------


def test_load_beir_tiny_counts_and_order():
    data = load_beir(TINY)
    assert isinstance(data, BeirDataset)
    assert data.corpus_path == TINY / "corpus.jsonl"
    assert [q.id for q in data.queries] == ["q1", "q2", "q3", "q4", "q5", "q6", "q7"]
    assert data.queries[0] == Query("q1", "how does bm25 normalise document length")
    assert len(data.qrels) == 7
    assert sum(len(docs) for docs in data.qrels.judgements.values()) == 13
    assert data.qrels.judgements["q2"] == {"d16": 2, "d17": 2, "d02": 1}


def test_tiny_corpus_streams_all_documents_with_metadata():
    docs = list(read_corpus(TINY / "corpus.jsonl"))
    assert len(docs) == 20
    assert len({d.id for d in docs}) == 20
    first = docs[0]
    assert first.id == "d01" and first.title == "Inverted index"
    assert first.text.startswith("An inverted index maps")
    assert first.metadata == {"topic": "index"}
    assert sum(1 for d in docs if d.metadata) == 4
    assert docs[1].metadata == {}


def test_dataset_corpus_method_streams_the_corpus():
    assert [d.id for d in load_beir(TINY).corpus()] == [d.id for d in read_corpus(TINY / "corpus.jsonl")]


def test_queries_are_filtered_by_split_in_file_order(tiny: Path):
    with open(tiny / "queries.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"_id": "q8", "text": "dev only", "metadata": {"x": 1}}) + "\n")
    (tiny / "qrels" / "dev.tsv").write_text("q8\td01\t1\nq2\td02\t0\n", encoding="utf-8")
    assert [q.id for q in load_beir(tiny, "test").queries] == ["q1", "q2", "q3", "q4", "q5", "q6", "q7"]
    dev = load_beir(tiny, split="dev")
    assert dev.queries == [Query("q2", "skipping postings with upper bounds"), Query("q8", "dev only")]
    assert dev.qrels.judgements == {"q8": {"d01": 1}, "q2": {"d02": 0}}


def test_read_corpus_conversions_and_blank_lines(tmp_path: Path):
    path = tmp_path / "corpus.jsonl"
    path.write_text(
        '\n{"_id": 7, "text": "seven"}\n   \n'
        '{"_id": "b", "title": null, "text": "", "url": "u", "metadata": {"k": [1, 2]}}\n',
        encoding="utf-8",
    )
    assert list(read_corpus(path)) == [
        Document("7", "seven"),
        Document("b", "", "", {"k": [1, 2], "url": "u"}),
    ]


def test_read_corpus_accepts_byte_order_mark_and_crlf(tmp_path: Path):
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"_id": "a", "text": "x"}\r\n{"_id": "b", "text": "y"}\r\n')
    assert [d.id for d in read_corpus(path)] == ["a", "b"]


# -- bad corpus records ------------------------------------------------------------------

GOOD = b'{"_id": "ok", "text": "fine"}\n'
BAD_LINES = {
    "malformed JSON": (b'{"_id": "x", "text": \n', "malformed JSON"),
    "not an object": (b'["x", "y"]\n', "found array"),
    "missing _id": (b'{"text": "no id"}\n', "missing id field '_id'"),
    "empty _id": (b'{"_id": " ", "text": "t"}\n', "is empty"),
    "list _id": (b'{"_id": ["x"], "text": "t"}\n', "found list"),
    "bool _id": (b'{"_id": true, "text": "t"}\n', "found bool"),
    "float _id": (b'{"_id": 1.5, "text": "t"}\n', "found float"),
    "missing text": (b'{"_id": "x", "title": "t"}\n', "missing text field 'text'"),
    "number text": (b'{"_id": "x", "text": 3}\n', "found int"),
    "dict title": (b'{"_id": "x", "title": {}, "text": "t"}\n', "found dict"),
    "list metadata": (b'{"_id": "x", "text": "t", "metadata": [1]}\n', "'metadata' must be an object"),
    "metadata clash": (b'{"_id": "x", "text": "t", "k": 1, "metadata": {"k": 2}}\n', "both at the top level"),
    "not UTF-8": (b'{"_id": "x", "text": "caf\xe9"}\n', "not valid UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_bad_record_raises_with_path_and_line(tmp_path: Path, case: str):
    line, reason = BAD_LINES[case]
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(GOOD + b"\n" + line + GOOD.replace(b"ok", b"ok2"))
    with pytest.raises(InputError, match=reason) as error:
        list(read_corpus(path))
    assert_at(error, path, 3)


def test_duplicate_id_names_both_lines(tmp_path: Path):
    path = _jsonl(tmp_path / "c.jsonl", {"_id": "a", "text": "1"}, {"_id": "b", "text": "2"}, {"_id": "a", "text": "3"})
    with pytest.raises(InputError, match=r"duplicate document id 'a' \(first seen on line 1\)") as error:
        list(read_corpus(path))
    assert_at(error, path, 3)


def test_int_and_string_ids_collide(tmp_path: Path):
    path = _jsonl(tmp_path / "c.jsonl", {"_id": 1, "text": "x"}, {"_id": "1", "text": "y"})
    with pytest.raises(InputError, match="duplicate document id '1'"):
        list(read_corpus(path))


@pytest.mark.parametrize("content", [b"", b"\n  \n\n"])
def test_empty_corpus_is_an_error(tmp_path: Path, content: bytes):
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError) as error:
        list(read_corpus(path))
    assert str(error.value).startswith(f"{path}: empty corpus")


def test_missing_file_is_an_error_at_call_time(tmp_path: Path):
    with pytest.raises(InputError, match="no such file") as error:
        read_corpus(tmp_path / "nope.jsonl")
    assert_at(error, tmp_path / "nope.jsonl", None)


def test_reading_is_lazy(tmp_path: Path):
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(GOOD + b"{broken\n" + GOOD.replace(b"ok", b"ok2"))
    docs = read_corpus(path)
    assert next(docs).id == "ok"
    with pytest.raises(InputError, match="malformed JSON") as error:
        next(docs)
    assert_at(error, path, 2)


# -- skip mode ----------------------------------------------------------------------------


def test_skip_bad_skips_records_and_reports_each(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(
        GOOD
        + b"{broken\n"
        + b'{"text": "no id"}\n'
        + b'{"_id": "caf\xe9", "text": "x"}\n'
        + GOOD
        + b'{"_id": "last", "text": "kept"}\n'
    )
    skipped: list = []
    with caplog.at_level(logging.WARNING, logger="winnow.corpus"):
        docs = list(read_corpus(path, skip_bad=True, skipped=skipped))
    assert [d.id for d in docs] == ["ok", "last"]
    assert [(p, line) for p, line, _ in skipped] == [(str(path), 2), (str(path), 3), (str(path), 4), (str(path), 5)]
    reasons = [reason for _, _, reason in skipped]
    assert reasons[0].startswith("malformed JSON")
    assert reasons[1] == "missing id field '_id'"
    assert reasons[2].startswith("not valid UTF-8")
    assert reasons[3] == "duplicate document id 'ok' (first seen on line 1)"
    warnings = [r for r in caplog.records if r.name == "winnow.corpus" and r.levelno == logging.WARNING]
    assert len(warnings) == 4
    assert f"{path}:3: missing id field" in warnings[1].getMessage()


def test_skip_bad_still_refuses_an_empty_corpus(tmp_path: Path):
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(b"{broken\n{}\n")
    skipped: list = []
    with pytest.raises(InputError, match="empty corpus \\(all 2 records were skipped as bad\\)"):
        list(read_corpus(path, skip_bad=True, skipped=skipped))
    assert len(skipped) == 2


# -- queries -----------------------------------------------------------------------------


def test_read_queries_all_and_by_ids():
    assert len(read_queries(TINY / "queries.jsonl")) == 7
    assert [q.id for q in read_queries(TINY / "queries.jsonl", ids={"q7", "q2"})] == ["q2", "q7"]


def test_read_queries_requested_id_missing():
    with pytest.raises(InputError, match="1 requested query ids are not in the file: 'q9'"):
        read_queries(TINY / "queries.jsonl", ids={"q1", "q9"})


@pytest.mark.parametrize(
    ("lines", "line", "reason"),
    [
        ([{"_id": "a", "text": "x"}, {"_id": "a", "text": "y"}], 2, r"duplicate query id 'a' \(first seen on line 1\)"),
        ([{"_id": "a"}], 1, "'text' must be a string, found missing"),
        ([{"_id": "a", "text": ["x"]}], 1, "found a list"),
        ([{"text": "x"}], 1, "missing id field"),
    ],
)
def test_read_queries_bad_lines(tmp_path: Path, lines: list, line: int, reason: str):
    path = _jsonl(tmp_path / "queries.jsonl", *lines)
    with pytest.raises(InputError, match=reason) as error:
        read_queries(path)
    assert_at(error, path, line)


def test_read_queries_empty_file(tmp_path: Path):
    path = tmp_path / "queries.jsonl"
    path.write_text("")
    with pytest.raises(InputError, match="no queries found"):
        read_queries(path)


# -- qrels -------------------------------------------------------------------------------


def test_read_qrels_header_optional_and_crlf(tmp_path: Path):
    with_header = tmp_path / "a.tsv"
    with_header.write_bytes(b"query-id\tcorpus-id\tscore\r\nq1\td1\t2\r\n\r\nq1\td2\t0\r\nq2\td1\t-1\r\n")
    without = tmp_path / "b.tsv"
    without.write_text("q1\td1\t2\nq1\td2\t0\nq2\td1\t-1\n")
    expected = {"q1": {"d1": 2, "d2": 0}, "q2": {"d1": -1}}
    assert read_qrels(with_header).judgements == expected
    assert read_qrels(without).judgements == expected


@pytest.mark.parametrize(
    ("row", "reason", "known"),
    [
        ("q1\td1", "expected 3 tab-separated columns", {}),
        ("q1 d1 1", "found 1", {}),
        ("q1\td1\t1\textra", "found 4", {}),
        ("q1\td1\t1.5", "grade must be an integer, found '1.5'", {}),
        ("q1\td1\thigh", "found 'high'", {}),
        ("\td1\t1", "empty query-id", {}),
        ("q9\td1\t1", "unknown query id 'q9'", {"known_queries": {"q1"}}),
        ("q1\td9\t1", "unknown document id 'd9'", {"known_docs": {"d1", "d2"}}),
        ("q1\td1\t0", r"duplicate judgement .* \(first on line 2\)", {}),
        ("query-id\tcorpus-id\tscore", "found 'score'", {}),
    ],
)
def test_read_qrels_bad_rows(tmp_path: Path, row: str, reason: str, known: dict):
    path = tmp_path / "test.tsv"
    path.write_text(f"query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t1\n{row}\n")
    with pytest.raises(InputError, match=reason) as error:
        read_qrels(path, **known)
    assert_at(error, path, 4)


def test_read_qrels_not_utf8(tmp_path: Path):
    path = tmp_path / "test.tsv"
    path.write_bytes(b"q1\td1\t1\nq\xff\td1\t1\n")
    with pytest.raises(InputError, match="not valid UTF-8") as error:
        read_qrels(path)
    assert_at(error, path, 2)


def test_read_qrels_skip_bad(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    path = tmp_path / "test.tsv"
    path.write_text("q1\td1\t1\nq9\td1\t1\nq1\td2\tx\nq1\td3\n")
    skipped: list = []
    with caplog.at_level(logging.WARNING, logger="winnow.corpus"):
        qrels = read_qrels(path, known_queries={"q1"}, skip_bad=True, skipped=skipped)
    assert qrels.judgements == {"q1": {"d1": 1}}
    assert [line for _, line, _ in skipped] == [2, 3, 4]
    assert len([r for r in caplog.records if r.name == "winnow.corpus"]) == 3


@pytest.mark.parametrize("content", ["", "query-id\tcorpus-id\tscore\n"])
def test_read_qrels_without_rows_is_an_error(tmp_path: Path, content: str):
    path = tmp_path / "test.tsv"
    path.write_text(content)
    with pytest.raises(InputError, match="no relevance judgements found") as error:
        read_qrels(path)
    assert_at(error, path, None)


# -- folder layout -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["corpus.jsonl", "queries.jsonl"])
def test_load_beir_missing_file_is_named(tiny: Path, name: str):
    (tiny / name).unlink()
    with pytest.raises(InputError, match=f"missing {name}") as error:
        load_beir(tiny)
    assert_at(error, tiny / name, None)


def test_load_beir_missing_split_lists_available_splits(tiny: Path):
    (tiny / "qrels" / "train.tsv").write_text("q1\td01\t1\n")
    with pytest.raises(InputError, match=r"no qrels for split 'dev' \(available splits: test, train\)") as error:
        load_beir(tiny, split="dev")
    assert_at(error, tiny / "qrels" / "dev.tsv", None)


def test_load_beir_without_qrels_folder(tiny: Path):
    for path in (tiny / "qrels").iterdir():
        path.unlink()
    (tiny / "qrels").rmdir()
    with pytest.raises(InputError, match="no qrels/\\*.tsv file exists"):
        load_beir(tiny)


def test_load_beir_not_a_folder(tmp_path: Path):
    with pytest.raises(InputError, match="no such folder"):
        load_beir(tmp_path / "missing")


def test_load_beir_qrels_with_unknown_query(tiny: Path):
    with open(tiny / "qrels" / "test.tsv", "a", encoding="utf-8") as f:
        f.write("q99\td01\t1\n")
    with pytest.raises(InputError, match="unknown query id 'q99'") as error:
        load_beir(tiny)
    assert_at(error, tiny / "qrels" / "test.tsv", 15)


# -- real BEIR data, when the shared folder is present -----------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "docs", "queries", "rows"), [("scifact", 5183, 300, 339), ("nfcorpus", 3633, 323, 12334)]
)
def test_shared_beir_counts(name: str, docs: int, queries: int, rows: int):
    folder = SHARED_BEIR / name
    if not (folder / "corpus.jsonl").is_file():
        pytest.skip(f"shared BEIR data not found at {folder} (optional; see shared/data/beir/SOURCES.md)")
    data = load_beir(folder, split="test")
    assert len(data.queries) == queries
    assert sum(len(judged) for judged in data.qrels.judgements.values()) == rows
    assert sum(1 for _ in data.corpus()) == docs
