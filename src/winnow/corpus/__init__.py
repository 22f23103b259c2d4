"""Streaming corpus IO: BEIR folders, record files (JSON Lines, CSV, TSV, Parquet) and TREC files.

Readers stream documents and report every bad record as an
:class:`~winnow.errors.InputError` naming the file and line; with
``skip_bad=True`` they skip it, collect ``(path, line, reason)`` and log a
warning on the ``winnow.corpus`` logger instead.
"""

from winnow.corpus.beir import BeirDataset, load_beir, read_corpus, read_qrels, read_queries
from winnow.corpus.tabular import open_corpus, read_records
from winnow.corpus.trec import read_run, read_trec_qrels, write_run, write_trec_qrels

__all__ = [
    "BeirDataset",
    "load_beir",
    "open_corpus",
    "read_corpus",
    "read_qrels",
    "read_queries",
    "read_records",
    "read_run",
    "read_trec_qrels",
    "write_run",
    "write_trec_qrels",
]
