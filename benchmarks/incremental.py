"""Incremental indexing against one bulk build: build speed, query speed over segments, filters.

    python benchmarks/incremental.py WORK_DIR --docs 200000 --queries 1000 [--batches 10]

On the synthetic BEIR corpus of ``benchmarks/synth.py`` (BM25, every document tagged with
``bucket = i % 100`` for the filters) and the synthetic learned-sparse vectors of
``benchmarks/_vecdata.py``, it measures:

* bulk build docs/s against adding the same documents in ``--batches`` commits (one writer), with
  the commit time (statistics and impacts recomputed for every segment) reported apart;
* top-10 batch queries/s on the ``--batches``-segment index against the same documents merged into
  one segment, after checking that all three indexes return identical runs;
* the statistics-exact BM25 (impacts recomputed by a commit after deleting 1% of the documents)
  against the bulk build's impacts: both run the same kernels over the same layout;
* filtered search at 1%, 10% and 50% selectivity against unfiltered, on the bulk BM25 index.

Prints a Markdown table and writes ``WORK_DIR/incremental.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _vecdata import load_csr, make_synth  # noqa: E402
from synth import write_synth  # noqa: E402


def bm25_docs(beir: Path) -> list:
    from winnow.corpus import read_corpus
    from winnow.types import Document

    return [Document(d.id, d.text, d.title, {"bucket": i % 100})
            for i, d in enumerate(read_corpus(beir / "corpus.jsonl"))]


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def qps(searcher, queries, repeats: int = 3, **kwargs) -> tuple[float, object]:
    """Best-of-``repeats`` top-10 batch throughput (after a warm-up run) and the run."""
    run = searcher.search_batch(queries, k=10, **kwargs)
    best = min(timed(lambda: searcher.search_batch(queries, k=10, **kwargs))[1] for _ in range(repeats))
    return len(queries) / best, run


def same_runs(a, b) -> bool:
    return all(a[q].ids == b[q].ids and np.allclose(a[q].scores, b[q].scores, rtol=1e-5) for q in a)


def incremental_build(path: Path, docs: list, encoder, batches: int, **options) -> tuple[float, float]:
    """(seconds in all, seconds in commits) of adding ``docs`` in ``batches`` commits."""
    from winnow.index.writer import open_writer

    shutil.rmtree(path, ignore_errors=True)
    size = -(-len(docs) // batches)
    start, committing = time.perf_counter(), 0.0
    with open_writer(path, encoder, fresh=True, store=False, batch_size=10_000, **options) as w:
        for lo in range(0, len(docs), size):
            w.add(docs[lo:lo + size])
            committing += timed(w.commit)[1]
    return time.perf_counter() - start, committing


def merged_copy(src: Path, dst: Path) -> float:
    from winnow.index.writer import open_writer

    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    with open_writer(dst) as w:
        _, seconds = timed(lambda: (w.merge(), w.commit()))
    return seconds


def bench_bm25(work: Path, n_docs: int, n_queries: int, batches: int) -> dict:
    from winnow.corpus import read_queries
    from winnow.encode.registry import build_encoder
    from winnow.index.writer import build_index, open_writer
    from winnow.retrieve.searcher import Searcher

    beir = work / f"synth-{n_docs}"
    if not (beir / "corpus.jsonl").is_file():
        write_synth(str(beir), n_docs, n_queries)
    docs = bm25_docs(beir)
    queries = [q.text for q in read_queries(beir / "queries.jsonl")][:n_queries]
    bulk = work / "bm25-bulk"
    info, bulk_s = timed(lambda: build_index(docs, build_encoder("bm25"), bulk, spec="bm25", store=False,
                                             batch_size=10_000))
    incr_s, commit_s = incremental_build(work / "bm25-incr", docs, build_encoder("bm25"), batches, spec="bm25")
    merge_s = merged_copy(work / "bm25-incr", work / "bm25-merged")
    s_bulk, s_seg, s_merged = (Searcher(work / n) for n in ("bm25-bulk", "bm25-incr", "bm25-merged"))
    q_bulk, run_bulk = qps(s_bulk, queries)
    q_seg, run_seg = qps(s_seg, queries)
    q_merged, run_merged = qps(s_merged, queries)
    exact = same_runs(run_bulk, run_seg) and same_runs(run_bulk, run_merged)
    stats = work / "bm25-deleted"  # impacts recomputed by a commit: the statistics-exact path
    shutil.rmtree(stats, ignore_errors=True)
    shutil.copytree(bulk, stats)
    with open_writer(stats) as w:
        w.delete([d.id for d in docs[::100]])
        _, delete_commit_s = timed(w.commit)
        w.merge()
        w.commit()
    q_stats, _ = qps(Searcher(stats), queries)
    q_eager, _ = qps(s_bulk, queries)  # measured again, beside it
    filtered = {}
    for share in (1, 10, 50):
        filtered[f"{share}%"], _ = qps(s_bulk, queries, filter=f"bucket < {share}")
    return {"docs": len(docs), "bulk_docs_s": len(docs) / bulk_s, "incremental_docs_s": len(docs) / incr_s,
            "commit_s": commit_s, "merge_s": merge_s, "delete_commit_s": delete_commit_s,
            "qps_bulk": q_bulk, "qps_segments": q_seg, "qps_merged": q_merged, "identical_runs": exact,
            "qps_eager": q_eager, "qps_statistics_exact": q_stats,
            "qps_unfiltered": q_bulk, "qps_filtered": filtered, "segments": len(s_seg.index.segments),
            "postings": info.n_postings}


def bench_learned(work: Path, n_docs: int, n_queries: int, batches: int) -> dict:
    from winnow.encode.vectors import VectorsEncoder
    from winnow.index.writer import build_index
    from winnow.retrieve.searcher import Searcher
    from winnow.types import Document, SparseBatch

    folder = make_synth(str(work / f"vectors-{n_docs}"), n_docs, n_queries)
    d = load_csr(os.path.join(folder, "docs.npz"))
    q = load_csr(os.path.join(folder, "queries-synth.npz"))
    ids = [str(i) for i in d["ids"].tolist()]
    vocab = [f"t{i}" for i in range(int(d["n_terms"]))]
    docs = [Document(i, "") for i in ids]

    def encoder():
        return VectorsEncoder([(ids, SparseBatch(d["indptr"], d["indices"], d["data"]))], vocab, source="synth")

    vectors = [(q["indices"][a:b], q["data"][a:b]) for a, b in zip(q["indptr"][:-1], q["indptr"][1:])]
    info, bulk_s = timed(lambda: build_index(docs, encoder(), work / "vec-bulk", store=False, batch_size=10_000))
    incr_s, commit_s = incremental_build(work / "vec-incr", docs, encoder(), batches)
    merge_s = merged_copy(work / "vec-incr", work / "vec-merged")
    out = {"docs": len(docs), "bulk_docs_s": len(docs) / bulk_s, "incremental_docs_s": len(docs) / incr_s,
           "commit_s": commit_s, "merge_s": merge_s, "postings": info.n_postings}
    runs = {}
    for name in ("vec-bulk", "vec-incr", "vec-merged"):
        s = Searcher(work / name)
        s.search_vectors(vectors, 10)
        out[f"qps_{name}"] = len(vectors) / min(timed(lambda: s.search_vectors(vectors, 10))[1] for _ in range(3))
        runs[name] = s.search_vectors(vectors, 10)
    out["identical_runs"] = all(a.ids == b.ids and a.ids == c.ids for a, b, c in zip(*runs.values()))
    return out


def table(bm25: dict, learned: dict) -> str:
    rows = [
        ("build docs/s: bulk", f"{bm25['bulk_docs_s']:,.0f}", f"{learned['bulk_docs_s']:,.0f}"),
        ("build docs/s: 10 commits", f"{bm25['incremental_docs_s']:,.0f}", f"{learned['incremental_docs_s']:,.0f}"),
        ("  ratio (target >= 0.5)", f"{bm25['incremental_docs_s'] / bm25['bulk_docs_s']:.2f}",
         f"{learned['incremental_docs_s'] / learned['bulk_docs_s']:.2f}"),
        ("  of which commits, s", f"{bm25['commit_s']:.1f}", f"{learned['commit_s']:.1f}"),
        ("merge 10 -> 1 segment, s", f"{bm25['merge_s']:.1f}", f"{learned['merge_s']:.1f}"),
        ("top-10 q/s: 10 segments", f"{bm25['qps_segments']:,.0f}", f"{learned['qps_vec-incr']:,.0f}"),
        ("top-10 q/s: merged", f"{bm25['qps_merged']:,.0f}", f"{learned['qps_vec-merged']:,.0f}"),
        ("top-10 q/s: bulk", f"{bm25['qps_bulk']:,.0f}", f"{learned['qps_vec-bulk']:,.0f}"),
        ("  10 segments / merged (target >= 0.75)", f"{bm25['qps_segments'] / bm25['qps_merged']:.2f}",
         f"{learned['qps_vec-incr'] / learned['qps_vec-merged']:.2f}"),
        ("identical runs (bulk, segments, merged)", str(bm25["identical_runs"]), str(learned["identical_runs"])),
        ("BM25 q/s: statistics-exact / eager (target >= 0.8)",
         f"{bm25['qps_statistics_exact'] / bm25['qps_eager']:.2f}", ""),
        ("commit after deleting 1%, s", f"{bm25['delete_commit_s']:.1f}", ""),
    ]
    for share, value in bm25["qps_filtered"].items():
        rows.append((f"filtered q/s at {share} (unfiltered {bm25['qps_unfiltered']:,.0f})", f"{value:,.0f}", ""))
    lines = ["| measure | BM25 | learned sparse |", "|---|---:|---:|"]
    return "\n".join([*lines, *(f"| {a} | {b} | {c} |" for a, b, c in rows)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("work", help="folder for the corpora and indexes")
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--batches", type=int, default=10)
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    bm25 = bench_bm25(work, a.docs, a.queries, a.batches)
    learned = bench_learned(work, a.docs, a.queries, a.batches)
    (work / "incremental.json").write_text(json.dumps({"bm25": bm25, "learned": learned}, indent=1))
    print(table(bm25, learned))


if __name__ == "__main__":
    main()
