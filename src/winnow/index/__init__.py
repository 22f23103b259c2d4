"""Inverted index over sparse vectors: segments, commits, writing, loading."""

from winnow.index.reader import SparseIndex
from winnow.index.writer import IndexInfo, IndexWriter, build_index, open_writer

__all__ = ["SparseIndex", "IndexInfo", "IndexWriter", "build_index", "open_writer"]
