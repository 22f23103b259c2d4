"""Readers for BEIR dataset folders (Thakur et al., "BEIR", NeurIPS 2021 Datasets track).

A BEIR folder holds::

    corpus.jsonl         one {"_id", "title", "text", "metadata"?} object per line
    queries.jsonl        one {"_id", "text"} object per line, for all splits
    qrels/<split>.tsv    "query-id<TAB>corpus-id<TAB>score" rows, header optional

The corpus is streamed, never held in memory; queries and qrels are small and
read whole.

Example:
    >>> data = load_beir("tests/data/tiny", split="test")
    >>> len(data.queries), sum(1 for _ in data.corpus())
    (7, 20)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from winnow.corpus.records import (
    BadRecords,
    Fields,
    Judgements,
    check_file,
    documents,
    json_records,
    parse_grade,
    record_id,
    text_lines,
)
from winnow.errors import InputError
from winnow.types import Document, Qrels, Query

_QRELS_HEADER = ["query-id", "corpus-id", "score"]


def read_corpus(path: str | Path, *, skip_bad: bool = False, skipped: list | None = None) -> Iterator[Document]:
    """Stream the documents of a BEIR ``corpus.jsonl``, one line at a time.

    Each line is an object with ``_id`` (a string, or an integer turned into
    one), ``text`` (a string, possibly empty), an optional ``title`` and an
    optional ``metadata`` object kept as :attr:`Document.metadata` (any other
    keys are added to it). Blank lines are ignored.

    Args:
        path: The ``corpus.jsonl`` file.
        skip_bad: If True, a bad record (malformed JSON, a missing or mistyped
            field, bytes that are not UTF-8, a later duplicate of an id) is
            skipped instead of raising: ``(path, line, reason)`` is appended to
            ``skipped`` and a warning is logged on the ``winnow.corpus`` logger.
            A corpus with no good document is still an error.
        skipped: Optional list that collects the skipped records.

    Returns:
        An iterator over the documents in file order; the file is read as it is consumed.

    Raises:
        InputError: The file is missing, a record is bad (unless ``skip_bad``;
            the message names the file and line; a duplicate id names both
            lines), or the corpus is empty (``"<path>: empty corpus"``).
    """
    path = check_file(path)
    bad = BadRecords(skip_bad, skipped)
    return documents(json_records(path, bad), path, Fields(), bad)


def read_queries(path: str | Path, ids: set[str] | None = None) -> list[Query]:
    """Read the queries of a BEIR ``queries.jsonl`` (``_id`` and ``text``; ``metadata`` ignored).

    Args:
        path: The ``queries.jsonl`` file.
        ids: If given, keep only these query ids (in file order); each must occur
            in the file.

    Returns:
        The queries in file order.

    Raises:
        InputError: The file is missing or empty, a line is bad, an id repeats,
            or a requested id is not in the file.
    """
    path = check_file(path)
    queries, seen = [], {}
    for line, record in json_records(path, BadRecords()):
        qid = record_id(record.get("_id"), "_id", str(path), line)
        text = record.get("text")
        if not isinstance(text, str):
            found = "missing" if text is None else f"a {type(text).__name__}"
            raise InputError(f"query text field 'text' must be a string, found {found}", str(path), line)
        if qid in seen:
            raise InputError(f"duplicate query id {qid!r} (first seen on line {seen[qid]})", str(path), line)
        seen[qid] = line
        if ids is None or qid in ids:
            queries.append(Query(qid, text))
    if not seen:
        raise InputError("no queries found", str(path))
    missing = set(ids or ()) - seen.keys()
    if missing:
        raise InputError(f"{len(missing)} requested query ids are not in the file: {_sample(missing)}", str(path))
    return queries


def read_qrels(
    path: str | Path,
    known_queries: set[str] | None = None,
    known_docs: set[str] | None = None,
    skip_bad: bool = False,
    skipped: list | None = None,
) -> Qrels:
    """Read a BEIR ``qrels/<split>.tsv`` file.

    Rows are ``query-id<TAB>corpus-id<TAB>score`` with an integer score; a first
    line equal to that header is skipped; blank lines are ignored.

    Args:
        path: The qrels file.
        known_queries: If given, a row naming another query id is bad.
        known_docs: If given, a row naming another document id is bad.
        skip_bad: If True, a bad row (wrong number of columns, a non-integer
            grade, an unknown id, a repeated judgement, bytes that are not
            UTF-8) is skipped instead of raising: ``(path, line, reason)`` is
            appended to ``skipped`` and a warning is logged on the
            ``winnow.corpus`` logger. A file with no good row is still an error.
        skipped: Optional list that collects the skipped rows.

    Returns:
        The judgements, queries and documents in file order.

    Raises:
        InputError: The file is missing, a row is bad (unless ``skip_bad``; the
            message names the file and line), or no judgement remains.
    """
    path = check_file(path)
    bad, judgements = BadRecords(skip_bad, skipped), Judgements(path)
    for row, (line, text) in enumerate(text_lines(path, bad)):
        columns = text.split("\t")
        if row == 0 and columns == _QRELS_HEADER:
            continue
        try:
            judgements.add(*_qrels_row(columns, known_queries, known_docs, str(path), line), line)
        except InputError as exc:
            bad.report(exc)
    return judgements.qrels()


def _qrels_row(
    columns: list[str], known_queries: set[str] | None, known_docs: set[str] | None, path: str, line: int
) -> tuple[str, str, int]:
    if len(columns) != 3:
        found = len(columns)
        raise InputError(f"expected 3 tab-separated columns (query-id, corpus-id, score), found {found}", path, line)
    qid, docid, grade = columns
    if not qid or not docid:
        raise InputError("empty query-id or corpus-id", path, line)
    if known_queries is not None and qid not in known_queries:
        raise InputError(f"unknown query id {qid!r}", path, line)
    if known_docs is not None and docid not in known_docs:
        raise InputError(f"unknown document id {docid!r}", path, line)
    return qid, docid, parse_grade(grade, path, line)


@dataclass(frozen=True)
class BeirDataset:
    """One split of a BEIR folder.

    Attributes:
        corpus_path: The ``corpus.jsonl`` file, read lazily by :meth:`corpus`.
        queries: The queries judged in the split's qrels, in ``queries.jsonl`` order.
        qrels: The split's judgements.
    """

    corpus_path: Path
    queries: list[Query]
    qrels: Qrels

    def corpus(self, *, skip_bad: bool = False, skipped: list | None = None) -> Iterator[Document]:
        """Stream the corpus; see :func:`read_corpus`."""
        return read_corpus(self.corpus_path, skip_bad=skip_bad, skipped=skipped)


def load_beir(folder: str | Path, split: str = "test") -> BeirDataset:
    """Load the queries and qrels of one split of a BEIR folder.

    Every query id in the qrels must occur in ``queries.jsonl``. Document ids in
    the qrels are not checked against the corpus, which is only streamed later.

    Args:
        folder: The dataset folder (holding ``corpus.jsonl``).
        split: The qrels file to use, ``qrels/<split>.tsv``.

    Returns:
        The dataset; ``queries`` holds only the queries judged in ``split``.

    Raises:
        InputError: A file is missing (the message names it and, for qrels, the
            splits that exist) or a file is bad.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("no such folder; expected a BEIR dataset folder", str(folder))
    for name in ("corpus.jsonl", "queries.jsonl"):
        if not (folder / name).is_file():
            raise InputError(f"missing {name}; not a BEIR dataset folder", str(folder / name))
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        splits = sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))
        have = f"available splits: {', '.join(splits)}" if splits else "no qrels/*.tsv file exists"
        raise InputError(f"no qrels for split {split!r} ({have})", str(qrels_path))
    all_queries = read_queries(folder / "queries.jsonl")
    qrels = read_qrels(qrels_path, known_queries={q.id for q in all_queries})
    queries = [q for q in all_queries if q.id in qrels.judgements]
    return BeirDataset(folder / "corpus.jsonl", queries, qrels)


def _sample(ids: set[str], n: int = 5) -> str:
    shown = sorted(ids)[:n]
    return ", ".join(map(repr, shown)) + (", ..." if len(ids) > n else "")
