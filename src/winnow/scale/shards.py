"""Sharded search on Ray: an index split by document into shards that score as the whole collection.

A sharded index is a folder::

    manifest.json     {"format": "winnow-sharded-index", "shards": [{"name", "doc_base", "n_docs"}], ...}
    shard-00000/      an ordinary winnow index of documents [doc_base, doc_base + n_docs)
    shard-00001/      ...

Shards are built in parallel as Ray tasks from one vectors folder (``winnow encode``), each over a
contiguous range of the corpus. Collection statistics are computed once over all the vectors and
given to every shard (:class:`CollectionStatistics`): BM25's document frequencies, document counts
and average lengths per field, and the corpus IDF of inference-free query weights. Every posting's
impact is then the one a single index over all the documents would hold, bit for bit.

:class:`ShardedRetriever` scatters each batch of queries to Ray actors, one per shard holding it
memory-mapped, and merges their top-k by score, ties by global document number (a shard's base
plus its own number), which is the order one index gives. Each shard encodes the queries itself:
BM25 shards number their terms differently.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from winnow.errors import IndexFormatError, WinnowError, require
from winnow.fsutil import building
from winnow.retrieve.retriever import Retriever
from winnow.scale.vectors import VECTOR_COLUMNS, ReplayEncoder, finished_parts, read_manifest, read_tables, \
    table_vectors, write_json
from winnow.types import Hits, Query, Run

log = logging.getLogger("winnow.scale")

FORMAT = "winnow-sharded-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
START_TIMEOUT = 600  # seconds to wait for the shard actors to start


def shard_name(number: int) -> str:
    return f"shard-{number:05d}"


def shard_ranges(n_docs: int, n_shards: int) -> list[tuple[int, int]]:
    """``n_shards`` contiguous, balanced document ranges ``[lo, hi)`` covering ``n_docs``."""
    if not 1 <= n_shards <= n_docs:
        raise WinnowError(f"need between 1 and {n_docs} shards (one document each at least), got {n_shards}")
    bounds = [i * n_docs // n_shards for i in range(n_shards + 1)]
    return list(zip(bounds, bounds[1:]))


class CollectionStatistics:
    """The statistics of a whole collection that its shards score with.

    For an encoder whose vocabulary grows (BM25): per field, the documents with the field non-empty,
    their summed length and each term's document frequency, terms keyed by string (shards number
    them differently). For an inference-free encoder with corpus IDF: the document frequency of
    each token and the number of documents. Other encoders need none (:meth:`of` returns ``None``).
    """

    def __init__(self, n_docs: int, df: np.ndarray, terms: dict[str, int] | None = None,
                 docs: Sequence[int] = (), length_sums: Sequence[int] = ()):
        self.n_docs, self.df, self.terms = n_docs, df, terms
        self.docs, self.length_sums = list(docs), list(length_sums)

    @staticmethod
    def of(vectors: str | Path) -> "CollectionStatistics | None":
        """Read the statistics off a vectors folder (vector columns only), or ``None`` when not needed."""
        encoder = ReplayEncoder(vectors)
        if encoder.grows:
            return CollectionStatistics._bm25(encoder)
        if getattr(encoder.inner, "idf_source", None) == "corpus":
            df = np.zeros(len(encoder.vocabulary()), dtype=np.int64)
            for table, _ in read_tables(encoder.folder, encoder.names, encoder.counts, VECTOR_COLUMNS, 0, encoder.hi):
                df += np.bincount(table_vectors(table, 1).indices, minlength=len(df))
            return CollectionStatistics(encoder.hi, df)
        return None

    @staticmethod
    def _bm25(encoder: ReplayEncoder) -> "CollectionStatistics":
        n_fields = encoder.n_columns
        terms: dict[str, int] = {}
        df = np.zeros((0, n_fields), dtype=np.int64)
        docs, length_sums = [0] * n_fields, [0] * n_fields
        for table, vocab in read_tables(encoder.folder, encoder.names, encoder.counts, VECTOR_COLUMNS, 0, encoder.hi):
            batch = table_vectors(table, n_fields)
            values = batch.values.reshape(len(batch.indices), n_fields)
            ids = np.fromiter((terms.setdefault(t, len(terms)) for t in vocab), np.int64, len(vocab))
            if len(terms) > len(df):
                df = np.concatenate([df, np.zeros((len(terms) - len(df), n_fields), np.int64)])
            rows = np.repeat(np.arange(len(batch)), np.diff(batch.indptr))
            for f in range(n_fields):
                present = values[:, f] > 0
                df[:, f] += np.bincount(ids[batch.indices[present]], minlength=len(df))
                lengths = np.bincount(rows, weights=values[:, f], minlength=len(batch))
                docs[f] += int(np.count_nonzero(lengths))
                length_sums[f] += int(lengths.sum())
        return CollectionStatistics(encoder.hi, df, terms, docs, length_sums)

    def finalize(self, encoder, postings, out_dir: Path) -> np.ndarray:
        """``encoder.finalize`` for one shard's postings, with this collection's statistics."""
        if self.terms is not None:
            from winnow.encode.bm25 import FieldStatistics

            ids = np.fromiter((self.terms[t] for t in encoder.vocabulary()), np.int64)
            collection = [FieldStatistics(self.docs[f], self.length_sums[f], self.df[ids, f])
                          for f in range(encoder.n_columns)]
            return encoder.finalize(postings, out_dir, collection)
        from winnow.encode.inference_free import IDF_FILE
        from winnow.index.postings import Postings

        impacts = encoder.finalize(postings, out_dir)
        indptr = np.concatenate([[0], np.cumsum(self.df)])  # postings of the whole collection, counted only
        whole = Postings(indptr, np.zeros(0, np.int32), np.zeros((0, 1), np.float32), self.n_docs)
        np.save(Path(out_dir) / IDF_FILE, encoder.query_weights(whole))
        return impacts


def _build_shard(vectors: str, lo: int, hi: int, out: str, statistics, batch_size: int, store: bool) -> int:
    from winnow.index.writer import build_index

    encoder = ReplayEncoder(vectors, lo, hi, statistics)
    return build_index(encoder.documents(), encoder, out, batch_size=batch_size, store=store,
                       spec=encoder.manifest["spec"]).n_docs


def build_sharded_index(vectors: str | Path, out: str | Path, shards: int, *, address: str | None = None,
                        batch_size: int = 1000, store: bool = True, cpus_per_shard: float = 1.0) -> dict:
    """Build ``shards`` index shards from a vectors folder in parallel on Ray.

    Impacts are float32 (8-bit quantisation would give each shard its own scale). The folder at
    ``out`` is written beside it and renamed into place, replacing a sharded index already there.

    Args:
        vectors: a vectors folder (``winnow encode``), on storage every node can read.
        out: the sharded index folder, on storage every node can write.
        shards: number of shards (contiguous document ranges of near-equal size).
        address: the Ray cluster; default: the one already connected, or a new local one.
        batch_size: documents per batch while building each shard.
        store: keep title, text and metadata in the shards.
        cpus_per_shard: CPUs Ray reserves for each shard's build.

    Returns:
        The saved manifest.
    """
    ray = require("ray", "ray")
    manifest_v = read_manifest(vectors)
    n_docs = sum(manifest_v["parts"][n]["n_docs"] for n in finished_parts(Path(vectors), manifest_v))
    ranges = shard_ranges(n_docs, shards)
    statistics = CollectionStatistics.of(vectors)
    out = Path(out)
    _check_replaceable(out)
    with building(out, _check_replaceable) as staging:
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        build = ray.remote(num_cpus=cpus_per_shard)(_build_shard)
        shared = ray.put(statistics)
        ray.get([build.remote(str(Path(vectors).resolve()), lo, hi, str((staging / shard_name(i)).resolve()), shared,
                              batch_size, store) for i, (lo, hi) in enumerate(ranges)])
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "spec": manifest_v["spec"],
            "encoder": {"kind": manifest_v["encoder"]["kind"]},
            "n_docs": n_docs,
            "shards": [{"name": shard_name(i), "doc_base": lo, "n_docs": hi - lo} for i, (lo, hi) in enumerate(ranges)],
        }
        write_json(staging / MANIFEST, manifest)
    log.info("built %d shards of %d documents in %s", shards, n_docs, out)
    return manifest


def _check_replaceable(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        try:
            read_sharded_manifest(out)
        except IndexFormatError:
            raise IndexFormatError(f"{out}: exists and is not a sharded winnow index; refusing to overwrite it") \
                from None


def read_sharded_manifest(path: str | Path) -> dict:
    """The manifest of a sharded index folder.

    Raises:
        IndexFormatError: the folder is not a sharded index of a version this winnow reads.
    """
    file = Path(path) / MANIFEST
    if not file.is_file():
        raise IndexFormatError(f"{path}: not a winnow index (no {MANIFEST})")
    manifest = json.loads(file.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(f"{file}: not {FORMAT} version {FORMAT_VERSION}")
    return manifest


def merge_hits(parts: Sequence[tuple[Sequence[str], np.ndarray, np.ndarray]], bases: Sequence[int], k: int) -> Hits:
    """Merge per-shard top-k ``(ids, scores, shard document numbers)`` into the global top ``k``.

    Order: higher score first, ties by lower global document number (``base + number``), the
    order a single index over all the shards' documents gives.
    """
    scores = np.concatenate([np.asarray(p[1]) for p in parts])
    docnos = np.concatenate([np.asarray(p[2], dtype=np.int64) + base for p, base in zip(parts, bases)])
    ids = [i for p in parts for i in p[0]]
    order = np.lexsort((docnos, -scores))[:k]
    return Hits(tuple(ids[i] for i in order.tolist()), scores[order], docnos[order])


class ShardServer:
    """The Ray actor holding one shard memory-mapped and answering batches of queries."""

    def __init__(self, path: str, verify: bool):
        from winnow.retrieve.searcher import Searcher

        self.searcher = Searcher(path, verify=verify)

    def score_floor(self) -> float | None:
        return self.searcher.score_floor

    def search(self, texts: list[str], k: int, strategy: str) -> list[tuple[tuple[str, ...], np.ndarray, np.ndarray]]:
        queries = [Query(str(i), text) for i, text in enumerate(texts)]
        run = self.searcher.retrieve(queries, k, strategy=strategy)
        return [(h.ids, h.scores, h.docnos) for h in run.values()]


class ShardedRetriever(Retriever):
    """Search a sharded index whose shards Ray actors hold; results equal one index's exactly.

    Example::

        retriever = ShardedRetriever("indexes/msmarco-4", address="auto")
        run = retriever.search_batch(["what is a sparse vector"], k=10)

    Args:
        path: a sharded index folder (:func:`build_sharded_index`), readable by every node.
        verify: check every shard file's checksum as it is opened.
        address: the Ray cluster; default: the one already connected, or a new local one.
        cpus_per_shard: CPUs Ray reserves for each shard's actor (none by default: actors are spread
            over the nodes and never wait for free CPUs; reserve some to keep other work off them).
        strategy: the top-k strategy every shard runs (``auto``, ``exhaustive``, ``maxscore``).
    """

    def __init__(self, path: str | Path, verify: bool = True, address: str | None = None,
                 cpus_per_shard: float = 0.0, strategy: str = "auto"):
        self._ray = require("ray", "ray")
        self.path = Path(path)
        self.manifest = read_sharded_manifest(self.path)
        if strategy == "approx":
            raise WinnowError("a sharded index merges exact top-k lists; choose auto, exhaustive or maxscore")
        self.strategy = strategy
        if not self._ray.is_initialized():
            self._ray.init(address=address, include_dashboard=False, log_to_driver=False)
        server = self._ray.remote(num_cpus=cpus_per_shard, scheduling_strategy="SPREAD")(ShardServer)
        shards = self.manifest["shards"]
        self._actors = [server.remote(str((self.path / s["name"]).resolve()), verify) for s in shards]
        self._bases = [int(s["doc_base"]) for s in shards]
        try:
            floors = self._ray.get([a.score_floor.remote() for a in self._actors], timeout=START_TIMEOUT)
        except self._ray.exceptions.GetTimeoutError:
            self.close()
            raise WinnowError(f"{len(shards)} shard actors did not start in {START_TIMEOUT} s; the cluster may lack "
                              f"the {cpus_per_shard} CPUs each reserves") from None
        self.score_floor = None if None in floors else min(floors)
        self.name = self.manifest.get("spec") or self.manifest["encoder"]["kind"]

    @property
    def n_docs(self) -> int:
        return int(self.manifest["n_docs"])

    def retrieve(self, queries: list[Query], k: int, filter=None) -> Run:
        if filter is not None:
            raise WinnowError("a sharded index has no metadata fields to filter on")
        if not self._actors:
            raise WinnowError(f"{self.path}: the retriever was closed")
        texts = [q.text for q in queries]
        parts = self._ray.get([a.search.remote(texts, k, self.strategy) for a in self._actors])
        return Run({q.id: merge_hits([p[i] for p in parts], self._bases, k) for i, q in enumerate(queries)}, self.name)

    def close(self) -> None:
        """Stop the shard actors."""
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []
