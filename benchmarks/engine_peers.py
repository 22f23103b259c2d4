"""winnow against peer engines: BM25 text (bm25s-numba, tantivy, PISA) and learned sparse vectors
(PISA, Seismic), single-query and batch, with recall of approximate search.

    python benchmarks/engine_peers.py --beir DIR [DIR ...] [--synth-text DIR] --splade-model DIR \\
        --cache-dir DIR [--workloads bm25,splade,if,synth-vec] [--datasets scifact,...] \\
        [--peers-python PY] [--repeats 3] [--json OUT.json]

Each engine runs in its own subprocess (``_engine.py``): winnow in this interpreter, the peers in
``--peers-python`` (default ``$PEERS_PYTHON``: a venv with bm25s, numba, PyStemmer, tantivy,
pyterrier-pisa, pyseismic-lsr). One table per (dataset, query type).

Workloads:
  bm25       BEIR text (and ``--synth-text``, a ``synth.py`` folder), each engine with its own
             analyzer: recall against winnow would measure tokenizers, so the table shows nDCG@10.
  splade     SPLADE document and query vectors from ``--splade-model`` (winnow's ONNX encoder, cached
             in ``--cache-dir`` by ``_vecdata.py``); every engine gets identical vectors.
  if         inference-free queries (distinct tokens x corpus IDF) over the same SPLADE documents.
  synth-vec  random learned-sparse-like vectors (``--synth-vec-docs``, Zipfian terms, U(0,1)^4).
Vector tables show recall@10 against winnow's exact top-10 (``auto``); PISA indexes integer
impacts (``int(w * --pisa-scale)``), so its recall shows what that quantisation costs.

Columns: qps 1× (one query at a time, one caller thread), qps batch (one call, ``--threads``),
mean / p99 ms (latencies of the single loop, each query's fastest round), all best of
``--repeats`` rounds because the machine is shared; index MB on disk; build s (index build, incl. lazy first-search work).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _vecdata  # noqa: E402

log = logging.getLogger("engine_peers")
CHILD = os.path.join(HERE, "_engine.py")
TEXT_ENGINES = ["winnow", "bm25s-numba", "tantivy", "pisa", "pisa-pt"]
VECTOR_ENGINES = ["winnow", "pisa", "seismic"]
WINNOW_CONFIGS = [
    {"strategy": "auto"}, {"strategy": "exhaustive"}, {"strategy": "maxscore"},
    # approximate: candidates by accumulating pruned postings (prune_factor 1), then exact rescoring
    {"query_cut": 10, "candidates": 30}, {"query_cut": 20, "candidates": 30},
    {"max_postings": 300, "query_cut": 20, "candidates": 30}, {"max_postings": 1000, "candidates": 20},
    # approximate with MaxScore candidates (prune_factor < 1)
    {"query_cut": 20, "prune_factor": 0.9, "candidates": 50},
]
# 1M random vectors: fewer, larger settings (exact MaxScore alone takes ~75 ms a query there, and a
# Seismic build ~6 min on 2 busy cores).
WINNOW_CONFIGS_SYNTH = [
    {"strategy": "auto"}, {"strategy": "exhaustive"}, {"strategy": "maxscore"},
    {"query_cut": 10, "prune_factor": 0.9, "candidates": 50}, {"query_cut": 20, "prune_factor": 0.9, "candidates": 50},
    {"max_postings": 20000, "query_cut": 20, "prune_factor": 0.9, "candidates": 50},
    {"max_postings": 100000, "query_cut": 20, "prune_factor": 0.9, "candidates": 50},
]
SEISMIC_CONFIGS_SYNTH = [{"query_cut": 10, "heap_factor": 0.9}, {"query_cut": 20, "heap_factor": 0.9},
                         {"query_cut": 40, "heap_factor": 1.0}]
SEISMIC_BUILDS_SYNTH = [{}]
SEISMIC_CONFIGS = [{"query_cut": qc, "heap_factor": hf} for qc in (10, 20, 40) for hf in (0.7, 0.9, 1.0)]
SEISMIC_BUILDS = [{}, {"summary_energy": 0.9}]  # its defaults (summary_energy=0.4), and a near-exact build


class EngineError(RuntimeError):
    """A child process failed; the message holds the tail of its stderr."""


def run_child(python: str, args: list[str], timeout: int, log_path: str) -> dict:
    cmd = [python, CHILD, *args]
    log.info("  %s", " ".join(os.path.basename(c) if c == python else c for c in cmd))
    env = dict(os.environ)
    for var, sub in [("PYTERRIER_HOME", "pyterrier"), ("IR_DATASETS_HOME", "ir_datasets")]:
        env.setdefault(var, os.path.join(tempfile.gettempdir(), "peers-home", sub))  # keep $HOME clean
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        raise EngineError(f"timed out after {timeout} s") from e
    with open(log_path, "w") as f:
        f.write(p.stdout[-20000:] + "\n" + p.stderr[-20000:])
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    if p.returncode != 0 or not lines:
        tail = [ln for ln in p.stderr.strip().splitlines() if ln.strip()][-1:] or ["no output"]
        raise EngineError(f"exit {p.returncode}: {tail[0][:300]}")
    return json.loads(lines[-1][len("RESULT "):])


def read_qrels(beir_dir: str) -> dict:
    qrels: dict = {}
    with open(os.path.join(beir_dir, "qrels", "test.tsv"), encoding="utf-8") as f:
        for line in f:
            q, d, r = line.rstrip("\n").split("\t")[:3]
            if q != "query-id":
                qrels.setdefault(q, {})[d] = int(r)
    return qrels


def ndcg10(run: dict, qrels: dict) -> float:
    import ir_measures
    from ir_measures import nDCG

    r = {q: {d: s for d, s in hits} for q, hits in run.items()}
    return ir_measures.calc_aggregate([nDCG @ 10], qrels, r)[nDCG @ 10]


def recall_vs(run: dict, ref: dict, k: int) -> float:
    vals = []
    for q, hits in ref.items():
        want = {d for d, _ in hits[:k]}
        if want:
            vals.append(len(want & {d for d, _ in run.get(q, [])[:k]}) / len(want))
    return sum(vals) / len(vals) if vals else float("nan")


def engine_python(engine: str, a) -> str:
    return sys.executable if engine == "winnow" else a.peers_python


def bench_text(name: str, beir_dir: str, a) -> list[dict]:
    """BM25 over one BEIR folder: every text engine, nDCG@10 against the folder's qrels."""
    qrels, rows = read_qrels(beir_dir), []
    for engine in a.engines_text:
        work = tempfile.mkdtemp(prefix=f"ep-{name}-{engine}-", dir=a.workdir)
        try:
            res = run_child(engine_python(engine, a), ["text", engine, beir_dir, work, *a.common],
                            a.timeout, os.path.join(a.logdir, f"{name}-bm25-{engine}.log"))
        except EngineError as e:
            log.warning("%s on %s failed: %s", engine, name, e)
            rows.append(dict(engine=engine, error=str(e)))
            continue
        finally:
            shutil.rmtree(work, ignore_errors=True)
        for r in res["rows"]:
            run = r.pop("run")
            rows.append(dict(engine=engine, version=res["version"], build_s=res["build_s"],
                             index_bytes=res["index_bytes"], build_note=res["build_note"],
                             ndcg10=ndcg10(run, qrels), **r))
    return rows


