"""Approximate search with an HNSW graph (Malkov and Yashunin, TPAMI 2018) from usearch or faiss.

Both libraries build the same kind of graph over the index's vectors (inner product; the vectors
are already normalised for cosine models) with the same parameters: ``m`` links per node,
``ef_construction`` candidates while inserting, ``ef_search`` candidates while searching (at
least ``k``). The graph is a file in the index folder, ``hnsw-<library>.bin``; usearch serves it
memory-mapped (``Index.restore(view=True)``), faiss reads it into memory. Document numbers are the
graph's keys. ``docs/dense.md`` compares the two and says why faiss is the default.

Filters: faiss searches its graph with an ``IDSelectorBitmap`` and returns only allowed documents
(the filter is exact; the ranking is as approximate as unfiltered HNSW, and gets worse when the
filter keeps few documents). usearch's Python API has no filtered search, so a filtered query on
a usearch graph is answered by exact search over the allowed documents.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from winnow.errors import IndexFormatError, WinnowError, require

LIBRARIES = ("usearch", "faiss")
DEFAULT_LIBRARY = "faiss"  # measured faster to build and search at equal recall; filters exactly
ADD_CHUNK = 65536  # vectors handed to the library per call (bounds the copy of a memory map)


@dataclass(frozen=True)
class HnswParams:
    """HNSW graph settings.

    Attributes:
        m: Links per node (usearch ``connectivity``, faiss ``M``).
        ef_construction: Candidate list while inserting (usearch ``expansion_add``).
        ef_search: Default candidate list while searching (usearch ``expansion_search``), at least ``k``.
        threads: Threads for building (0: all cores).
    """

    m: int = 32
    ef_construction: int = 200
    ef_search: int = 128
    threads: int = 0

    def __post_init__(self) -> None:
        if min(self.m, self.ef_construction, self.ef_search) < 2 or self.threads < 0:
            raise WinnowError(f"HNSW parameters must be >= 2 (threads >= 0): {self}")


def graph_file(library: str) -> str:
    return f"hnsw-{library}.bin"


def build_graph(library: str, vectors: np.ndarray, params: HnswParams, folder: Path) -> dict:
    """Build and save an HNSW graph over ``vectors`` (rows are document numbers) in ``folder``.

    Returns:
        Its manifest entry: file, parameters, build seconds.
    """
    start = time.perf_counter()
    path = folder / graph_file(library)
    n, dim = vectors.shape
    if library == "usearch":
        usearch = require("usearch.index", "dense")
        index = usearch.Index(ndim=dim, metric="ip", dtype="f16" if vectors.dtype == np.float16 else "f32",
                              connectivity=params.m, expansion_add=params.ef_construction,
                              expansion_search=params.ef_search)
        for lo in range(0, n, ADD_CHUNK):
            chunk = np.ascontiguousarray(vectors[lo:lo + ADD_CHUNK])
            index.add(np.arange(lo, lo + len(chunk), dtype=np.uint64), chunk, threads=params.threads)
        index.save(str(path))
    elif library == "faiss":
        faiss = require("faiss", "dense")
        if params.threads:
            faiss.omp_set_num_threads(params.threads)
        index = faiss.IndexHNSWFlat(dim, params.m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.ef_construction
        index.hnsw.efSearch = params.ef_search
        for lo in range(0, n, ADD_CHUNK):
            index.add(np.ascontiguousarray(vectors[lo:lo + ADD_CHUNK], dtype=np.float32))
        faiss.write_index(index, str(path))
    else:
        raise WinnowError(f"unknown ANN library {library!r}; choose one of {', '.join(LIBRARIES)}")
    return {"file": path.name, **asdict(params), "seconds": round(time.perf_counter() - start, 3)}


class HnswGraph:
    """A saved graph opened for search.

    Args:
        folder: The index folder.
        library: ``usearch`` or ``faiss``.
        entry: The graph's manifest entry.
    """

    def __init__(self, folder: Path, library: str, entry: dict):
        self.library = library
        self.ef_search = int(entry["ef_search"])
        path = folder / entry["file"]
        try:
            if library == "usearch":
                self._index = require("usearch.index", "dense").Index.restore(str(path), view=True)
                if self._index is None:
                    raise ValueError("not a usearch index")
            else:
                self._faiss = require("faiss", "dense")
                self._index = self._faiss.read_index(str(path))
        except (RuntimeError, ValueError, OSError) as exc:
            raise IndexFormatError(f"{path}: cannot open the {library} graph ({exc}); rebuild the index") from exc

    @property
    def filters_exactly(self) -> bool:
        """Whether the library can restrict a graph search to a set of documents."""
        return self.library == "faiss"

    def search(self, queries: np.ndarray, k: int, ef: int | None = None, allowed: np.ndarray | None = None,
               threads: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(docnos int64 (q, k), scores float32 (q, k), counts (q,))``, best first by inner product.

        ``allowed`` (a bool mask over documents) is honoured by faiss only; see the module notes.
        """
        ef = max(k, ef or self.ef_search)
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if self.library == "usearch":
            if allowed is not None:
                raise WinnowError("usearch has no filtered graph search; search exactly instead")
            self._index.expansion_search = ef
            matches = self._index.search(queries, k, threads=threads)
            counts = np.asarray(matches.counts, dtype=np.int64).reshape(-1)
            docnos = np.asarray(matches.keys, dtype=np.int64).reshape(len(queries), -1)
            scores = (1.0 - np.asarray(matches.distances, dtype=np.float32)).reshape(len(queries), -1)
        else:
            faiss = self._faiss
            params = faiss.SearchParametersHNSW()
            params.efSearch = ef
            if allowed is not None:
                bits = np.packbits(allowed.astype(np.uint8), bitorder="little")
                selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
                params.sel = selector
            scores, docnos = self._index.search(queries, k, params=params)
            counts = (docnos >= 0).sum(axis=1).astype(np.int64)
        return docnos, scores.astype(np.float32, copy=False), counts
