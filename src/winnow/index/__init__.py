"""Inverted index over sparse vectors: building, on-disk format, loading."""

from winnow.index.reader import SparseIndex
from winnow.index.writer import IndexInfo, build_index

__all__ = ["SparseIndex", "IndexInfo", "build_index"]
