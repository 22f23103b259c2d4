"""TREC runs and qrels: ranking rules, exact round trips, agreement with ir-measures, bad lines."""

from __future__ import annotations

from pathlib import Path

import ir_measures
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winnow.corpus import read_run, read_trec_qrels, write_run, write_trec_qrels
from winnow.errors import InputError
from winnow.types import Qrels, Run

from .helpers import TINY, assert_at

RUN = Run.from_dict({"q2": {"b": 1.0, "a": 1.0, "c": 3.5, "d": -2.0}, "q1": {"x": 0.25}}, name="bm25")


def test_write_run_ranks_by_score_then_docid(tmp_path: Path):
    path = tmp_path / "run.trec"
    write_run(RUN, path)
    assert path.read_text().splitlines() == [
        "q2 Q0 c 1 3.5 bm25",
        "q2 Q0 a 2 1.0 bm25",
        "q2 Q0 b 3 1.0 bm25",
        "q2 Q0 d 4 -2.0 bm25",
        "q1 Q0 x 1 0.25 bm25",
    ]
    assert read_run(path) == RUN


def test_write_run_cuts_at_k(tmp_path: Path):
    path = tmp_path / "run.trec"
    write_run(RUN, path, k=2)
    assert read_run(path).to_dict() == {"q2": {"c": 3.5, "a": 1.0}, "q1": {"x": 0.25}}


def test_written_run_reads_the_same_in_ir_measures(tmp_path: Path):
    path = tmp_path / "run.trec"
    write_run(RUN, path)
    theirs: dict[str, dict[str, float]] = {}
    for scored in ir_measures.read_trec_run(str(path)):
        theirs.setdefault(scored.query_id, {})[scored.doc_id] = scored.score
    assert theirs == RUN.to_dict()


# U+FEFF opening a file is read as a byte-order mark, so no id may start with it.
ids = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=10).filter(
    lambda s: s.split() == [s] and not s.startswith("\ufeff")
)
rankings = st.dictionaries(ids, st.floats(width=32, allow_nan=False), min_size=1, max_size=6)
runs = st.builds(Run.from_dict, st.dictionaries(ids, rankings, min_size=1, max_size=4), ids)


@settings(max_examples=60, deadline=None)
@given(run=runs)
def test_run_round_trip(run: Run, tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("run") / "run.trec"
    write_run(run, path)
    assert read_run(path) == run
    for qid, docs in run.to_dict().items():
        rows = [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.split()[0] == qid]
        assert [int(r[3]) for r in rows] == list(range(1, len(docs) + 1))
        scores = [float(r[4]) for r in rows]
        assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("run", "k", "reason"),
    [
        (Run.from_dict({"q 1": {"d": 1.0}}), None, "query id 'q 1' is empty or holds whitespace"),
        (Run.from_dict({"q": {"": 1.0}}), None, "document id '' is empty"),
        (Run.from_dict({"q": {"d": 1.0}}, name="my run"), None, "run name 'my run'"),
        (Run.from_dict({"q": {"d": 1.0}, "r": {"d": float("nan")}}), None, "score of query 'r', document 'd' is NaN"),
        (Run.from_dict({"q": {"d": 1.0}}), 0, "k must be a positive integer"),
    ],
)
def test_write_run_refuses_what_trec_cannot_hold(tmp_path: Path, run: Run, k: int | None, reason: str):
    path = tmp_path / "run.trec"
    with pytest.raises(InputError, match=reason):
        write_run(run, path, k=k)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file(tmp_path: Path):
    path = tmp_path / "run.trec"
    write_run(RUN, path)
    with pytest.raises(InputError):
        write_run(Run.from_dict({"q": {"d": float("nan")}}), path)
    assert read_run(path) == RUN
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("q1 Q0 d3 3 1.0", "expected 6 columns"),
        ("q1 Q0 d3 third 1.0 bm25", "rank must be an integer, found 'third'"),
        ("q1 Q0 d3 3 high bm25", "score must be a number, found 'high'"),
        ("q1 Q0 d3 3 nan bm25", "score is NaN"),
        ("q1 Q0 d3 3 1.0 other", r"run name 'other' differs from 'bm25' on line 1"),
        ("q1 Q0 d1 3 1.0 bm25", r"query 'q1' lists document 'd1' twice \(first on line 1\)"),
    ],
)
def test_read_run_bad_lines(tmp_path: Path, line: str, reason: str):
    path = tmp_path / "run.trec"
    path.write_text(f"q1 Q0 d1 1 3.0 bm25\nq1 Q0 d2 2 2.0 bm25\n\n{line}\n")
    with pytest.raises(InputError, match=reason) as error:
        read_run(path)
    assert_at(error, path, 4)


