"""Dense retrieval quality on BEIR: winnow's index against sentence-transformers' own encoding.

For each dataset, builds (or reuses) a winnow dense index of the corpus, retrieves the test
queries exactly, and scores nDCG@10; with ``--reference`` it also encodes the corpus and the
queries with ``SentenceTransformer.encode_document`` / ``encode_query``, ranks by exact dot
product (ties by lower document number) and scores that too, and reports the largest difference
between the two sets of document vectors (and the lowest cosine between a document's two vectors).
An index already in place is reused, so one built with ``winnow index`` is scored as it is.

    python benchmarks/dense_beir.py --model ../shared/models/all-MiniLM-L6-v2 \
        --data ../shared/data/beir --datasets scifact,nfcorpus --out ../indexes --reference
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="../shared/models/all-MiniLM-L6-v2")
    parser.add_argument("--data", default="../shared/data/beir")
    parser.add_argument("--datasets", default="scifact,nfcorpus")
    parser.add_argument("--out", default="../indexes", help="indexes go to OUT/NAME")
    parser.add_argument("--name", default="dense-{dataset}", help="index folder name; {dataset} is replaced")
    parser.add_argument("--options", default="", help="encoder options, e.g. backend=onnx")
    parser.add_argument("--ann", default="usearch,faiss", help="HNSW graphs to build with the index")
    parser.add_argument("--reference", action="store_true", help="also score sentence-transformers' encoding")
    parser.add_argument("--reference-device", default="cpu", help="sentence-transformers' device (cpu, cuda)")
    args = parser.parse_args()

    from winnow.corpus.beir import load_beir
    from winnow.dense.exact import exact_topk
    from winnow.dense.index import DenseIndex, build_dense_index
    from winnow.dense.retriever import DenseRetriever
    from winnow.evaluate.metrics import evaluate
    from winnow.types import Hits, Run

    spec = f"dense:{args.model}" + (f":{args.options}" if args.options else "")
    for name in args.datasets.split(","):
        data = load_beir(Path(args.data) / name, split="test")
        out = Path(args.out) / args.name.format(dataset=name)
        if not (out / "manifest.json").exists():
            start = time.perf_counter()
            info = build_dense_index(data.corpus(), spec, out, ann=[a for a in args.ann.split(",") if a])
            print(f"{name}: indexed {info.n_docs} docs in {time.perf_counter() - start:.0f} s "
                  f"({info.docs_per_second:.1f} docs/s) -> {out}", flush=True)
        retriever = DenseRetriever(out)
        run = retriever.retrieve(data.queries, 100)
        ndcg = evaluate(run, data.qrels, ["ndcg@10"])["ndcg@10"]
        print(f"{name}: winnow nDCG@10 {ndcg:.4f}", flush=True)
        for strategy, library in (("hnsw", "usearch"), ("hnsw", "faiss")):
            if library in (retriever.index.manifest.get("ann") or {}):
                approx = DenseRetriever(out, strategy=strategy, library=library).retrieve(data.queries, 100)
                print(f"{name}: winnow {library} HNSW nDCG@10 "
                      f"{evaluate(approx, data.qrels, ['ndcg@10'])['ndcg@10']:.4f}", flush=True)
        if args.reference:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(args.model, device=args.reference_device)
            index = DenseIndex(out)
            texts = [d.full_text for d in data.corpus()]
            start = time.perf_counter()
            docs = model.encode_document(texts, batch_size=32)
            print(f"{name}: sentence-transformers encoded {len(texts)} docs in {time.perf_counter() - start:.0f} s",
                  flush=True)
            ours = np.asarray(index.vectors, dtype=np.float32)
            print(f"{name}: winnow against sentence-transformers over document vectors: max abs difference "
                  f"{float(np.abs(ours - docs).max()):.2e}, lowest cosine {float(np.min(np.sum(ours * docs, axis=1))):.7f}")
            queries = model.encode_query([q.text for q in data.queries], batch_size=32)
            docnos, scores, counts = exact_topk(docs, queries, 100)
            ids = [d.id for d in data.corpus()]
            ref = Run({q.id: Hits(tuple(ids[i] for i in docnos[r]), scores[r]) for r, q in enumerate(data.queries)})
            ref_ndcg = evaluate(ref, data.qrels, ["ndcg@10"])["ndcg@10"]
            print(f"{name}: sentence-transformers nDCG@10 {ref_ndcg:.4f}  (difference {ndcg - ref_ndcg:+.4f})",
                  flush=True)


if __name__ == "__main__":
    main()