def bench_vectors(name: str, vec_dir: str, kinds: list[str], a, qrels=None, doc_ids=None) -> dict:
    """One vector set: every vector engine builds once and runs each query kind.

    Returns ``{kind: rows}``; recall@10 is against winnow ``auto`` on the same kind.
    """
    rows = []
    for engine in a.engines_vec:
        work = tempfile.mkdtemp(prefix=f"ep-{name}-{engine}-", dir=a.workdir)
        extra = []
        if engine == "winnow":
            extra = ["--configs", json.dumps(a.winnow_configs)] + (["--model", a.splade_model] if "if" in kinds else [])
        elif engine == "seismic":
            extra = ["--configs", json.dumps(a.seismic_configs), "--seismic-builds", json.dumps(a.seismic_builds)]
        elif engine == "pisa":
            extra = ["--pisa-scale", str(a.pisa_scale)]
        try:
            res = run_child(engine_python(engine, a),
                            ["vectors", engine, vec_dir, ",".join(kinds), work, *a.common, *extra],
                            a.timeout, os.path.join(a.logdir, f"{name}-vectors-{engine}.log"))
        except EngineError as e:
            log.warning("%s on %s failed: %s", engine, name, e)
            rows += [dict(engine=engine, kind=kind, error=str(e)) for kind in kinds]
            continue
        finally:
            shutil.rmtree(work, ignore_errors=True)
        for r in res["rows"]:
            row = dict(engine=engine, version=res["version"], build_s=res["build_s"] + r.pop("extra_build_s", 0.0),
                       build_note=res["build_note"], **{"index_bytes": res["index_bytes"], **r})
            rows.append(row)
    out = {}
    for kind in kinds:
        mine = [r for r in rows if r["kind"] == kind]
        ref = next((r["run"] for r in mine if r["engine"] == "winnow" and r.get("config") == "auto"), None)
        for row in mine:
            run = row.pop("run", None)
            if run is None:
                continue
            if ref is not None:
                row["recall10"] = recall_vs(run, ref, a.k)
            if qrels is not None and doc_ids is not None:
                row["ndcg10"] = ndcg10({q: [(doc_ids[int(d)], s) for d, s in h] for q, h in run.items()}, qrels)
        out[kind] = mine
    return out