def test_read_run_not_utf8(tmp_path: Path):
    path = tmp_path / "run.trec"
    path.write_bytes(b"q1 Q0 d\xe91 1 3.0 bm25\n")
    with pytest.raises(InputError, match="not valid UTF-8") as error:
        read_run(path)
    assert_at(error, path, 1)


def test_read_run_tabs_and_empty_file(tmp_path: Path):
    path = tmp_path / "run.trec"
    path.write_text("q1\t0\td1\t1\t2\tx\r\n")
    assert read_run(path) == Run.from_dict({"q1": {"d1": 2.0}}, name="x")
    path.write_text("")
    assert read_run(path) == Run()


# -- qrels ---------------------------------------------------------------------------------


def test_trec_qrels_round_trip_and_ir_measures_agree(tmp_path: Path):
    qrels = Qrels({"q1": {"d4": 2, "d3": 0}, "q2": {"d1": -1}})
    path = tmp_path / "qrels.txt"
    write_trec_qrels(qrels, path)
    assert path.read_text() == "q1 0 d4 2\nq1 0 d3 0\nq2 0 d1 -1\n"
    assert read_trec_qrels(path) == qrels
    assert {(q.query_id, q.doc_id, q.relevance) for q in ir_measures.read_trec_qrels(str(path))} == {
        ("q1", "d4", 2),
        ("q1", "d3", 0),
        ("q2", "d1", -1),
    }


def test_beir_qrels_convert_to_trec(tmp_path: Path):
    from winnow.corpus import read_qrels

    qrels = read_qrels(TINY / "qrels" / "test.tsv")
    write_trec_qrels(qrels, tmp_path / "qrels.txt")
    assert read_trec_qrels(tmp_path / "qrels.txt") == qrels


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("q1 0 d3", "expected 4 columns"),
        ("q1 0 d3 1 extra", "found 5"),
        ("q1 0 d3 2.5", "grade must be an integer, found '2.5'"),
        ("q1 0 d1 0", r"duplicate judgement for query 'q1' and document 'd1' \(first on line 1\)"),
    ],
)
def test_read_trec_qrels_bad_lines(tmp_path: Path, line: str, reason: str):
    path = tmp_path / "qrels.txt"
    path.write_text(f"q1 0 d1 1\nq1 0 d2 0\n{line}\n")
    with pytest.raises(InputError, match=reason) as error:
        read_trec_qrels(path)
    assert_at(error, path, 3)


def test_read_trec_qrels_empty(tmp_path: Path):
    path = tmp_path / "qrels.txt"
    path.write_text("\n")
    with pytest.raises(InputError, match="no relevance judgements found"):
        read_trec_qrels(path)


@pytest.mark.parametrize(
    ("qrels", "reason"),
    [
        (Qrels({"q1": {"d 1": 1}}), "document id 'd 1'"),
        (Qrels({"q1": {"d1": 1.5}}), "grade of query 'q1', document 'd1' must be an integer, found 1.5"),
    ],
)
def test_write_trec_qrels_refuses_bad_values(tmp_path: Path, qrels: Qrels, reason: str):
    with pytest.raises(InputError, match=reason):
        write_trec_qrels(qrels, tmp_path / "qrels.txt")
    assert list(tmp_path.iterdir()) == []
