"""Exact against HNSW search over dense vectors: winnow on usearch and faiss, and the raw libraries.

Datasets: random unit vectors (``--sizes``, ``--dim``; queries drawn the same way), either
isotropic (``--distribution random``: the hardest case for a graph, every point about equally far
from every other) or clustered (``clustered``: a mixture of ``--clusters`` Gaussian clusters with
random centres, the shape of real embedding collections), and the documents of existing winnow
dense indexes (``--indexes``) with their BEIR test queries encoded by the index's own encoder. For each: build time and size of each graph, resident memory added
by opening it, queries/s (one batch of all queries, all cores) and recall@10 against winnow's
exact search, for

* ``winnow-exact``: :class:`~winnow.dense.retriever.DenseRetriever`, BLAS over memory-mapped vectors;
* ``numpy-exact``: one ``Q @ V.T`` and ``argpartition`` (no ties rule, no ids), the floor;
* ``winnow-usearch`` / ``winnow-faiss``: the retriever on each graph (ids decoded, Hits built);
* ``usearch`` / ``faiss``: the raw library's batch search on the same graph file.

    python benchmarks/dense_ann.py --sizes 100000 --work /tmp/ann
    python benchmarks/dense_ann.py --sizes 0 --indexes ../indexes/dense-scifact,../indexes/dense-nfcorpus \
        --data ../shared/data/beir
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class GivenVectors:
    """A stand-in encoder that hands the index writer precomputed vectors (document id = row)."""

    kind = "vectors"
    normalize = True

    def __init__(self, vectors: np.ndarray):
        self.vectors = vectors

    def config(self) -> dict:
        return {"given": list(self.vectors.shape)}

    def encode_documents(self, docs, progress=None) -> np.ndarray:
        return self.vectors[[int(d.id) for d in docs]]


def sample(rng, n: int, dim: int, centres: np.ndarray | None, spread: float) -> np.ndarray:
    """``n`` unit vectors: isotropic, or around randomly chosen ``centres`` with ``spread``."""
    block = rng.normal(size=(n, dim)).astype(np.float32)
    if centres is not None:
        block = centres[rng.integers(0, len(centres), n)] + spread * block / np.sqrt(dim)
    return block / np.linalg.norm(block, axis=1, keepdims=True)


def random_index(n: int, dim: int, n_queries: int, work: Path, libraries: list[str], params, clusters: int = 0,
                 spread: float = 0.5) -> tuple[Path, np.ndarray]:
    from winnow.dense.index import write_dense_index
    from winnow.types import Document

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32) / np.sqrt(dim) if clusters else None
    out = work / (f"clustered{clusters}-{n}x{dim}" if clusters else f"random-{n}x{dim}")
    queries = sample(rng, n_queries, dim, centres, spread)
    if not (out / "manifest.json").exists():
        vectors = np.empty((n, dim), np.float32)
        for lo in range(0, n, 100_000):
            vectors[lo:lo + 100_000] = sample(rng, min(100_000, n - lo), dim, centres, spread)
        docs = (Document(str(i), "") for i in range(n))
        write_dense_index(docs, GivenVectors(vectors), out, store=False, ann=libraries, hnsw=params)
    return out, queries


def beir_queries(index: Path, data: Path) -> np.ndarray:
    from winnow.corpus.beir import load_beir
    from winnow.dense.retriever import DenseRetriever

    name = index.name.removeprefix("dense-")
    queries = load_beir(data / name, split="test").queries
    return DenseRetriever(index).encoder.encode_queries([q.text for q in queries])


def timed(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def recall(found: list[list[int]], exact: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(f[:k]) & set(e[:k].tolist())) / k for f, e in zip(found, exact)]))


def bench(index: Path, queries: np.ndarray, k: int, efs: list[int], repeat: int) -> list[dict]:
    import faiss
    from usearch.index import Index

    from winnow.dense.retriever import DenseRetriever

    rows = []
    exact_retriever = DenseRetriever(index, verify=False)
    n = exact_retriever.index.n_docs
    hits, seconds = timed(lambda: exact_retriever.search_vectors(queries, k), repeat)
    exact = np.array([h.docnos for h in hits])
    rows.append({"system": "winnow-exact", "qps": len(queries) / seconds, "recall": 1.0})
    vectors = np.asarray(exact_retriever.index.vectors)

    def numpy_exact(block: int = 64):  # a block of queries at a time: 1000 x 1M scores would take 4 GB
        out = np.empty((len(queries), k), np.int64)
        for lo in range(0, len(queries), block):
            scores = queries[lo:lo + block] @ vectors.T
            out[lo:lo + block] = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        return out

    found, seconds = timed(numpy_exact, repeat)
    rows.append({"system": "numpy-exact", "qps": len(queries) / seconds, "recall": recall(found.tolist(), exact, k)})
    graphs = exact_retriever.index.manifest.get("ann") or {}
    for library, entry in graphs.items():
        path = index / entry["file"]
        before = rss_mb()
        raw = Index.restore(str(path), view=True) if library == "usearch" else faiss.read_index(str(path))
        opened = rss_mb() - before
        retriever = DenseRetriever(index, verify=False, strategy="hnsw", library=library)
        for ef in efs:
            retriever.ef_search = ef
            hits, seconds = timed(lambda: retriever.search_vectors(queries, k), repeat)
            rows.append({"system": f"winnow-{library}", "ef": ef, "qps": len(queries) / seconds,
                         "recall": recall([h.docnos.tolist() for h in hits], exact, k),
                         "build_s": entry["seconds"], "graph_mb": path.stat().st_size / 2**20, "open_rss_mb": opened})
            if library == "usearch":
                raw.expansion_search = ef
                matches, seconds = timed(lambda: raw.search(queries, k), repeat)
                found = np.asarray(matches.keys).reshape(len(queries), -1).tolist()
            else:
                params = faiss.SearchParametersHNSW()
                params.efSearch = ef
                (_, found), seconds = timed(lambda: raw.search(queries, k, params=params), repeat)
                found = found.tolist()
            rows.append({"system": library, "ef": ef, "qps": len(queries) / seconds,
                         "recall": recall(found, exact, k)})
    for row in rows:
        row["n"] = n
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000", help="random datasets (0 for none), e.g. 100000,1000000")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--distribution", default="random", help="random, clustered, or both: random,clustered")
    parser.add_argument("--clusters", type=int, default=1000, help="clusters of the clustered vectors")
    parser.add_argument("--spread", type=float, default=0.5, help="noise around a cluster's centre (its radius)")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--indexes", default="", help="winnow dense index folders (their graphs are used)")
    parser.add_argument("--data", default="../shared/data/beir", help="BEIR folders of the --indexes")
    parser.add_argument("--work", default="/tmp/winnow-dense-ann")
    parser.add_argument("--libraries", default="usearch,faiss")
    parser.add_argument("--m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef-search", default="32,64,128,256,512")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from winnow.dense.ann import HnswParams

    params = HnswParams(m=args.m, ef_construction=args.ef_construction)
    efs = [int(e) for e in args.ef_search.split(",")]
    datasets = []
    for size in (int(s) for s in args.sizes.split(",") if int(s)):
        for shape in args.distribution.split(","):
            clusters = args.clusters if shape == "clustered" else 0
            label = f"clustered ({clusters} clusters, spread {args.spread})" if clusters else "random"
            datasets.append((f"{label} {size}x{args.dim}",
                             *random_index(size, args.dim, args.queries, Path(args.work), args.libraries.split(","),
                                           params, clusters, args.spread)))
    for folder in (Path(f) for f in args.indexes.split(",") if f):
        datasets.append((folder.name, folder, beir_queries(folder, Path(args.data))))
    print(f"HNSW m={args.m} ef_construction={args.ef_construction}; recall@{args.k} against winnow-exact")
    for name, index, queries in datasets:
        print(f"\n{name}: {len(queries)} queries")
        print(f"{'system':15s} {'ef':>4s} {'queries/s':>10s} {'recall':>7s} {'build s':>8s} {'graph MB':>9s} "
              f"{'open RSS MB':>11s}")
        for row in bench(index, queries, args.k, efs, args.repeat):
            extra = (f"{row['build_s']:8.1f} {row['graph_mb']:9.1f} {row['open_rss_mb']:11.1f}"
                     if "build_s" in row else "")
            print(f"{row['system']:15s} {row.get('ef', ''):>4} {row['qps']:10.1f} {row['recall']:7.4f} {extra}",
                  flush=True)


if __name__ == "__main__":
    main()
