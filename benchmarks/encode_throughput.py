"""Document encoding throughput of SPLADE backends against sentence-transformers, on this CPU.

    python benchmarks/encode_throughput.py --model MODEL_DIR --corpus BEIR_DIR [--limit 512]
        [--threads N] [--ndcg]

Encodes the first ``--limit`` documents (title + " " + text, 256 tokens) with
sentence-transformers' ``SparseEncoder.encode_document`` (batch 32; the model built from
``MLMTransformer`` + ``SpladePooling`` for a plain MLM folder) and with winnow's backends,
and prints docs/s, average terms per document and agreement with sentence-transformers
(mean cosine, top-10 term overlap). Each encoder gets a short warm-up first; ONNX export and
quantisation happen during that warm-up and are reported as ``setup_s``.

With ``--ndcg`` each winnow backend also encodes the whole corpus and the test queries
(SPLADE queries, 64 tokens) and reports nDCG@10 of exhaustive dot-product search, so
approximate backends (bfloat16, int8) can be compared with the float32 reference, which
equals sentence-transformers' vectors (see ``tests/encode``).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from itertools import islice
from pathlib import Path

import numpy as np
import scipy.sparse

CONFIGS = {
    "winnow torch fp32": {"backend": "torch"},
    "winnow torch bf16": {"backend": "torch", "precision": "bfloat16"},
    "winnow onnx fp32": {"backend": "onnx"},
    "winnow onnx int8": {"backend": "onnx", "quantize": "int8"},
}
WARMUP = 16


def sentence_transformers_model(model: str, max_length: int):
    from sentence_transformers import SparseEncoder
    from sentence_transformers.sparse_encoder.modules import MLMTransformer, SpladePooling

    if (Path(model) / "modules.json").exists():
        encoder = SparseEncoder(model, device="cpu")
        encoder.max_seq_length = max_length
        return encoder
    return SparseEncoder(modules=[MLMTransformer(model, max_seq_length=max_length), SpladePooling("max")], device="cpu")


def to_csr(batch, vocab_size: int) -> scipy.sparse.csr_matrix:
    return scipy.sparse.csr_matrix((batch.values, batch.indices, batch.indptr), shape=(len(batch), vocab_size))


def agreement(got: scipy.sparse.csr_matrix, ref: np.ndarray) -> tuple[float, float]:
    """Mean cosine and mean top-10 term overlap of each row of ``got`` with ``ref``."""
    dense = got.toarray()
    cosine = (dense * ref).sum(1) / (np.linalg.norm(dense, axis=1) * np.linalg.norm(ref, axis=1) + 1e-12)
    overlap = [len(set(np.argsort(-a)[:10]) & set(np.argsort(-b)[:10])) / 10 for a, b in zip(dense, ref)]
    return float(cosine.mean()), float(np.mean(overlap))


def ndcg_at_10(encoder, corpus_dir: str) -> float:
    """nDCG@10 of exhaustive search over the whole corpus with ``encoder``'s documents and queries."""
    from winnow.corpus.beir import load_beir
    from winnow.evaluate.metrics import evaluate
    from winnow.types import Run

    data = load_beir(corpus_dir)
    docs = list(data.corpus())
    model = encoder.sparse_model
    d = to_csr(encoder.encode_documents(docs), model.vocab_size)
    q = to_csr(model.encode_texts([x.text for x in data.queries], 64, prune=False), model.vocab_size)
    scores = (q @ d.T).toarray()
    top = np.argsort(-scores, axis=1)[:, :10]
    run = {qry.id: {docs[j].id: float(scores[i, j]) for j in top[i]} for i, qry in enumerate(data.queries)}
    return evaluate(Run(run), data.qrels, ["ndcg@10"])["ndcg@10"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="SPLADE model folder (or Hugging Face id)")
    parser.add_argument("--corpus", required=True, help="BEIR dataset folder")
    parser.add_argument("--limit", type=int, default=512, help="documents to time")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--threads", type=int, default=0, help="0: all cores")
    parser.add_argument("--skip-st", action="store_true", help="skip sentence-transformers (no agreement columns)")
    parser.add_argument("--ndcg", action="store_true", help="also nDCG@10 of each winnow backend on the full corpus")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    import torch

    from winnow.corpus.beir import load_beir
    from winnow.encode.splade import build_encoder

    threads = args.threads or len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    docs = list(islice(load_beir(args.corpus).corpus(), args.limit + WARMUP))
    warm, docs = docs[:WARMUP], docs[WARMUP:]
    texts = [d.full_text for d in docs]
    rows, reference = [], None
    print(f"model={args.model} corpus={args.corpus} docs={len(docs)} threads={threads} batch={args.batch_size}")

    if not args.skip_st:
        start = time.perf_counter()
        st = sentence_transformers_model(args.model, args.max_length)
        st.encode_document([d.full_text for d in warm], batch_size=args.batch_size)
        setup = time.perf_counter() - start
        start = time.perf_counter()
        out = st.encode_document(texts, batch_size=args.batch_size, convert_to_tensor=True)
        elapsed = time.perf_counter() - start
        reference = out.to_dense().numpy()
        rows.append(("sentence-transformers", setup, len(docs) / elapsed, float((reference > 0).sum(1).mean()), 1.0, 1.0, None))

    for name, config in CONFIGS.items():
        options = {**config, "batch_size": args.batch_size, "threads": threads, "doc_max_length": args.max_length}
        start = time.perf_counter()
        encoder = build_encoder(args.model, options)
        encoder.encode_documents(warm)
        setup = time.perf_counter() - start
        start = time.perf_counter()
        batch = encoder.encode_documents(docs)
        elapsed = time.perf_counter() - start
        got = to_csr(batch, encoder.sparse_model.vocab_size)
        if reference is not None:
            ref = reference.copy()
            ref[:, encoder.sparse_model.special_ids] = 0.0  # winnow zeroes special tokens
            cosine, overlap = agreement(got, ref)
        else:
            cosine = overlap = float("nan")
        ndcg = ndcg_at_10(encoder, args.corpus) if args.ndcg else None
        rows.append((name, setup, len(docs) / elapsed, len(batch.indices) / len(docs), cosine, overlap, ndcg))

    base = rows[0][2]
    print(f"{'encoder':24} {'setup_s':>8} {'docs/s':>8} {'speedup':>8} {'terms/doc':>10} {'cosine':>8} {'top10':>6} {'nDCG@10':>8}")
    for name, setup, rate, terms, cosine, overlap, ndcg in rows:
        nd = f"{ndcg:8.4f}" if ndcg is not None else f"{'-':>8}"
        print(f"{name:24} {setup:8.1f} {rate:8.1f} {rate / base:7.2f}x {terms:10.1f} {cosine:8.5f} {overlap:6.3f} {nd}")


if __name__ == "__main__":
    main()
