"""What fusion costs next to the retrievers it combines: two 1000-deep runs per query.

    python benchmarks/fusion_cost.py --corpus ../shared/data/beir/scifact
        [--second inference-free:../shared/models/splade-tiny] [--index-dir DIR] [--k 1000] [--cutoff 10]
        [--repeats 5]

Builds (or reuses, from ``--index-dir``) a BM25 index and a second index of the corpus
(``--second``: by default inference-free with the splade-tiny document encoder when that model
folder is there, else BM25 with k1=0.9, b=0.4). Times, best of ``--repeats`` rounds that
alternate between all contestants:

- each retriever, every test query searched one at a time for ``--k`` hits (query encoding included);
- each fusion method on those two runs keeping the best ``--cutoff`` per query (as ``Fusion``
  asked for that many does), query by query (the two one-query runs the retrievers return for
  each query fused per call, as a server answering one query does) and in one call over all
  queries (as a batch pipeline does); on document numbers when the two indexes share an id space
  (built from the corpus in one order), and on ids (the path for retrievers that do not) query by
  query;
- the pipeline ``bm25 + second`` (RRF of ``--k`` hits each) searched one query at a time; its
  fusion cost is its time less the two retrievers' times.

Prints the mean milliseconds per query and fusion's cost as a percentage of the slower
retriever's query time, and nDCG@10 of each system as a sanity check.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
FUSIONS = {
    "rrf": ("rrf", {}),
    "convex minmax": ("convex", {"norm": "minmax"}),
    "convex zscore": ("convex", {"norm": "zscore"}),
    "convex tm2c2": ("convex", {"norm": "tm2c2"}),
    "combsum": ("combsum", {}),
    "combmnz": ("combmnz", {}),
}


def build(corpus: str, out: Path, spec: str) -> None:
    """Build an index unless ``out`` already holds a complete one."""
    import winnow
    from winnow.errors import WinnowError

    try:
        winnow.load_index(out).close()
    except WinnowError:
        winnow.index_corpus(corpus, out, encoder=spec)


def default_second() -> str:
    model = SHARED / "models" / "splade-tiny"
    try:
        import torch  # noqa: F401
    except ImportError:
        return "bm25:k1=0.9,b=0.4"
    return f"inference-free:{model}" if model.is_dir() else "bm25:k1=0.9,b=0.4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=str(SHARED / "data" / "beir" / "scifact"), help="BEIR dataset folder")
    parser.add_argument("--second", default=None, help="the second index's encoder spec")
    parser.add_argument("--index-dir", help="where to keep the indexes (default: a temporary folder)")
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--cutoff", type=int, default=10, help="fused hits kept per query")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    import winnow
    from winnow.corpus.beir import load_beir
    from winnow.evaluate.metrics import evaluate
    from winnow.fuse import fuse
    from winnow.pipeline.ops import Fusion

    data = load_beir(args.corpus)
    specs = {"bm25": "bm25", "second": args.second or default_second()}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.index_dir or tmp)
        for name, spec in specs.items():
            build(args.corpus, root / name, spec)
        searchers = {name: winnow.load_index(root / name) for name in specs}
        texts = [q.text for q in data.queries]
        for s in searchers.values():
            s.search(texts[0], k=args.k)  # compile and page in
        runs = {name: s.search_batch(data.queries, k=args.k).renamed(name) for name, s in searchers.items()}
        a, b = runs["bm25"], runs["second"]
        floors = [searchers["bm25"].score_floor, searchers["second"].score_floor]
        shared = searchers["bm25"].id_space is not None and searchers["bm25"].id_space == searchers["second"].id_space
        singles = [(searchers["bm25"].retrieve([q], args.k).renamed("bm25"),
                    searchers["second"].retrieve([q], args.k).renamed("second")) for q in data.queries]
        pipeline = Fusion([searchers["bm25"], searchers["second"]], depth=args.k)  # bm25 + second
        ways = {"numbers" if shared else "ids": shared} | {"ids": False}
        best = {}
        for _ in range(args.repeats):
            for name, s in searchers.items():
                start = time.perf_counter()
                for text in texts:
                    s.search(text, k=args.k)
                _keep(best, name, time.perf_counter() - start)
            start = time.perf_counter()
            for text in texts:
                pipeline.search(text, k=args.cutoff)
            _keep(best, "bm25 + second (pipeline)", time.perf_counter() - start)
            for label, (method, params) in FUSIONS.items():
                for way, numbers in ways.items():
                    start = time.perf_counter()
                    for pair in singles:
                        fuse(pair, method, floors=floors, cutoff=args.cutoff, shared_docnos=numbers, **params)
                    _keep(best, f"{label} ({way}, per query)", time.perf_counter() - start)
                start = time.perf_counter()
                fuse([a, b], method, floors=floors, cutoff=args.cutoff, shared_docnos=shared, **params)
                _keep(best, f"{label} ({'numbers' if shared else 'ids'}, batch)", time.perf_counter() - start)
        n = len(texts)
        slower = max(best["bm25"], best["second"]) / n
        depth = sum(len(h) for h in a.values()) / n, sum(len(h) for h in b.values()) / n
        print(f"corpus={args.corpus} queries={n} k={args.k} cutoff={args.cutoff} second={specs['second']} "
              f"hits per query: bm25 {depth[0]:.0f}, second {depth[1]:.0f}; shared id space: {shared}; "
              f"best of {args.repeats}")
        print(f"{'system':36}{'ms/query':>10}{'% of slower':>13}{'nDCG@10':>9}")
        for name, seconds in best.items():
            if name in searchers:
                quality = evaluate(runs[name], data.qrels, ["ndcg@10"])["ndcg@10"]
            elif name == "bm25 + second (pipeline)":
                quality = evaluate(pipeline.search_batch(data.queries, args.cutoff), data.qrels, ["ndcg@10"])["ndcg@10"]
                seconds -= best["bm25"] + best["second"]
                name = "rrf (in the pipeline, per query)"
            else:
                method, params = FUSIONS[name.rsplit(" (", 1)[0]]
                fused = fuse([a, b], method, floors=floors, cutoff=args.cutoff, shared_docnos=shared, **params)
                quality = evaluate(fused, data.qrels, ["ndcg@10"])["ndcg@10"]
            share = "" if name in searchers else f"{100 * seconds / n / slower:12.1f}%"
            print(f"{name:36}{1e3 * seconds / n:10.3f}{share:>13}{quality:9.4f}")


def _keep(best: dict, name: str, seconds: float) -> None:
    best[name] = min(best.get(name, float("inf")), seconds)


if __name__ == "__main__":
    main()
