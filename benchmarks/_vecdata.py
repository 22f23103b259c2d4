"""Sparse vectors for ``engine_peers.py``: encoded once, cached as ``.npz``, fed to every engine.

    python benchmarks/_vecdata.py splade BEIR_DIR MODEL CACHE_DIR     # SPLADE docs + SPLADE / IDF queries
    python benchmarks/_vecdata.py synth  CACHE_DIR [--docs 1000000 --queries 1000]

Every vector set is a folder of three files (all CSR, one row per document or query):

* ``docs.npz``: ``indptr``, ``indices`` (term ids), ``data`` (float32 weights), ``ids`` (doc ids),
  ``n_terms`` (vocabulary size).
* ``queries-<kind>.npz``: the same for queries, with ``ids`` = query ids; ``<kind>`` is ``splade``
  (the model's query side, no pruning, 64 tokens) or ``if`` (inference-free: the query's distinct
  tokens weighted by the corpus IDF of the SPLADE document vectors, as
  :class:`winnow.encode.inference_free.StaticQueryEncoder` does with ``idf=corpus``).
* ``meta.json``: where the vectors came from, with timings.

The SPLADE side runs winnow's own encoder (``splade:MODEL:backend=onnx``) in this interpreter;
a set already in the cache is reused, never re-encoded.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time

import numpy as np

log = logging.getLogger("vecdata")


def save_csr(path: str, indptr, indices, data, ids, n_terms: int) -> None:
    from winnow.fsutil import replacing

    with replacing(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, indptr=np.asarray(indptr, np.int64), indices=np.asarray(indices, np.int32),
                 data=np.asarray(data, np.float32), ids=np.asarray(ids, dtype=str), n_terms=np.int64(n_terms))


def index_csr(docs: dict, index_dir: str, source: str) -> None:
    """Index a ``load_csr`` dict with winnow's ``vectors`` encoder (weights are impacts; ids kept)."""
    from winnow.encode.vectors import VectorsEncoder
    from winnow.index.writer import build_index
    from winnow.types import Document, SparseBatch

    ids = [str(i) for i in docs["ids"].tolist()]
    vectors = [(ids, SparseBatch(docs["indptr"], docs["indices"], docs["data"]))]
    encoder = VectorsEncoder(vectors, [f"t{i}" for i in range(int(docs["n_terms"]))], source=source)
    build_index((Document(i, "") for i in ids), encoder, index_dir, store=False, batch_size=10_000)


