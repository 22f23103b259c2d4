"""Filtered search against unfiltered search, at 1%, 10% and 50% selectivity.

    python benchmarks/filtered.py --corpus BEIR_DIR [--encoder bm25] [--k 10] [--repeats 3]
        [--index-dir DIR] [--threads N]

Indexes the corpus with one synthetic metadata field, ``bucket`` (an integer drawn uniformly
from 0..99 per document, seeded), so ``bucket < 1``, ``bucket < 10`` and ``bucket < 50`` keep
1%, 10% and 50% of the documents. Every test query is searched one at a time (the filter given
as text each time: parsing and the mask are part of the cost) and all of them in one batch
call; best of ``--repeats`` rounds, rounds alternating between the filters. Prints queries/s,
the ratio to unfiltered search, and the mean number of hits (k whenever k documents pass and
match), and the time of one mask alone.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

FILTERS = {"none": None, "50%": "bucket < 50", "10%": "bucket < 10", "1%": "bucket < 1"}


def build(corpus: str, out: Path, encoder: str) -> None:
    from winnow.corpus import read_corpus
    from winnow.encode.registry import build_encoder
    from winnow.index.writer import build_index
    from winnow.types import Document

    if out.exists():
        return
    rng = np.random.default_rng(0)
    docs = (Document(d.id, d.text, d.title, {**d.metadata, "bucket": int(rng.integers(100))})
            for d in read_corpus(Path(corpus) / "corpus.jsonl"))
    build_index(docs, build_encoder(encoder), out, spec=encoder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--encoder", default="bm25")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--index-dir", default=None)
    args = parser.parse_args()
    from winnow.corpus.beir import read_queries
    from winnow.retrieve.searcher import Searcher

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.index_dir or tmp) / "filtered-bench"
        build(args.corpus, out, args.encoder)
        searcher = Searcher(out)
        queries = [q.text for q in read_queries(Path(args.corpus) / "queries.jsonl")]
        for f in FILTERS.values():  # compile and warm
            searcher.search(queries[0], args.k, filter=f)
        single = {name: np.inf for name in FILTERS}
        batch = dict(single)
        hits = {}
        for _ in range(args.repeats):
            for name, f in FILTERS.items():
                start = time.perf_counter()
                counts = [len(searcher.search(q, args.k, filter=f)) for q in queries]
                single[name] = min(single[name], time.perf_counter() - start)
                hits[name] = float(np.mean(counts))
                start = time.perf_counter()
                searcher.search_batch(queries, args.k, filter=f, threads=args.threads)
                batch[name] = min(batch[name], time.perf_counter() - start)
        segment = searcher.index.segments[0]
        start = time.perf_counter()
        for _ in range(100):
            segment.columns.mask("bucket < 10")
        mask_ms = (time.perf_counter() - start) * 10
    n = len(queries)
    print(f"{n} queries, {searcher.index.n_docs:,} documents, k={args.k}; one mask: {mask_ms:.3f} ms")
    print(f"{'filter':8} {'single q/s':>11} {'ratio':>6} {'batch q/s':>10} {'ratio':>6} {'mean hits':>10}")
    for name in FILTERS:
        print(f"{name:8} {n / single[name]:11.0f} {single['none'] / single[name]:6.2f} {n / batch[name]:10.0f} "
              f"{batch['none'] / batch[name]:6.2f} {hits[name]:10.2f}")


if __name__ == "__main__":
    main()
