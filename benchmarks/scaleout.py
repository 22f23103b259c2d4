"""Scale-out on this machine: encoding on Ray, sharded search on Ray actors, milvus-lite against winnow.

    python benchmarks/scaleout.py --model MODEL_DIR --corpus BEIR_DIR [--encode-docs 2000]
        [--synth-docs 200000] [--queries 1000] [--work DIR] [--cpus 2] [--only encode|shards]

Three measurements, one local Ray cluster (``ray.init(num_cpus=--cpus)``; its start-up is reported
apart and counted nowhere else):

1. **Encoding.** The first ``--encode-docs`` documents of ``--corpus`` encoded with SPLADE
   (``--model``, 256 tokens) by winnow's single-process encoder (``threads`` = all CPUs) and by
   ``winnow encode`` with 1 and 2 Ray workers (``threads`` = CPUs / workers each), in parts of 250
   lines. Docs/s include Ray Data's scheduling and writing Parquet.
2. **Sharded search.** A synthetic corpus (``benchmarks/synth.py``, ``--synth-docs``) encoded for
   BM25 on Ray, indexed whole and in 1, 2 and 4 shards; ``--queries`` queries searched (top 10)
   as one batch and one by one, single index against sharded retriever (exhaustive strategy on
   both sides, so the work per shard is comparable; results are checked equal).
3. **Milvus-lite.** The SPLADE vectors of (1) exported to milvus-lite; per query, the same query
   vector searched exactly by winnow (``search_vector``) and by Milvus (``drop_ratio_search=0``);
   query encoding is left out of both.

Prints one table per measurement.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def head_corpus(beir: Path, out: Path, n: int) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(beir / "corpus.jsonl", encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        dst.writelines(itertools.islice(src, n))
    return out


def encoding(args, work: Path) -> tuple[Path, list[tuple]]:
    from winnow.corpus import open_corpus
    from winnow.encode.registry import build_encoder
    from winnow.scale.ray_encode import encode_corpus

    corpus = head_corpus(args.corpus, work / "encode" / "corpus.jsonl", args.encode_docs)
    docs = list(open_corpus(corpus))
    print(f"\n## Encoding: SPLADE {Path(args.model).name}, {len(docs):,} docs of {args.corpus.name}, "
          f"{args.cpus} CPUs\n")
    print("| encoder | threads each | docs/s | seconds |\n|---|---:|---:|---:|", flush=True)
    rows = []
    encoder = build_encoder(f"splade:{args.model}:threads={args.cpus}")
    encoder.encode_documents(docs[:32])  # load the model before timing
    _, seconds = timed(lambda: [encoder.encode_documents(docs[i:i + 1000]) for i in range(0, len(docs), 1000)])
    rows.append(("single process", args.cpus, len(docs) / seconds, seconds))
    print("| {} | {} | {:,.0f} | {:.1f} |".format(*rows[-1]), flush=True)
    vectors = None
    for workers in (1, 2):
        vectors = work / "encode" / f"vectors-{workers}"
        shutil.rmtree(vectors, ignore_errors=True)
        spec = f"splade:{args.model}:threads={max(1, args.cpus // workers)}"
        _, seconds = timed(lambda: encode_corpus(corpus, spec, vectors, workers=workers, part_lines=250,
                                                 cpus_per_worker=args.cpus / workers))
        rows.append((f"ray, {workers} worker(s)", max(1, args.cpus // workers), len(docs) / seconds, seconds))
        print("| {} | {} | {:,.0f} | {:.1f} |".format(*rows[-1]), flush=True)
    return vectors, rows


def synth_queries(folder: Path, n: int) -> list[str]:
    with open(folder / "queries.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in itertools.islice(f, n)]


def sharded_search(args, work: Path) -> None:
    from winnow.retrieve.searcher import Searcher
    from winnow.scale.ray_encode import encode_corpus
    from winnow.scale.shards import ShardedRetriever, build_sharded_index
    from winnow.scale.vectors import index_vectors

    synth = work / f"synth-{args.synth_docs}"
    if not (synth / "corpus.jsonl").exists():
        subprocess.run([sys.executable, str(HERE / "synth.py"), str(synth), "--docs", str(args.synth_docs),
                        "--queries", str(args.queries)], check=True)
    vectors = work / f"synth-{args.synth_docs}-bm25"
    _, enc_s = timed(lambda: encode_corpus(synth, "bm25", vectors, workers=2, part_lines=25_000,
                                           cpus_per_worker=args.cpus / 2))
    _, single_s = timed(lambda: index_vectors(vectors, work / "single"))
    single = Searcher(work / "single")
    queries = synth_queries(synth, args.queries)
    single.search_batch(queries[:50], 10, strategy="exhaustive")  # compile the kernels
    print(f"\n## Sharded search: BM25, {args.synth_docs:,} synthetic docs, {len(queries)} queries, top 10, "
          f"{args.cpus} CPUs\n")
    print(f"encoded on Ray (2 workers) in {enc_s:.1f} s; single index built in {single_s:.1f} s\n")
    print("| system | build s | batch q/s | one-by-one q/s | one-by-one overhead |\n|---|---:|---:|---:|---:|",
          flush=True)
    expected, batch_s = timed(lambda: single.search_batch(queries, 10, strategy="exhaustive"))
    _, serial_s = timed(lambda: [single.search(q, 10, strategy="exhaustive") for q in queries[:200]])
    base = serial_s / 200
    print(f"| single index | {single_s:.1f} | {len(queries) / batch_s:,.0f} | {1 / base:,.0f} | 1.00x |")
    for shards in (1, 2, 4):
        out = work / f"shards-{shards}"
        _, build_s = timed(lambda: build_sharded_index(vectors, out, shards, cpus_per_shard=args.cpus / shards))
        retriever = ShardedRetriever(out, cpus_per_shard=args.cpus / shards, strategy="exhaustive")
        retriever.search_batch(queries[:50], 10)  # compile in every actor
        got, batch_s = timed(lambda: retriever.search_batch(queries, 10))
        _, serial_s = timed(lambda: [retriever.search(q, 10) for q in queries[:200]])
        same = all(got[q].ids == expected[q].ids and np.array_equal(got[q].scores, expected[q].scores)
                   for q in expected)
        print(f"| {shards} shard(s){'' if same else ' (DIFFERENT RESULTS)'} | {build_s:.1f} | "
              f"{len(queries) / batch_s:,.0f} | {200 / serial_s:,.0f} | {serial_s / 200 / base:.2f}x |", flush=True)
        retriever.close()


def milvus_latency(args, work: Path, vectors: Path) -> None:
    from winnow.corpus import read_queries
    from winnow.retrieve.searcher import Searcher
    from winnow.scale.milvus import SPARSE_SEARCH, connect, export_collection
    from winnow.scale.vectors import index_vectors

    index = work / "encode" / "index"
    index_vectors(vectors, index)
    searcher = Searcher(index)
    texts = [q.text for q in read_queries(args.corpus / "queries.jsonl")][:200]
    encoded = [searcher.encode(t) for t in texts]
    client = connect(str(work / "milvus.db"))
    _, export_s = timed(lambda: export_collection(client, "bench", {"splade": index}, replace=True))
    dicts = [dict(zip(t.tolist(), w.tolist())) for t, w in encoded]
    for t, w in encoded[:20]:  # warm both
        searcher.search_vector(t, w, 10)
    client.search("bench", data=dicts[:20], anns_field="splade", limit=10, search_params=SPARSE_SEARCH)
    winnow_ms = []
    for t, w in encoded:
        _, s = timed(lambda: searcher.search_vector(t, w, 10))
        winnow_ms.append(s * 1000)
    milvus_ms = []
    for d in dicts:
        _, s = timed(lambda: client.search("bench", data=[d], anns_field="splade", limit=10,
                                           search_params=SPARSE_SEARCH, output_fields=["id"]))
        milvus_ms.append(s * 1000)
    _, winnow_batch = timed(lambda: searcher.search_vectors(encoded, 10))
    _, milvus_batch = timed(lambda: client.search("bench", data=dicts, anns_field="splade", limit=10,
                                                  search_params=SPARSE_SEARCH, output_fields=["id"]))
    print(f"\n## Milvus-lite against winnow: the same SPLADE vectors ({searcher.index.n_docs:,} docs, "
          f"{len(dicts)} scifact queries, top 10, exact)\n")
    print(f"exported to milvus-lite in {export_s:.1f} s\n")
    print("| engine | p50 ms | p95 ms | batch q/s |\n|---|---:|---:|---:|")
    for name, ms, batch in (("winnow", winnow_ms, winnow_batch), ("milvus-lite", milvus_ms, milvus_batch)):
        print(f"| {name} | {np.percentile(ms, 50):.3f} | {np.percentile(ms, 95):.3f} | {len(dicts) / batch:,.0f} |")
    client.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, required=True, help="SPLADE model folder")
    ap.add_argument("--corpus", type=Path, required=True, help="BEIR folder for encoding and Milvus queries")
    ap.add_argument("--encode-docs", type=int, default=2000)
    ap.add_argument("--synth-docs", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--work", type=Path, default=Path("bench-work/scaleout"))
    ap.add_argument("--only", choices=("encode", "shards"), help="run one part: encoding and Milvus, or sharding")
    args = ap.parse_args()
    import ray

    args.work.mkdir(parents=True, exist_ok=True)
    _, start_s = timed(lambda: ray.init(address="local", num_cpus=args.cpus, include_dashboard=False,
                                        log_to_driver=False))
    print(f"Ray local cluster started in {start_s:.1f} s ({args.cpus} CPUs)")
    if args.only != "shards":
        vectors, _ = encoding(args, args.work)
        milvus_latency(args, args.work, vectors)
    if args.only != "encode":
        sharded_search(args, args.work)
    ray.shutdown()


if __name__ == "__main__":
    main()
