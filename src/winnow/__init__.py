"""winnow: learned sparse and hybrid retrieval on one fast inverted index.

``import winnow`` is instant: submodules (numba kernels, models) load on first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "index_corpus": "winnow.api",
    "load_index": "winnow.api",
    "open": "winnow.api",
    "Retriever": "winnow.retrieve.retriever",
    "Reranker": "winnow.retrieve.retriever",
    "fuse": "winnow.fuse",
    "build_pipeline": "winnow.pipeline.grammar",
    "Searcher": "winnow.retrieve.searcher",
    "SparseIndex": "winnow.index.reader",
    "IndexInfo": "winnow.index.writer",
    "IndexWriter": "winnow.index.writer",
    "open_writer": "winnow.index.writer",
    "evaluate": "winnow.evaluate.metrics",
    "run_beir": "winnow.evaluate.experiment",
    "Document": "winnow.types",
    "Query": "winnow.types",
    "Hits": "winnow.types",
    "Run": "winnow.types",
    "Qrels": "winnow.types",
    "SparseBatch": "winnow.types",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'winnow' has no attribute {name!r}")


def __dir__():
    return __all__