def load_csr(path: str) -> dict:
    """``{indptr, indices, data, ids, n_terms}`` of a cached vector file."""
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def rows(csr: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(term ids, weights)]``, one per row."""
    p, t, w = csr["indptr"], csr["indices"], csr["data"]
    return [(t[p[i]:p[i + 1]], w[p[i]:p[i + 1]]) for i in range(len(p) - 1)]


def _read_beir(beir_dir: str):
    """Documents of ``corpus.jsonl`` and the judged test queries ``[(qid, text)]``."""
    from winnow.corpus import load_beir

    data = load_beir(beir_dir, "test")
    return list(data.corpus()), [(q.id, q.text) for q in data.queries]


def encode_splade(beir_dir: str, model: str, out: str, batch: int = 256) -> str:
    """Encode a BEIR folder with ``splade:MODEL:backend=onnx`` into ``out`` (skipped if present)."""
    from tokenizers import Tokenizer

    from winnow.encode.bm25 import lucene_idf
    from winnow.encode.inference_free import StaticQueryEncoder
    from winnow.encode.registry import build_encoder

    if os.path.exists(os.path.join(out, "meta.json")):
        log.info("reusing cached vectors in %s", out)
        return out
    os.makedirs(out, exist_ok=True)
    docs, queries = _read_beir(beir_dir)
    enc = build_encoder(f"splade:{model}:backend=onnx")
    model_ = enc.sparse_model
    n_terms = model_.vocab_size
    t0 = time.perf_counter()
    indptr, indices, data = [np.zeros(1, np.int64)], [], []
    for lo in range(0, len(docs), batch):
        b = enc.encode_documents(docs[lo:lo + batch])
        indptr.append(b.indptr[1:] + indptr[-1][-1])
        indices.append(b.indices)
        data.append(b.values)
        log.info("%s: encoded %d / %d documents (%.0f s)", os.path.basename(beir_dir), lo + len(b), len(docs),
                 time.perf_counter() - t0)
    doc_s = time.perf_counter() - t0
    indptr, indices, data = np.concatenate(indptr), np.concatenate(indices), np.concatenate(data)
    save_csr(os.path.join(out, "docs.npz"), indptr, indices, data, [d.id for d in docs], n_terms)

    t0 = time.perf_counter()
    qb = model_.encode_texts([q for _, q in queries], 64, prune=False)  # SpladeQueryEncoder's default length
    query_s = time.perf_counter() - t0
    save_csr(os.path.join(out, "queries-splade.npz"), qb.indptr, qb.indices, qb.values, [q for q, _ in queries],
             n_terms)

    df = np.bincount(indices, minlength=n_terms)
    idf = lucene_idf(df, len(docs)).astype(np.float32)
    static = StaticQueryEncoder(Tokenizer.from_file(os.path.join(model, "tokenizer.json")), idf, 512)
    qrows = [static.encode_query(q) for _, q in queries]
    qptr = np.zeros(len(qrows) + 1, np.int64)
    np.cumsum([len(t) for t, _ in qrows], out=qptr[1:])
    save_csr(os.path.join(out, "queries-if.npz"), qptr, np.concatenate([t for t, _ in qrows]),
             np.concatenate([w for _, w in qrows]), [q for q, _ in queries], n_terms)
    np.save(os.path.join(out, "idf.npy"), idf)
    meta = dict(source=os.path.abspath(beir_dir), model=os.path.basename(os.path.normpath(model)),
                encoder=f"splade:{os.path.basename(os.path.normpath(model))}:backend=onnx",
                n_docs=len(docs), n_queries=len(queries), doc_nnz=int(indptr[-1]),
                doc_encode_s=doc_s, query_encode_s=query_s,
                queries={"splade": "model query side, 64 tokens, no pruning",
                         "if": "distinct tokens (no special tokens) x corpus Lucene IDF of the doc vectors"})
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return out


def make_synth(out: str, n_docs: int, n_queries: int, n_terms: int = 30000, seed: int = 0) -> str:
    """Random learned-sparse-like vectors (as ``seismic_random.py``, with Zipfian term frequencies).

    Documents: 50-149 distinct terms drawn from a Zipf(1.1)-like law over ``n_terms`` terms (rank
    order shuffled), weights ``U(0,1)^4``. Queries: 20-59 distinct terms from the same law,
    weights ``U(0,1)^4``. Cached in ``out`` (skipped if present).
    """
    if os.path.exists(os.path.join(out, "meta.json")):
        log.info("reusing cached vectors in %s", out)
        return out
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_terms + 1) ** 1.1
    p /= p.sum()
    perm = rng.permutation(n_terms).astype(np.int32)  # term id of each frequency rank
    cdf = np.cumsum(p)

    def sample(n_rows, lo, hi):
        lens = rng.integers(lo, hi, n_rows)
        # Oversample with replacement, keep the first `len` distinct terms of each row.
        indptr, out_t = np.zeros(n_rows + 1, np.int64), []
        for start in range(0, n_rows, 50_000):
            stop = min(n_rows, start + 50_000)
            draw = np.searchsorted(cdf, rng.random((stop - start, 2 * hi)))
            draw = np.minimum(draw, n_terms - 1)
            for i, row in enumerate(draw):
                _, first = np.unique(row, return_index=True)  # distinct ranks, in order of first draw
                u = row[np.sort(first)][: lens[start + i]]
                out_t.append(np.sort(perm[u]))
        np.cumsum([len(t) for t in out_t], out=indptr[1:])
        terms = np.concatenate(out_t)
        return indptr, terms, (rng.random(len(terms)) ** 4).astype(np.float32) + np.float32(1e-6)

    t0 = time.perf_counter()
    dp, dt, dw = sample(n_docs, 50, 150)
    save_csr(os.path.join(out, "docs.npz"), dp, dt, dw, [str(i) for i in range(n_docs)], n_terms)
    qp, qt, qw = sample(n_queries, 20, 60)
    save_csr(os.path.join(out, "queries-synth.npz"), qp, qt, qw, [f"q{i}" for i in range(n_queries)], n_terms)
    meta = dict(source="synthetic", n_docs=n_docs, n_queries=n_queries, n_terms=n_terms, doc_nnz=int(dp[-1]),
                seed=seed, build_s=time.perf_counter() - t0,
                queries={"synth": "20-59 Zipf terms, weights U(0,1)^4"})
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("splade")
    s.add_argument("beir_dir")
    s.add_argument("model")
    s.add_argument("out")
    y = sub.add_parser("synth")
    y.add_argument("out")
    y.add_argument("--docs", type=int, default=1_000_000)
    y.add_argument("--queries", type=int, default=1000)
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if a.cmd == "splade":
        encode_splade(a.beir_dir, a.model, a.out)
    else:
        make_synth(a.out, a.docs, a.queries)


if __name__ == "__main__":
    main()
