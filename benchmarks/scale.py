"""How winnow's query cost grows with the corpus and with the query length.

    python benchmarks/scale.py --work DIR [--sizes 10000,100000,1000000] [--queries 500] [--json OUT]

For each size, two synthetic corpora with Zipfian term statistics are generated (cached in
``--work``): a BEIR text corpus (``synth.py``) indexed with BM25, and learned-sparse-like
vectors (``_vecdata.make_synth``: 50-149 terms per document over 30k terms). Queries:

* ``bm25``: the text queries (2-6 words);
* ``vec-L``: the vector queries cut to their ``L`` largest weights, L in 5, 10, 20, 40, 60
  (inference-free queries sit near 10-20 terms, SPLADE queries near 20-60).

Each workload is timed with every exact strategy (``exhaustive``, ``maxscore``, ``auto``):
queries/s single-thread (one query at a time, best of ``--repeats``), mean and p99 latency, and
batch queries/s on all cores. All strategies return identical top-10s; the script checks it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

STRATEGIES = ("exhaustive", "maxscore", "auto")
LENGTHS = (5, 10, 20, 40, 60)


def timed(search, queries, repeats):
    """Per-query latencies of the best of ``repeats`` passes (seconds)."""
    best = None
    for _ in range(repeats):
        lat = np.empty(len(queries))
        for i, q in enumerate(queries):
            t0 = time.perf_counter()
            search(q)
            lat[i] = time.perf_counter() - t0
        if best is None or lat.sum() < best.sum():
            best = lat
    return best


def measure(single, batch, queries, repeats) -> dict:
    single(queries[0])
    batch(queries[:4])
    lat = timed(single, queries, repeats)
    batch_s = min((lambda t0: (batch(queries), time.perf_counter() - t0)[1])(time.perf_counter())
                  for _ in range(repeats))
    return {"qps": len(queries) / lat.sum(), "mean_ms": 1000 * lat.mean(), "p99_ms": 1000 * np.percentile(lat, 99),
            "qps_batch": len(queries) / batch_s}


def cut(terms, weights, length):
    top = np.argsort(-weights, kind="stable")[:length]
    return terms[top], weights[top]


def bm25_rows(work, n, n_queries, repeats):
    from synth import write_synth

    import winnow

    folder = os.path.join(work, f"synth-{n}")
    if not os.path.exists(os.path.join(folder, "corpus.jsonl")):
        write_synth(folder, n, n_queries)
    index = os.path.join(work, f"bm25-{n}")
    if not os.path.exists(os.path.join(index, "manifest.json")):
        winnow.index_corpus(folder, index, encoder="bm25", store=False)
    s = winnow.load_index(index)
    texts = [json.loads(line)["text"] for line in open(os.path.join(folder, "queries.jsonl"))][:n_queries]
    vectors = [s.encode(t) for t in texts]
    return _strategy_rows(s, vectors, "bm25", n, repeats)


def vector_rows(work, n, n_queries, repeats):
    from _vecdata import index_csr, load_csr, make_synth, rows

    import winnow

    folder = make_synth(os.path.join(work, f"vec-{n}"), n, n_queries)
    index = os.path.join(work, f"vecidx-{n}")
    if not os.path.exists(os.path.join(index, "manifest.json")):
        index_csr(load_csr(os.path.join(folder, "docs.npz")), index, folder)
    s = winnow.load_index(index)
    queries = rows(load_csr(os.path.join(folder, "queries-synth.npz")))[:n_queries]
    out = []
    for length in LENGTHS:
        out += _strategy_rows(s, [cut(t, w, length) for t, w in queries], f"vec-{length}", n, repeats)
    return out


def _strategy_rows(s, vectors, workload, n, repeats):
    out, reference = [], None
    for strategy in STRATEGIES:
        hits = [s.search_vector(t, w, 10, strategy).docnos.tolist() for t, w in vectors]
        reference = reference or hits
        if hits != reference:
            raise AssertionError(f"{strategy} disagrees with exhaustive on {workload} at {n} docs")
        row = measure(lambda q: s.search_vector(q[0], q[1], 10, strategy),
                      lambda qs: s.search_vectors(qs, 10, None, strategy), vectors, repeats)
        postings = np.mean([int((s.index.indptr[t + 1] - s.index.indptr[t]).sum()) for t, _ in vectors])
        out.append({"docs": n, "workload": workload, "strategy": strategy, "postings_per_query": postings, **row})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", required=True, help="folder for generated corpora and indexes (reused)")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-vectors", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    rows = []
    for n in map(int, a.sizes.split(",")):
        rows += bm25_rows(a.work, n, a.queries, a.repeats)
        if not a.skip_vectors:
            rows += vector_rows(a.work, n, a.queries, a.repeats)
    print("| docs | workload | strategy | postings/query | qps 1x | mean ms | p99 ms | qps batch |")
    print("|---:|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['docs']:,} | {r['workload']} | {r['strategy']} | {r['postings_per_query']:,.0f} | "
              f"{r['qps']:,.0f} | {r['mean_ms']:.3f} | {r['p99_ms']:.3f} | {r['qps_batch']:,.0f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