# ---------- output ----------
COLUMNS = [("engine", "engine", "{}"), ("config", "config", "{}"), ("qps 1×", "qps_single", "{:,.0f}"),
           ("qps batch", "qps_batch", "{:,.0f}"), ("mean ms", "mean_ms", "{:.3f}"), ("p99 ms", "p99_ms", "{:.3f}"),
           ("recall@10", "recall10", "{:.4f}"), ("nDCG@10", "ndcg10", "{:.4f}"),
           ("index MB", "index_bytes", "{:,.1f}"), ("build s", "build_s", "{:,.1f}")]


def table(title: str, rows: list[dict]) -> str:
    def cell(r, key, fmt):
        if key not in r or r[key] is None:
            return "FAIL: " + r["error"][:60] if key == "config" and "error" in r else ""
        v = r[key] / 2**20 if key == "index_bytes" else r[key]
        return fmt.format(v)

    cols = [c for c in COLUMNS if any(c[1] in r for r in rows) or c[1] == "engine"]
    cells = [[h for h, _, _ in cols]] + [[cell(r, k, f) for _, k, f in cols] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    lines = [f"## {title}", ""]
    for j, c in enumerate(cells):
        lines.append("| " + " | ".join(x.ljust(w) if i < 2 else x.rjust(w) for i, (x, w) in
                                        enumerate(zip(c, widths))) + " |")
        if j == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def targets(tables: dict) -> list[str]:
    """The four targets, each stated with the measured numbers (pass or miss)."""
    out = []

    def ok(x):
        return "MET" if x else "MISSED"

    for key, rows in tables.items():
        ds, kind = key
        good = [r for r in rows if "error" not in r]
        w = {r["config"]: r for r in good if r["engine"] == "winnow"}
        if kind == "bm25" and "default" in w:
            peers = [r for r in good if r["engine"] in ("bm25s-numba", "tantivy", "pisa")]
            for col in ("qps_single", "qps_batch"):
                if peers:
                    best = max(peers, key=lambda r: r.get(col, 0))
                    ratio = w["default"][col] / best[col]
                    out.append(f"{ds} BM25 {col}: winnow {w['default'][col]:,.0f} vs fastest peer {best['engine']} "
                               f"{best[col]:,.0f} = {ratio:.2f}x (target >= 1.5x: {ok(ratio >= 1.5)})")
        if kind != "bm25" and "auto" in w:
            pisa = [r for r in good if r["engine"] == "pisa"]
            for col in ("qps_single", "qps_batch"):
                if pisa and col in pisa[0]:
                    ratio = w["auto"][col] / pisa[0][col]
                    out.append(f"{ds}/{kind} exact {col}: winnow auto {w['auto'][col]:,.0f} vs PISA {pisa[0][col]:,.0f}"
                               f" = {ratio:.2f}x (target >= 1: {ok(ratio >= 1)})")
            seis = [r for r in good if r["engine"] == "seismic" and r.get("recall10", 0) >= 0.95]
            wa = [r for r in good if r["engine"] == "winnow" and r["config"].startswith("approx")
                  and r.get("recall10", 0) >= 0.95]
            wx = [r for r in good if r["engine"] == "winnow" and r["config"] in ("auto", "exhaustive", "maxscore")]
            for col in ("qps_single", "qps_batch"):
                if not seis:
                    out.append(f"{ds}/{kind} recall>=0.95 {col}: no Seismic setting reached recall 0.95")
                    continue
                bs = max(seis, key=lambda r: r[col])
                if wa:
                    bw = max(wa, key=lambda r: r[col])
                    out.append(f"{ds}/{kind} recall>=0.95 {col}: best winnow approx ({bw['config']}, recall "
                               f"{bw['recall10']:.3f}) {bw[col]:,.0f} vs best Seismic ({bs['config']}, recall "
                               f"{bs['recall10']:.3f}) {bs[col]:,.0f} = {bw[col] / bs[col]:.2f}x "
                               f"(target >= 1: {ok(bw[col] >= bs[col])})")
                else:
                    out.append(f"{ds}/{kind} recall>=0.95 {col}: no winnow approx setting reached recall 0.95")
                if wx:
                    be = max(wx, key=lambda r: r[col])
                    out.append(f"{ds}/{kind} {col}: fastest exact winnow ({be['config']}) {be[col]:,.0f} = "
                               f"{be[col] / bs[col]:.2f}x that Seismic setting")
        if kind == "if":
            bm = [r for r in tables.get((ds, "bm25"), []) if r.get("engine") == "winnow" and "mean_ms" in r]
            txt = [r for r in good if r["engine"] == "winnow" and r["config"].startswith("auto, from")]
            if bm and txt:
                ratio = txt[0]["mean_ms"] / bm[0]["mean_ms"]
                out.append(f"{ds} inference-free mean latency (from text, auto) {txt[0]['mean_ms']:.3f} ms vs BM25 "
                           f"{bm[0]['mean_ms']:.3f} ms = {ratio:.2f}x (target <= 1.1x: {ok(ratio <= 1.1)})")
            if bm and "auto" in w:  # the search alone, query vectors given: separates tokenizer cost
                out.append(f"{ds} inference-free mean latency (vectors given, auto) {w['auto']['mean_ms']:.3f} ms vs "
                           f"BM25 (from text) {bm[0]['mean_ms']:.3f} ms = {w['auto']['mean_ms'] / bm[0]['mean_ms']:.2f}x")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--beir", nargs="*", default=[], help="BEIR folders (corpus.jsonl, queries.jsonl, qrels/test.tsv)")
    ap.add_argument("--synth-text", help="a synth.py BEIR folder (e.g. 1M docs) for the bm25 workload")
    ap.add_argument("--splade-model", help="SPLADE model folder (splade and if workloads)")
    ap.add_argument("--cache-dir", help="where encoded / synthetic vectors are cached")
    ap.add_argument("--workloads", default="bm25,splade,if,synth-vec")
    ap.add_argument("--datasets", help="comma list of dataset names to keep (folder names, 'synth-vec')")
    ap.add_argument("--engines", help="comma list of engines to keep (default: all)")
    ap.add_argument("--synth-vec-docs", type=int, default=1_000_000)
    ap.add_argument("--synth-vec-queries", type=int, default=300)
    ap.add_argument("--winnow-configs", type=json.loads, help="JSON list (default: WINNOW_CONFIGS, *_SYNTH for synth-vec)")
    ap.add_argument("--seismic-configs", type=json.loads, help="JSON list (default: SEISMIC_CONFIGS[_SYNTH])")
    ap.add_argument("--seismic-builds", type=json.loads,
                    help="JSON list of SeismicIndexRaw.build keyword dicts, one index each (default: SEISMIC_BUILDS[_SYNTH])")
    ap.add_argument("--pisa-scale", type=float, default=1000.0, help="PISA integer impacts = int(weight x scale)")
    ap.add_argument("--peers-python", default=os.environ.get("PEERS_PYTHON"))
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per engine run")
    ap.add_argument("--workdir", default=None, help="scratch folder for indexes (default: system temp)")
    ap.add_argument("--json", help="write all rows and the target lines here")
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    workloads = set(a.workloads.split(","))
    keep_engines = set(a.engines.split(",")) if a.engines else None
    peers_ok = bool(a.peers_python)
    if not peers_ok:
        log.warning("no --peers-python / $PEERS_PYTHON: running winnow only")

    def pick(names):
        return [e for e in names if (keep_engines is None or e in keep_engines) and (e == "winnow" or peers_ok)]

    a.engines_text, a.engines_vec = pick(TEXT_ENGINES), pick(VECTOR_ENGINES)
    a.common = ["--k", str(a.k), "--repeats", str(a.repeats), "--threads", str(a.threads)]
    a.logdir = tempfile.mkdtemp(prefix="engine-peers-logs-", dir=a.workdir)
    log.info("child logs in %s", a.logdir)
    wanted = set(a.datasets.split(",")) if a.datasets else None
    beirs = [(os.path.basename(os.path.normpath(d)), d) for d in a.beir]
    if a.synth_text:
        beirs.append((os.path.basename(os.path.normpath(a.synth_text)), a.synth_text))
    beirs = [(n, d) for n, d in beirs if wanted is None or n in wanted]

    given = (a.winnow_configs, a.seismic_configs, a.seismic_builds)
    a.winnow_configs, a.seismic_configs, a.seismic_builds = (x if x is not None else d for x, d in
                                                             zip(given, (WINNOW_CONFIGS, SEISMIC_CONFIGS, SEISMIC_BUILDS)))
    tables: dict = {}
    if "bm25" in workloads:
        for name, d in beirs:
            log.info("bm25 on %s", name)
            tables[(name, "bm25")] = bench_text(name, d, a)
    if workloads & {"splade", "if"}:
        if not (a.splade_model and a.cache_dir):
            ap.error("the splade / if workloads need --splade-model and --cache-dir")
        model = os.path.basename(os.path.normpath(a.splade_model))
        for name, d in beirs:
            if d == a.synth_text:
                continue  # random words: a language model has nothing to say about them
            vec = _vecdata.encode_splade(d, a.splade_model, os.path.join(a.cache_dir, f"{name}-{model}"))
            doc_ids = [str(x) for x in _vecdata.load_csr(os.path.join(vec, "docs.npz"))["ids"]]
            kinds = [kind for kind in ("splade", "if") if kind in workloads]
            log.info("%s vectors on %s", "+".join(kinds), name)
            for kind, rows in bench_vectors(name, vec, kinds, a, read_qrels(d), doc_ids).items():
                tables[(name, kind)] = rows
    if "synth-vec" in workloads and (wanted is None or "synth-vec" in wanted):
        if not a.cache_dir:
            ap.error("the synth-vec workload needs --cache-dir")
        n = a.synth_vec_docs
        a.winnow_configs, a.seismic_configs, a.seismic_builds = (x if x is not None else d for x, d in zip(
            given, (WINNOW_CONFIGS_SYNTH, SEISMIC_CONFIGS_SYNTH, SEISMIC_BUILDS_SYNTH)))
        vec = _vecdata.make_synth(os.path.join(a.cache_dir, f"synth-vec-{n}"), n, a.synth_vec_queries)
        log.info("synthetic vectors, %d docs", n)
        tables[(f"synth-vec-{n}", "synth")] = bench_vectors(f"synth-vec-{n}", vec, ["synth"], a)["synth"]

    titles = {"bm25": "BM25 text queries (nDCG@10; each engine its own analyzer)",
              "splade": "SPLADE query vectors", "if": "inference-free query vectors (tokens x IDF)",
              "synth": "synthetic query vectors"}
    for (ds, kind), rows in tables.items():
        print(table(f"{ds}: {titles[kind]}", rows) + "\n")
    lines = targets(tables)
    print("## Targets\n\n" + "\n".join(f"- {x}" for x in lines))
    notes = {}
    for (ds, kind), rows in tables.items():
        for r in rows:
            if "error" not in r:
                notes.setdefault((r["engine"], r.get("note", ""), r.get("build_note", "")), None)
    print("\n## How each engine was called\n")
    for engine, note, build in notes:
        print(f"- {engine}: {note}; build: {build}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"tables": [{"dataset": ds, "queries": kind, "rows": rows} for (ds, kind), rows in tables.items()],
                       "targets": lines, "repeats": a.repeats, "threads": a.threads}, f, indent=1)


if __name__ == "__main__":
    main()
