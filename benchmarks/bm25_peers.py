"""BM25 head to head: winnow against bm25s (numba backend) and tantivy on BEIR folders.

    python benchmarks/bm25_peers.py --datasets DIR [DIR ...] [--peers winnow,bm25s-numba,tantivy]
        [--k 10] [--repeats 3] [--peers-python PY] [--json OUT.json]

Each engine runs in its own subprocesses (one to build, a fresh one to load and search), so
thread pools, JIT caches and memory peaks stay apart. winnow runs in this interpreter; the
peers run in ``--peers-python`` (default ``$PEERS_PYTHON``), a venv with bm25s, numba,
PyStemmer, tantivy and ir-measures (see ``benchmarks/README.md``).

Columns (see ``_peers.py`` for exactly what each phase times):
  docs/s      documents / build seconds; the build reads corpus.jsonl, tokenizes, indexes
              and writes the index to disk.
  index MB    bytes of the index folder on disk (bm25s: its ``save()`` folder + doc ids).
              No engine stores document texts (winnow: ``store=False`` unless ``--store``).
  build RSS   peak RSS of the build process.
  load s      opening the index from disk (memory-mapped where the engine can) in a fresh
              process, after ``import <engine>``; includes imports the engine defers to load.
  reload s    opening it a second time in that process (the open itself, page cache warm).
  1st q s     the first query after loading: JIT compiles and lazy loading.
  qps 1×      test queries / seconds, one query at a time from one caller thread,
              query tokenization included; best of ``--repeats``.
  qps batch   all test queries in one call (bm25s: ``retrieve(n_threads=cores)``; winnow:
              ``search_batch``; tantivy has no batch API: a thread pool over ``search``).
  nDCG@10     ir-measures, from the one-at-a-time run.
Text indexed = title + " " + text. BM25 k1=0.9, b=0.4 where settable (bm25s method="lucene");
tantivy is fixed at k1=1.2, b=0.75.
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

log = logging.getLogger("bm25_peers")
CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_peers.py")
DEFAULT_PEERS = "winnow,bm25s-numba,tantivy"
COLUMNS = [  # (header, key, format)
    ("engine", "engine", "{}"), ("version", "version", "{}"), ("docs/s", "docs_per_s", "{:,.0f}"),
    ("build s", "index_s", "{:,.1f}"), ("index MB", "index_mb", "{:,.1f}"),
    ("build RSS MB", "build_rss_mb", "{:,}"), ("load s", "load_s", "{:.2f}"), ("reload s", "reload_s", "{:.3f}"),
    ("1st q s", "first_query_s", "{:.3f}"), ("qps 1×", "qps_single", "{:,.0f}"),
    ("qps batch", "qps_batch", "{:,.0f}"), ("nDCG@10", "ndcg10", "{:.4f}"),
    ("search RSS MB", "search_rss_mb", "{:,}"),
]


class PeerError(RuntimeError):
    """A child process failed; the message holds the tail of its stderr."""


def run_child(python: str, args: list[str], timeout: int, env: dict) -> dict:
    cmd = [python, CHILD, *args]
    log.debug("running %s", " ".join(cmd))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        raise PeerError(f"timed out after {timeout} s") from e
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    if p.returncode != 0 or not lines:
        tail = [ln for ln in p.stderr.strip().splitlines() if ln.strip()][-1:] or ["no output"]
        raise PeerError(f"exit {p.returncode}: {tail[0][:300]}")
    return json.loads(lines[-1][len("RESULT "):])


def bench_one(engine: str, data: str, a) -> dict:
    python = sys.executable if engine == "winnow" else a.peers_python
    env = dict(os.environ)
    if a.src:  # let the child import winnow from a checkout that is not installed
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [a.src, env.get("PYTHONPATH")]))
    work = tempfile.mkdtemp(prefix=f"bm25-{engine}-", dir=a.workdir)
    index_dir = os.path.join(work, "index")  # does not exist yet: each engine creates it
    common = [engine, data, index_dir, "--k", str(a.k), "--k1", str(a.k1), "--b", str(a.b),
              "--repeats", str(a.repeats), "--threads", str(a.threads)] + ["--store"] * a.store
    try:
        res = {"engine": engine, "dataset": os.path.basename(os.path.normpath(data))}
        res.update(run_child(python, ["build", *common], a.timeout, env))
        res.update(run_child(python, ["search", *common], a.timeout, env))
        res["index_mb"] = res["index_bytes"] / 2**20
        res["ok"] = True
        return res
    finally:
        if not a.keep_index:
            shutil.rmtree(work, ignore_errors=True)


def print_table(title: str, rows: list[dict]) -> None:
    def cell(r, key, fmt):
        return fmt.format(r[key]) if r.get("ok") or key in ("engine", "version") else ""

    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(f"\n{title}")
        print(" | ".join(h for h, _, _ in COLUMNS))
        for r in rows:
            print(" | ".join(cell(r, k, f) for _, k, f in COLUMNS) + (r.get("error") or ""))
        return
    t = Table(title=title)
    for h, _, _ in COLUMNS:
        t.add_column(h, justify="left" if h in ("engine", "version") else "right")
    for r in rows:
        cells = [cell(r, k, f) for _, k, f in COLUMNS]
        if not r.get("ok"):
            cells[2] = f"FAIL: {r['error']}"
        t.add_row(*cells)
    Console(width=max(160, shutil.get_terminal_size().columns)).print(t)


def markdown(results: list[dict]) -> str:
    """Results as one markdown table per dataset (the layout of benchmarks/README.md)."""
    out = []
    for ds in dict.fromkeys(r["dataset"] for r in results):
        rows = [r for r in results if r["dataset"] == ds]
        n = next((r for r in rows if r.get("ok")), {"n_docs": 0, "n_queries": 0})
        out += [f"**{ds}** ({n['n_docs']:,} docs, {n['n_queries']:,} test queries)", "",
                "| " + " | ".join(h for h, _, _ in COLUMNS) + " |",
                "|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|"]
        for r in rows:
            cells = [f.format(r[k]) if r.get("ok") or k in ("engine", "version") else "FAIL"
                     for _, k, f in COLUMNS]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("--datasets", nargs="+", default=[], help="BEIR folders")
    ap.add_argument("--peers", default=DEFAULT_PEERS, help=f"comma-separated (default {DEFAULT_PEERS})")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--k1", type=float, default=0.9)
    ap.add_argument("--b", type=float, default=0.4)
    ap.add_argument("--repeats", type=int, default=3, help="timed query loops; the best counts")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="for batch search")
    ap.add_argument("--peers-python", default=os.environ.get("PEERS_PYTHON"),
                    help="python of the peers venv (default $PEERS_PYTHON)")
    ap.add_argument("--src", help="folder prepended to the children's PYTHONPATH")
    ap.add_argument("--workdir", help="where indexes are built (default: the system temp dir)")
    ap.add_argument("--store", action="store_true",
                    help="winnow also stores document texts (the peers here store only ids)")
    ap.add_argument("--keep-index", action="store_true")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per child process")
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--markdown", help="write the tables here as markdown")
    ap.add_argument("--from-json", help="only render the results of an earlier --json run")
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if a.from_json:
        with open(a.from_json) as f:
            print(markdown(json.load(f)))
        return
    if not a.datasets:
        ap.error("--datasets is required (unless --from-json)")
    engines = [p.strip() for p in a.peers.split(",") if p.strip()]
    if any(e != "winnow" for e in engines) and not a.peers_python:
        ap.error("peers need --peers-python or $PEERS_PYTHON (see benchmarks/README.md)")

    results = []
    for data in a.datasets:
        rows = []
        for engine in engines:
            log.info("%s on %s", engine, data)
            try:
                r = bench_one(engine, data, a)
            except PeerError as e:
                r = {"engine": engine, "dataset": os.path.basename(os.path.normpath(data)),
                     "ok": False, "error": str(e), "version": ""}
                log.error("%s failed on %s: %s", engine, data, e)
            rows.append(r)
        n = next((r for r in rows if r.get("ok")), {"n_docs": 0, "n_queries": 0})
        print_table(f"{os.path.basename(os.path.normpath(data))}: {n['n_docs']:,} docs, "
                    f"{n['n_queries']:,} queries, k={a.k}, {a.threads} threads for batch",
                    rows)
        for r in rows:
            if r.get("ok"):
                log.info("%s: %s; batch: %s", r["engine"], r["build_note"], r["batch_note"])
        results += rows
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(markdown(results))


if __name__ == "__main__":
    main()
