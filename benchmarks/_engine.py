"""One engine on one workload, in its own process: the child side of ``engine_peers.py``.

    python benchmarks/_engine.py text    ENGINE BEIR_DIR WORK_DIR [--k 10 --repeats 3 --threads N]
    python benchmarks/_engine.py vectors ENGINE VEC_DIR KIND[,KIND] WORK_DIR [--configs JSON] [...]

Prints one line ``RESULT {json}`` on stdout. Only the standard library is imported at module
level, so this file runs in the winnow venv (engine ``winnow``) and in the peers venv alike.

Engines: ``text``: winnow, bm25s-numba, tantivy (index and query code shared with ``_peers.py``),
pisa. ``vectors`` (the cached CSR vectors of ``_vecdata.py``, documents numbered by row): winnow,
pisa, seismic. Each engine builds its index once, then runs every *config* (a search setting) and
every query kind on it; one result row per (config, kind).

What is timed, per config (``--repeats`` rounds, the best kept; the machine is shared):
  single   every query one at a time from one caller thread; ``qps_single`` = queries / wall time
           of the best round; ``mean_ms`` / ``p99_ms`` over per-query latencies, each query's
           fastest round.
  batch    all queries in one call with ``--threads`` workers; ``qps_batch`` = queries / best time.
Text queries include query tokenization; vector queries start from (term ids, weights).
Each row also carries the top-k run of the single loop (row numbers or doc ids and scores).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _peers  # noqa: E402  (stdlib-only at import; shares the BM25 engines of bm25_peers.py)


def dir_bytes(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def time_single(search, queries, repeats):
    """One-at-a-time search, ``repeats`` rounds: ``(best round's total s, per-query best latencies, results)``.

    Per-query latency is that query's fastest round: on a shared machine a single slow round
    (another process taking the core) says nothing about the engine.
    """
    best_total, best_lat, out = float("inf"), [float("inf")] * len(queries), None
    for _ in range(repeats):
        hits = []
        t_all = time.perf_counter()
        for i, q in enumerate(queries):
            t0 = time.perf_counter()
            hits.append(search(q))
            dt = time.perf_counter() - t0
            if dt < best_lat[i]:
                best_lat[i] = dt
        best_total = min(best_total, time.perf_counter() - t_all)
        out = hits
    return best_total, best_lat, out


def time_batch(batch, queries, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = batch(queries)
        best = min(best, time.perf_counter() - t0)
    return best, out


def measure(search, batch, queries, qids, repeats, k) -> dict:
    """Warm up, then time the single loop and the batch call."""
    search(queries[0])
    if batch:
        batch(queries[:4])
    total, lat, hits = time_single(search, queries, repeats)
    lat_ms = sorted(x * 1000 for x in lat)
    res = dict(n_queries=len(queries), qps_single=len(queries) / total, mean_ms=sum(lat_ms) / len(lat_ms),
               p50_ms=lat_ms[len(lat_ms) // 2], p99_ms=lat_ms[min(len(lat_ms) - 1, int(0.99 * len(lat_ms)))],
               run={q: [[str(d), float(s)] for d, s in h[:k]] for q, h in zip(qids, hits)})
    if batch:
        bt, bhits = time_batch(batch, queries, repeats)
        res["qps_batch"] = len(queries) / bt
        # Batch results must equal the single-loop results (order and ids): a cheap sanity check.
        same = sum([str(d) for d, _ in a[:k]] == [str(d) for d, _ in b[:k]] for a, b in zip(hits, bhits))
        res["batch_agrees"] = same / len(queries)
    return res


# ---------- PISA (text) ----------
def _quiet_stderr():
    """Silence PISA's C++ progress bars (fd 2); returns a restore function."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(2)
    os.dup2(devnull, 2)
    return lambda: (os.dup2(saved, 2), os.close(devnull), os.close(saved))


def build_pisa(beir_dir, index_dir, a):
    from pyterrier_pisa import PisaIndex

    ids, texts = _peers.read_corpus(beir_dir)
    restore = _quiet_stderr()
    try:
        idx = PisaIndex(index_dir, stemmer="porter2", threads=a.threads)
        idx.index({"docno": i, "text": t} for i, t in zip(ids, texts))
        # The block-max BM25 index is built lazily on the first search: count it in the build.
        idx.bm25(k1=a.k1, b=a.b, num_results=a.k, threads=1).search("warmup")
    finally:
        restore()
    return len(ids), f"PisaIndex(stemmer='porter2', block_simdbp), bm25(k1={a.k1}, b={a.b}), block_max_wand"


def _pisa_direct(retr, pretokenised):
    """Call PISA's retrieval kernel (``_pisathon.retrieve``) with no pandas around it."""
    import numpy as np
    from pyterrier_pisa import _pisathon

    k = retr.num_results

    def run(inp, threads):
        n = len(inp) * k
        qidx, docnos = np.empty(n, np.int32), np.empty(n, dtype=object)
        ranks, scores = np.empty(n, np.int32), np.empty(n, np.float32)
        size = _pisathon.retrieve(retr._ctxt, retr.query_algorithm.value, inp, k=k, threads=threads,
                                  query_weighted=1 if retr.query_weighted else 0, pretokenised=pretokenised,
                                  result_qidxs=qidx, result_docnos=docnos, result_ranks=ranks,
                                  result_scores=scores)
        out = [[] for _ in inp]
        for i in range(size):
            out[qidx[i]].append((docnos[i], float(scores[i])))
        return out

    return run


def open_pisa(index_dir, a):
    from pyterrier_pisa import PisaIndex

    retr = PisaIndex(index_dir, threads=a.threads).bm25(k1=a.k1, b=a.b, num_results=a.k, threads=1)
    run = _pisa_direct(retr, pretokenised=False)
    threads = a.threads

    def search(q):
        return run([(0, " ".join(re.findall(r"\w+", q.lower())))], 1)[0]

    def batch(qs):
        return run([(i, " ".join(re.findall(r"\w+", q.lower()))) for i, q in enumerate(qs)], threads)

    return search, batch, f"_pisathon.retrieve (no DataFrames): 1 query per call / all queries, threads={threads}"


def open_pisa_pt(index_dir, a):
    """PISA through the pyterrier transformer (one-row DataFrame per query), as users call it."""
    import pandas as pd
    from pyterrier_pisa import PisaIndex

    retr = PisaIndex(index_dir, threads=a.threads).bm25(k1=a.k1, b=a.b, num_results=a.k, threads=1)
    retr_n = PisaIndex(index_dir, threads=a.threads).bm25(k1=a.k1, b=a.b, num_results=a.k, threads=a.threads)

    def clean(q):
        return " ".join(re.findall(r"\w+", q.lower()))

    def search(q):
        res = retr(pd.DataFrame([{"qid": "q", "query": clean(q)}]))
        return list(zip(res.docno, res.score))

    def batch(qs):
        res = retr_n(pd.DataFrame({"qid": [str(i) for i in range(len(qs))], "query": [clean(q) for q in qs]}))
        out = [[] for _ in qs]
        for qid, d, s in zip(res.qid, res.docno, res.score):
            out[int(qid)].append((d, float(s)))
        return out

    return search, batch, f"pyterrier transformer, one-row DataFrame per query / one DataFrame, threads={a.threads}"


TEXT_ENGINES = {
    "winnow": (_peers.build_winnow, _peers.open_winnow, "winnow"),
    "bm25s-numba": (_peers.build_bm25s_numba, _peers.open_bm25s_numba, "bm25s"),
    "tantivy": (_peers.build_tantivy, _peers.open_tantivy, "tantivy"),
    "pisa": (build_pisa, open_pisa, "pyterrier-pisa"),
    "pisa-pt": (build_pisa, open_pisa_pt, "pyterrier-pisa"),
}


def run_text(a) -> dict:
    build, open_, dist = TEXT_ENGINES[a.engine]
    index_dir = os.path.join(a.work, "index")
    a.store = False
    t0 = time.perf_counter()
    n_docs, build_note = build(a.data, index_dir, a)
    build_s = time.perf_counter() - t0
    queries, _ = _peers.read_queries(a.data)
    search, batch, note = open_(index_dir, a)
    row = measure(search, batch, [q for _, q in queries], [q for q, _ in queries], a.repeats, a.k)
    row.update(config="default", note=note)
    return dict(engine=a.engine, version=_version(dist), n_docs=n_docs, build_s=build_s,
                index_bytes=dir_bytes(index_dir), build_note=build_note, rows=[row])


# ---------- vectors ----------
class QuerySet:
    """One query kind of a vector folder: ``kind``, ``qids``, ``rows`` = ``[(term ids, weights)]``, ``csr``."""

    def __init__(self, vec_dir: str, kind: str):
        import numpy as np

        with np.load(os.path.join(vec_dir, f"queries-{kind}.npz")) as z:
            self.csr = {k: z[k] for k in z.files}
        p, t, w = self.csr["indptr"], self.csr["indices"], self.csr["data"]
        self.kind = kind
        self.qids = [str(q) for q in self.csr["ids"]]
        self.rows = [(np.ascontiguousarray(t[p[i]:p[i + 1]], np.int32), np.ascontiguousarray(w[p[i]:p[i + 1]],
                      np.float32)) for i in range(len(p) - 1)]


def load_docs(vec_dir):
    import numpy as np

    with np.load(os.path.join(vec_dir, "docs.npz")) as z:
        return {k: z[k] for k in z.files}


def vectors_winnow(docs, qsets, a):
    """Exact and approximate winnow on one index; pruned postings are (re)written per ``max_postings``."""
    from winnow import load_index
    from winnow.index.pruned import add_pruned_postings
    from _vecdata import index_csr

    from winnow.retrieve.searcher import Approx

    index_dir = os.path.join(a.work, "winnow")
    t0 = time.perf_counter()
    index_csr(docs, index_dir, a.data)
    build_s = time.perf_counter() - t0
    base_bytes = dir_bytes(index_dir)
    configs = json.loads(a.configs) if a.configs else [{"strategy": "auto"}]
    rows, current_mp, s = [], None, None
    k, threads = a.k, a.threads
    for cfg in sorted(configs, key=lambda c: c.get("max_postings") or 0):
        mp = cfg.get("max_postings")
        prune_s = 0.0
        if s is None or (mp and mp != current_mp):
            if mp and mp != current_mp:
                t0 = time.perf_counter()
                add_pruned_postings(index_dir, mp)
                prune_s = time.perf_counter() - t0
                current_mp = mp
            s = load_index(index_dir)
        s.approx = Approx(query_cut=cfg.get("query_cut", 0), prune_factor=cfg.get("prune_factor", 1.0),
                          candidates=cfg.get("candidates", 0))
        strategy = cfg.get("strategy", "approx")

        def search(q, s=s, strategy=strategy):
            h = s.search_vector(q[0], q[1], k, strategy)
            return list(zip(h.docnos.tolist(), h.scores.tolist()))

        def batch(qs, s=s, strategy=strategy):
            return [list(zip(h.docnos.tolist(), h.scores.tolist())) for h in s.search_vectors(qs, k, threads, strategy)]

        for qs in qsets:
            row = measure(search, batch, qs.rows, qs.qids, a.repeats, k)
            row.update(kind=qs.kind, config=_cfg_name(cfg), cfg=cfg,
                       index_bytes=dir_bytes(index_dir) if mp else base_bytes, extra_build_s=prune_s,
                       note=f"search_vector / search_vectors(threads={threads})")
            rows.append(row)
    if a.model and any(qs.kind == "if" for qs in qsets):
        rows.append(vectors_if_text(index_dir, next(qs for qs in qsets if qs.kind == "if"), a))
    return build_s, base_bytes, rows, "build_index(vectors encoder, store=False), float32 impacts"


def vectors_if_text(index_dir, qs, a):
    """winnow inference-free, timed from query text: StaticQueryEncoder + search_vector (auto)."""
    import numpy as np
    from tokenizers import Tokenizer

    from winnow import load_index
    from winnow.encode.inference_free import StaticQueryEncoder

    s = load_index(index_dir)
    enc = StaticQueryEncoder(Tokenizer.from_file(os.path.join(a.model, "tokenizer.json")),
                             np.load(os.path.join(a.data, "idf.npy")), 512)
    with open(os.path.join(a.data, "meta.json")) as f:
        source = json.load(f)["source"]
    by_id = dict(_peers.read_queries(source)[0])
    texts = [by_id[q] for q in qs.qids]
    k, threads = a.k, a.threads

    def search(q):
        t, w = enc.encode_query(q)
        h = s.search_vector(t, w, k)
        return list(zip(h.docnos.tolist(), h.scores.tolist()))

    def batch(qs_):
        return [list(zip(h.docnos.tolist(), h.scores.tolist()))
                for h in s.search_vectors([enc.encode_query(q) for q in qs_], k, threads)]

    row = measure(search, batch, texts, qs.qids, a.repeats, k)
    row.update(kind=qs.kind, config="auto, from query text", cfg={"strategy": "auto", "from_text": True},
               note="StaticQueryEncoder (tokenize + IDF lookup) + search_vector")
    return row


def vectors_pisa(docs, qsets, a):
    """PISA over the same vectors: pyterrier-pisa's toks indexer (integer impacts) + quantized scorer."""
    from pyterrier_pisa import PisaIndex

    index_dir = os.path.join(a.work, "pisa")
    p, t, w = docs["indptr"], docs["indices"], docs["data"]
    scale = a.pisa_scale

    def gen():
        for i in range(len(p) - 1):
            lo, hi = p[i], p[i + 1]
            yield {"docno": str(i), "toks": dict(zip(map(str, t[lo:hi].tolist()), w[lo:hi].tolist()))}

    restore = _quiet_stderr()
    t0 = time.perf_counter()
    try:
        idx = PisaIndex(index_dir, stemmer="none", threads=a.threads)
        idx.toks_indexer(scale=scale).index(gen())
        retr = idx.quantized(num_results=a.k, threads=1, toks_scale=scale)
        retr.search("0")  # builds the compressed block-max index lazily
    finally:
        restore()
    build_s = time.perf_counter() - t0
    run = _pisa_direct(retr, pretokenised=True)
    threads = a.threads

    def toks(q):
        return {str(x): float(v) * scale for x, v in zip(q[0].tolist(), q[1].tolist())}

    def search(q):
        return [(int(d), s / (scale * scale)) for d, s in run([(0, toks(q))], 1)[0]]

    def batch(qs):
        return [[(int(d), s / (scale * scale)) for d, s in r] for r in run([(i, toks(q)) for i, q in enumerate(qs)],
                                                                             threads)]

    rows = []
    for qs in qsets:
        row = measure(search, batch, qs.rows, qs.qids, a.repeats, a.k)
        row.update(kind=qs.kind, config="quantized, block_max_wand", cfg={"scale": scale},
                   note=f"doc impacts int(w*{scale:g}), query weights w*{scale:g} (float); _pisathon.retrieve direct")
        rows.append(row)
    return build_s, dir_bytes(index_dir), rows, \
        f"toks_indexer(scale={scale:g}) (PISA needs integer impacts), block_simdbp, quantized scorer"


def _write_seismic_bin(path, indptr, indices, data):
    """Seismic's inner binary format: u32 n; per vector u32 nnz, nnz x u32 components, nnz x f32 values."""
    import numpy as np

    n = len(indptr) - 1
    lens = np.diff(indptr).astype(np.uint32)
    # Interleave per row: [nnz][comps...][vals...], all 4-byte words, built without a Python loop.
    words = np.empty(n + 2 * int(indptr[-1]), dtype=np.uint32)
    row_start = np.arange(n) + 2 * indptr[:-1]
    words[row_start] = lens
    pos = np.repeat(row_start + 1, lens) + (np.arange(indptr[-1]) - np.repeat(indptr[:-1], lens))
    words[pos] = indices.astype(np.uint32)
    words[pos + np.repeat(lens, lens)] = data.astype(np.float32).view(np.uint32)
    with open(path, "wb") as f:
        f.write(np.uint32(n).tobytes())
        f.write(words.tobytes())


def _ascending(indptr, indices, data):
    """Each row's components in ascending order, as Seismic requires ("Query components must be
    sorted in ascending order"); inference-free query ids come in first-occurrence order."""
    import numpy as np

    row = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    order = np.lexsort((indices, row))
    return indptr, indices[order], data[order]


def vectors_seismic(docs, qsets, a):
    import numpy as np
    import seismic

    doc_bin = os.path.join(a.work, "docs.bin")
    _write_seismic_bin(doc_bin, *_ascending(docs["indptr"], docs["indices"], docs["data"]))
    q_bins, q_rows = {}, {}
    for qs in qsets:
        p, t, w = _ascending(qs.csr["indptr"], qs.csr["indices"], qs.csr["data"])
        q_bins[qs.kind] = os.path.join(a.work, f"queries-{qs.kind}.bin")
        _write_seismic_bin(q_bins[qs.kind], p, t, w)
        q_rows[qs.kind] = [(np.ascontiguousarray(t[p[i]:p[i + 1]], np.int32),
                            np.ascontiguousarray(w[p[i]:p[i + 1]], np.float32)) for i in range(len(p) - 1)]
    builds = json.loads(a.seismic_builds) if a.seismic_builds else [{}]
    configs = json.loads(a.configs) if a.configs else [{"query_cut": 10, "heap_factor": 0.9}]
    rows, notes = [], []
    k, threads = a.k, a.threads
    for b_i, build in enumerate(builds):
        t0 = time.perf_counter()
        idx = seismic.SeismicIndexRaw.build(doc_bin, **build)
        build_s = time.perf_counter() - t0
        idx.save(os.path.join(a.work, f"seismic-{b_i}"))
        index_bytes = sum(os.path.getsize(os.path.join(a.work, f)) for f in os.listdir(a.work)
                          if f.startswith(f"seismic-{b_i}"))
        bname = " ".join(f"{key}={v}" for key, v in build.items()) or "default build"
        notes.append(f"SeismicIndexRaw.build({bname}) {build_s:.1f} s")
        for cfg in configs:
            qc, hf = int(cfg["query_cut"]), float(cfg["heap_factor"])

            def search(q, qc=qc, hf=hf, idx=idx):
                return [(d, s) for s, d in idx.search(q[0], q[1], k, qc, hf, 0, True)]

            for qs in qsets:
                def batch(qs_, qc=qc, hf=hf, idx=idx, n=len(qs.rows), q_bin=q_bins[qs.kind]):
                    if len(qs_) not in (4, n):  # the batch API reads the query file: all queries, or a warm-up
                        raise ValueError("seismic batch: unexpected query subset")
                    res = idx.batch_search(q_bin, k, qc, hf, 0, True, threads)
                    return [[(d, s) for s, d in r] for r in res][:len(qs_)]

                row = measure(search, batch, q_rows[qs.kind], qs.qids, a.repeats, k)
                row.update(kind=qs.kind, config=f"{bname}, query_cut={qc} heap_factor={hf}", cfg={**cfg, "build": build},
                           index_bytes=index_bytes, extra_build_s=build_s,
                           note=f"SeismicIndexRaw.search / batch_search(file, num_threads={threads})")
                rows.append(row)
        del idx
    return 0.0, None, rows, "; ".join(notes)


VECTOR_ENGINES = {"winnow": (vectors_winnow, "winnow"), "pisa": (vectors_pisa, "pyterrier-pisa"),
                  "seismic": (vectors_seismic, "pyseismic-lsr")}


def run_vectors(a) -> dict:
    fn, dist = VECTOR_ENGINES[a.engine]
    docs = load_docs(a.data)
    qsets = [QuerySet(a.data, kind) for kind in a.kinds.split(",")]
    os.makedirs(a.work, exist_ok=True)
    build_s, index_bytes, rows, note = fn(docs, qsets, a)
    return dict(engine=a.engine, version=_version(dist), n_docs=len(docs["indptr"]) - 1, build_s=build_s,
                index_bytes=index_bytes, build_note=note, rows=rows)


def _cfg_name(cfg: dict) -> str:
    if cfg.get("strategy", "approx") != "approx":
        return cfg["strategy"]
    parts = [f"{key}={cfg[key]}" for key in ("max_postings", "query_cut", "prune_factor", "candidates") if cfg.get(key)]
    return "approx " + (" ".join(parts) or "(defaults)")


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def main() -> None:
    ap = argparse.ArgumentParser(description="child side of engine_peers.py")
    ap.add_argument("workload", choices=["text", "vectors"])
    ap.add_argument("engine")
    ap.add_argument("data", help="BEIR folder (text) or vector cache folder (vectors)")
    ap.add_argument("rest", nargs="+", help="text: WORK_DIR; vectors: KINDS WORK_DIR")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--k1", type=float, default=0.9)
    ap.add_argument("--b", type=float, default=0.4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--configs", help="JSON list of search configs")
    ap.add_argument("--seismic-builds", help="JSON list of SeismicIndexRaw.build keyword dicts (one index each)")
    ap.add_argument("--pisa-scale", type=float, default=1000.0)
    ap.add_argument("--model", help="SPLADE model folder (its tokenizer.json times inference-free from text)")
    a = ap.parse_args()
    if a.workload == "text":
        a.work = a.rest[0]
        res = run_text(a)
    else:
        a.kinds, a.work = a.rest
        res = run_vectors(a)
    sys.stdout.flush()
    print("RESULT " + json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
