"""One engine, one phase, in its own process: the child side of ``bm25_peers.py``.

    python benchmarks/_peers.py build  ENGINE BEIR_DIR INDEX_DIR [--k1 0.9 --b 0.4]
    python benchmarks/_peers.py search ENGINE BEIR_DIR INDEX_DIR [--k 10 --repeats 3 --threads N]

Prints one line ``RESULT {json}`` on stdout. Only the standard library is imported at module
level: each engine's packages are imported inside its functions, so this file runs in the
winnow venv (engine ``winnow``) and in the peers venv (``bm25s-numba``, ``tantivy``) alike.

What is timed:
  build:  read corpus.jsonl + tokenize + build + write the index to INDEX_DIR
          (interpreter start and imports excluded).
  search: load the index from disk (``load_s``: the first open in the process, lazy imports
          included; ``reload_s``: a second open, files in the page cache), one warm-up query (``first_query_s``,
          holds JIT compiles and lazy loading), then every test query one at a time from
          one caller thread (``qps_single``), and all of them in one batch call
          (``qps_batch``); each best of ``--repeats``. Query tokenization is included.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def read_corpus(beir_dir: str) -> tuple[list[str], list[str]]:
    """Doc ids and texts (title + " " + text) of ``corpus.jsonl``."""
    ids, texts = [], []
    with open(os.path.join(beir_dir, "corpus.jsonl"), encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            ids.append(str(d["_id"]))
            texts.append((d.get("title") or "") + " " + (d.get("text") or ""))
    return ids, texts


def read_queries(beir_dir: str) -> tuple[list[tuple[str, str]], dict[str, dict[str, int]]]:
    """Test queries ``[(qid, text)]`` that have judgements, and the qrels."""
    qrels: dict[str, dict[str, int]] = {}
    with open(os.path.join(beir_dir, "qrels", "test.tsv"), encoding="utf-8") as f:
        for line in f:
            q, doc, rel = line.rstrip("\n").split("\t")[:3]
            if q != "query-id":
                qrels.setdefault(q, {})[doc] = int(rel)
    queries = []
    with open(os.path.join(beir_dir, "queries.jsonl"), encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            if q["_id"] in qrels:
                queries.append((q["_id"], q["text"]))
    return queries, qrels


def dir_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def peak_rss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


# ---------- engines ----------
# build_X(beir_dir, index_dir, args) -> (n_docs, note); writes the index to index_dir.
# open_X(index_dir, args) -> (search(text) -> [(docid, score)], batch(texts) -> [[...]], note)


def build_winnow(beir_dir, index_dir, a):
    import winnow

    spec = f"bm25:k1={a.k1},b={a.b}"
    # store=False: like the peers here, keep doc ids but not the document texts.
    info = winnow.index_corpus(os.path.join(beir_dir, "corpus.jsonl"), index_dir, encoder=spec,
                               store=a.store)
    return info.n_docs, f"index_corpus(encoder={spec!r}, store={a.store}), default analyzer"


def open_winnow(index_dir, a):
    import winnow

    s = winnow.load_index(index_dir)
    k, threads = a.k, a.threads

    def search(q):
        h = s.search(q, k=k)
        return list(zip(h.ids, map(float, h.scores)))

    def batch(qs):
        return [list(zip(h.ids, map(float, h.scores))) for h in s.search_batch(qs, k=k, threads=threads).values()]

    return search, batch, f"search_batch(all queries, threads={threads})"


def _bm25s_tokenize(texts):
    import bm25s
    import Stemmer

    return bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"),
                          return_ids=False, show_progress=False)


def build_bm25s_numba(beir_dir, index_dir, a):
    import bm25s
    import Stemmer

    ids, texts = read_corpus(beir_dir)
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"),
                            show_progress=False)
    del texts
    r = bm25s.BM25(k1=a.k1, b=a.b, method="lucene", backend="numba")
    r.index(tokens, show_progress=False)
    r.save(index_dir, show_progress=False)
    # bm25s keeps no doc ids; store them beside the index (counted in its bytes).
    with open(os.path.join(index_dir, "doc_ids.json"), "w") as f:
        json.dump(ids, f)
    return len(ids), f"method=lucene k1={a.k1} b={a.b}, PyStemmer english, stopwords=en"


def open_bm25s_numba(index_dir, a):
    import bm25s
    import numpy as np

    r = bm25s.BM25.load(index_dir, mmap=True, show_progress=False)
    r.backend = "numba"
    with open(os.path.join(index_dir, "doc_ids.json")) as f:
        ids = np.array(json.load(f), dtype=object)
    k, threads = a.k, a.threads

    def search(q):
        docs, scores = r.retrieve(_bm25s_tokenize([q]), k=k, show_progress=False, n_threads=1)
        return list(zip(ids[docs[0]], map(float, scores[0])))

    def batch(qs):
        docs, scores = r.retrieve(_bm25s_tokenize(qs), k=k, show_progress=False, n_threads=threads)
        return [list(zip(ids[d], map(float, s))) for d, s in zip(docs, scores)]

    return search, batch, f"retrieve(all queries, n_threads={threads})"


def build_tantivy(beir_dir, index_dir, a):
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    sb.add_text_field("body", tokenizer_name="en_stem")
    os.makedirs(index_dir)
    index = tantivy.Index(sb.build(), path=index_dir)
    w = index.writer(heap_size=500_000_000, num_threads=a.threads)
    n = 0
    with open(os.path.join(beir_dir, "corpus.jsonl"), encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            w.add_document(tantivy.Document(
                id=str(d["_id"]), body=(d.get("title") or "") + " " + (d.get("text") or "")))
            n += 1
    w.commit()
    w.wait_merging_threads()
    return n, "en_stem tokenizer, BM25 fixed at k1=1.2 b=0.75 (not settable)"


def open_tantivy(index_dir, a):
    import tantivy

    index = tantivy.Index.open(index_dir)
    searcher = index.searcher()
    k, threads = a.k, a.threads

    def search(q):
        # Plain words only: tantivy's query grammar rejects quotes, colons, brackets.
        terms = re.findall(r"\w+", q.lower())
        if not terms:
            return []
        query = index.parse_query(" ".join(terms), ["body"])
        hits = searcher.search(query, k, count=False).hits
        return [(searcher.doc(addr)["id"][0], sc) for sc, addr in hits]

    pool = ThreadPoolExecutor(threads)

    def batch(qs):  # no batch API: a thread pool over searcher.search
        return list(pool.map(search, qs, chunksize=16))

    return search, batch, f"no batch API: ThreadPoolExecutor({threads}) over searcher.search"


ENGINES = {"winnow": "winnow", "bm25s-numba": "bm25s", "tantivy": "tantivy"}


def engine_version(engine: str) -> str:
    from importlib.metadata import version

    return version(ENGINES[engine])


# ---------- phases ----------
def do_build(a) -> dict:
    fn = globals()["build_" + a.engine.replace("-", "_")]
    t0 = time.perf_counter()
    n_docs, note = fn(a.beir_dir, a.index_dir, a)
    secs = time.perf_counter() - t0
    return dict(n_docs=n_docs, index_s=secs, docs_per_s=n_docs / secs,
                index_bytes=dir_bytes(a.index_dir), build_rss_mb=peak_rss_mb(), build_note=note)


def best_of(repeats: int, fn):
    """Smallest wall time of ``repeats`` calls of ``fn`` and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def do_search(a) -> dict:
    import ir_measures
    from ir_measures import nDCG

    queries, qrels = read_queries(a.beir_dir)
    texts = [q for _, q in queries]
    open_fn = globals()["open_" + a.engine.replace("-", "_")]
    t0 = time.perf_counter()
    open_fn(a.index_dir, a)  # first open: also pays the engine's lazy imports
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    search, batch, batch_note = open_fn(a.index_dir, a)  # the open itself, files in page cache
    reload_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    search(texts[0])
    first_query_s = time.perf_counter() - t0
    batch(texts[:4])  # compiles the batch path too, outside the timings

    single_s, hits = best_of(a.repeats, lambda: [search(q) for q in texts])
    batch_s, batch_hits = best_of(a.repeats, lambda: batch(texts))

    def to_run(all_hits):
        return {qid: {str(d): float(s) for d, s in h} for (qid, _), h in zip(queries, all_hits)}

    measure = nDCG @ 10
    ndcg = ir_measures.calc_aggregate([measure], qrels, to_run(hits))[measure]
    ndcg_batch = ir_measures.calc_aggregate([measure], qrels, to_run(batch_hits))[measure]
    return dict(n_queries=len(texts), load_s=load_s, reload_s=reload_s, first_query_s=first_query_s,
                qps_single=len(texts) / single_s, qps_batch=len(texts) / batch_s,
                ndcg10=ndcg, ndcg10_batch=ndcg_batch, search_rss_mb=peak_rss_mb(),
                batch_note=batch_note)


def main() -> None:
    ap = argparse.ArgumentParser(description="child side of bm25_peers.py")
    ap.add_argument("phase", choices=["build", "search"])
    ap.add_argument("engine", choices=sorted(ENGINES))
    ap.add_argument("beir_dir")
    ap.add_argument("index_dir")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--k1", type=float, default=0.9)
    ap.add_argument("--b", type=float, default=0.4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--store", action="store_true", help="winnow: also store document texts")
    a = ap.parse_args()
    res = do_build(a) if a.phase == "build" else do_search(a)
    res["version"] = engine_version(a.engine)
    sys.stdout.flush()
    print("RESULT " + json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
