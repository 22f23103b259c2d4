"""Dense encoding speed: winnow's encoder against sentence-transformers' ``encode``, same vectors.

Rounds alternate the systems (sentence-transformers, then each winnow backend) on the same
documents, so load from elsewhere on the machine hits them alike; the best round of each counts,
and the spread (median and worst round) is printed beside it. Every winnow round's vectors are
checked against sentence-transformers' (max abs difference and lowest cosine).

The ONNX backend runs the fused graph of :mod:`winnow.dense.backends` (exported and fused before
the first round, outside the timing); ``onnx-int8`` its dynamically quantised form, whose vectors
differ (their lowest cosine is printed).

    python benchmarks/dense_encode.py --model ../shared/models/all-MiniLM-L6-v2 \
        --corpus ../shared/data/beir/scifact --limit 1000 --rounds 5
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="../shared/models/all-MiniLM-L6-v2")
    parser.add_argument("--corpus", default="../shared/data/beir/scifact")
    parser.add_argument("--limit", type=int, default=0, help="documents (0: all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--backends", default="torch,onnx", help="torch, onnx, onnx-int8 (not the same vectors)")
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    from winnow.corpus.beir import read_corpus
    from winnow.dense.encoder import DenseEncoder
    from winnow.dense.options import parse_dense_options

    docs = list(read_corpus(Path(args.corpus) / "corpus.jsonl"))
    docs = docs[:args.limit] if args.limit else docs
    texts = [d.full_text for d in docs]
    threads = torch.get_num_threads()
    st = SentenceTransformer(args.model, device="cpu")
    systems = {"sentence-transformers": lambda: st.encode(texts, batch_size=args.batch_size)}
    for backend in args.backends.split(","):
        engine, _, quantize = backend.partition("-")  # onnx-int8: dynamic int8 weights (vectors change)
        encoder = DenseEncoder(args.model, parse_dense_options({"backend": engine, "batch_size": args.batch_size,
                                                                "threads": threads, "quantize": quantize or "none"}))
        encoder.encode(texts[:8])  # load (and for ONNX export) before timing
        systems[f"winnow-{backend}"] = lambda e=encoder: e.encode(texts)
    times: dict[str, list[float]] = {name: [] for name in systems}
    reference = None
    for r in range(args.rounds):
        for name, run in systems.items():
            start = time.perf_counter()
            vectors = run()
            seconds = time.perf_counter() - start
            times[name].append(seconds)
            if reference is None:
                reference = vectors
            diff = float(np.abs(vectors - reference).max())
            cosine = float(np.min(np.sum(vectors * reference, axis=1)))
            print(f"round {r}  {name:22s} {len(texts) / seconds:8.1f} docs/s  max|diff| {diff:.2e}  "
                  f"min cos {cosine:.7f}", flush=True)
    base = min(times["sentence-transformers"])
    print(f"\n{len(texts)} documents, {threads} threads, {args.rounds} rounds: docs/s best (median, worst)")
    for name, seconds in times.items():
        rates = len(texts) / np.array(seconds)
        print(f"{name:22s} {rates.max():8.1f} ({np.median(rates):7.1f}, {rates.min():7.1f})  "
              f"{base / min(seconds):5.2f}x sentence-transformers")


if __name__ == "__main__":
    main()
