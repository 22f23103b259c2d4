"""TREC run and qrels files, the formats read by ``trec_eval``.

A run line is ``qid Q0 docid rank score name``; a qrels line is
``qid 0 docid grade``. Columns are separated by whitespace, so ids and run
names must not contain any. Scores are written with Python's shortest
round-trip ``repr``, so a run read back holds exactly the scores written.

Example:
    >>> write_run(Run.from_dict({"q1": {"d1": 2.5, "d2": 1.0}}, name="bm25"), "bm25.run")  # doctest: +SKIP
    >>> read_run("bm25.run")["q1"].ids  # doctest: +SKIP
    ('d1', 'd2')
"""

from __future__ import annotations

import math
import operator
import os
from pathlib import Path
from typing import Iterable, Iterator

from winnow.corpus.records import BadRecords, Judgements, check_file, parse_grade, text_lines
from winnow.errors import InputError
from winnow.fsutil import replacing
from winnow.types import Qrels, Run


def write_run(run: Run, path: str | Path, k: int | None = None) -> None:
    """Write a run in TREC format, each query's documents ranked by score.

    Queries keep the run's order. Within a query, documents are ranked by
    descending score, ties broken by ascending document id, with ranks from 1.
    A query without documents writes no line. The file is written to a
    temporary name and renamed into place, so a failed write leaves no partial file.

    Args:
        run: The run; its ``name`` becomes the last column.
        path: The file to write.
        k: If given, keep only the top ``k`` documents of each query.

    Raises:
        InputError: ``k`` is not a positive integer, an id or the run name is
            empty or holds whitespace, or a score is NaN.
    """
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise InputError(f"k must be a positive integer or None, found {k!r}")
    _check_token(run.name, "run name")
    _write_atomic(Path(path), _run_lines(run, k))


def _run_lines(run: Run, k: int | None) -> Iterator[str]:
    for qid in run:
        _check_token(qid, "query id")
        docs = run[qid].to_dict()
        for docid, score in docs.items():
            _check_token(docid, "document id")
            if math.isnan(score):
                raise InputError(f"score of query {qid!r}, document {docid!r} is NaN")
        ranked = sorted(docs.items(), key=lambda item: (-item[1], item[0]))
        for rank, (docid, score) in enumerate(ranked[:k], 1):
            yield f"{qid} Q0 {docid} {rank} {float(score)!r} {run.name}\n"


def read_run(path: str | Path) -> Run:
    """Read a TREC run file.

    Ranks are checked to be integers but not used: like ``trec_eval``, the
    scores define the ranking. All lines must carry the same run name.

    Args:
        path: The run file.

    Returns:
        The run, queries in file order and each query's documents ranked by
        score (ties by ascending id), named after the last column (an empty file gives an empty run named ``"winnow"``).

    Raises:
        InputError: The file is missing, or a line is bad (wrong number of
            columns, a non-integer rank, a non-numeric or NaN score, another run
            name, a repeated query-document pair); the message names the file
            and line.
    """
    path = check_file(path)
    scores: dict[str, dict[str, float]] = {}
    name, name_line = None, 0
    for line, text in text_lines(path, BadRecords()):
        columns = text.split()
        if len(columns) != 6:
            found = len(columns)
            raise InputError(f"expected 6 columns (qid Q0 docid rank score name), found {found}", str(path), line)
        qid, _, docid, rank, score, tag = columns
        _parse_rank(rank, str(path), line)
        if name is None:
            name, name_line = tag, line
        elif tag != name:
            raise InputError(f"run name {tag!r} differs from {name!r} on line {name_line}", str(path), line)
        docs = scores.setdefault(qid, {})
        if docid in docs:
            first = _first_line(path, qid, docid)
            raise InputError(f"query {qid!r} lists document {docid!r} twice (first on line {first})", str(path), line)
        docs[docid] = _parse_score(score, str(path), line)
    return Run.from_dict(scores, name) if name is not None else Run.from_dict(scores)


def read_trec_qrels(path: str | Path) -> Qrels:
    """Read a TREC qrels file (``qid iteration docid grade``; the iteration column is ignored).

    Args:
        path: The qrels file.

    Returns:
        The judgements, queries and documents in file order.

    Raises:
        InputError: The file is missing or holds no judgement, or a line is bad
            (wrong number of columns, a non-integer grade, a repeated
            query-document pair); the message names the file and line.
    """
    path = check_file(path)
    judgements = Judgements(path)
    for line, text in text_lines(path, BadRecords()):
        columns = text.split()
        if len(columns) != 4:
            raise InputError(f"expected 4 columns (qid 0 docid grade), found {len(columns)}", str(path), line)
        qid, _, docid, grade = columns
        judgements.add(qid, docid, parse_grade(grade, str(path), line), line)
    return judgements.qrels()


def write_trec_qrels(qrels: Qrels, path: str | Path) -> None:
    """Write judgements as a TREC qrels file, in the order of ``qrels``.

    Args:
        qrels: The judgements.
        path: The file to write (written to a temporary name, then renamed).

    Raises:
        InputError: An id is empty or holds whitespace, or a grade is not an integer.
    """
    _write_atomic(Path(path), _qrels_lines(qrels))


def _qrels_lines(qrels: Qrels) -> Iterator[str]:
    for qid, docs in qrels.judgements.items():
        _check_token(qid, "query id")
        for docid, grade in docs.items():
            _check_token(docid, "document id")
            try:
                grade = operator.index(grade)
            except TypeError:
                where = f"query {qid!r}, document {docid!r}"
                raise InputError(f"grade of {where} must be an integer, found {grade!r}") from None
            yield f"{qid} 0 {docid} {grade}\n"


def _check_token(value: object, what: str) -> None:
    if not isinstance(value, str) or value.split() != [value]:
        raise InputError(f"{what} {value!r} is empty or holds whitespace, which TREC files cannot store")


def _parse_rank(value: str, path: str, line: int) -> int:
    try:
        return int(value)
    except ValueError:
        raise InputError(f"rank must be an integer, found {value!r}", path, line) from None


def _parse_score(value: str, path: str, line: int) -> float:
    try:
        score = float(value)
    except ValueError:
        raise InputError(f"score must be a number, found {value!r}", path, line) from None
    if math.isnan(score):
        raise InputError("score is NaN", path, line)
    return score


def _first_line(path: Path, qid: str, docid: str) -> int:
    # Called only on error, so a run need not keep a line number per entry.
    return next(line for line, text in text_lines(path, BadRecords()) if text.split()[:3:2] == [qid, docid])


def _write_atomic(path: Path, lines: Iterable[str]) -> None:
    with replacing(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(lines)
