"""Load on `winnow serve` over loopback: queries/s and latency percentiles against in-process search.

For each served retriever (scifact BM25, and a hybrid: BM25 + inference-free with splade-tiny
documents, or BM25 + its BM25+ variant when the model is absent) and each worker count (1, 2),
1, 8 and 32 concurrent clients send ``GET /search`` with k=10, taking the scifact queries in
turn: 2,000 queries per run (``--queries``), or fewer when ``--seconds`` runs out first.
Reported: queries/s, p50/p95/p99 latency as the client sees it, errors (any non-200 or
transport error), and the CPU the clients used (a share of one core). The baseline is the same
queries in-process through ``search_batch`` (all cores) and one ``search`` call at a time, so
that server throughput can be read as a fraction of in-process batch throughput. A last row per
worker count sends ten times the queries as ``POST /search/batch`` requests of 50 (32 clients).

The clients are asyncio coroutines in this process, each holding one keep-alive HTTP/1.1
connection and writing its requests by hand (an HTTP library's own cost per request would be
comparable to the server's). They share the machine with the server: on a small machine they
compete for its cores, and the numbers are a lower bound on what the server can do.

    python benchmarks/serve_load.py --dataset ../shared/data/beir/scifact --json build/serve_load.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SPLADE_TINY = SHARED / "models" / "splade-tiny"
BATCH = 50
SECOND_BM25 = "bm25:variant=bm25+"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(dataset: Path, cache: Path, second: str, second_index: Path | None = None) -> dict[str, Path]:
    """The BM25 index and a saved hybrid pipeline of BM25 + ``second`` (built once, reused;
    ``second_index``: an index of ``dataset`` by ``second`` built before)."""
    import winnow
    from winnow.errors import WinnowError
    from winnow.pipeline.saved import save_pipeline

    name = "bm25plus" if second == SECOND_BM25 else second.split(":")[0].replace("-", "_")
    folders = {"bm25": cache / "bm25", second: second_index or cache / name}
    for spec, folder in folders.items():
        try:
            winnow.open(folder).close()
        except WinnowError:  # missing, or a build that did not finish
            print(f"indexing {dataset.name} with {spec} -> {folder}", file=sys.stderr)
            winnow.index_corpus(dataset, folder, encoder=spec)
    hybrid = save_pipeline(cache / "hybrid", f"bm25 + {second}", {a: f.resolve() for a, f in folders.items()})
    return {"bm25": folders["bm25"], "hybrid": hybrid}


def queries(dataset: Path) -> list[str]:
    return [json.loads(line)["text"] for line in (dataset / "queries.jsonl").read_text(encoding="utf-8").splitlines()]


def in_process(folder: Path, texts: list[str], n: int) -> dict:
    import winnow

    r = winnow.open(folder)
    batch = [texts[i % len(texts)] for i in range(n)]
    r.search_batch(batch[:100], k=10)  # compile and warm
    batch_qps = 0.0
    for _ in range(3):  # the best of three: the baseline the server is held to is in-process at its best
        start = time.perf_counter()
        r.search_batch(batch, k=10)
        batch_qps = max(batch_qps, n / (time.perf_counter() - start))
    start = time.perf_counter()
    for q in batch:
        r.search(q, 10)
    single_qps = n / (time.perf_counter() - start)
    r.close()
    return {"batch_qps": batch_qps, "single_qps": single_qps}


def start_server(served: dict[str, Path], workers: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    names = [a for name, path in served.items() for a in ("--name", f"{name}={path}")]
    proc = subprocess.Popen([sys.executable, "-c", "from winnow.cli.app import main; main()", "serve", *names,
                             "--port", str(port), "--workers", str(workers), "--max-batch", str(BATCH)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    import httpx

    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, port
        except httpx.TransportError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("server did not start")


async def load(port: int, retriever: str, texts: list[str], clients: int, n: int, seconds: float,
               batch: int = 0, warm: bool = True) -> dict:
    """``clients`` concurrent clients sending ``n`` queries (or until ``seconds``), in requests of
    ``batch`` queries (0: one query per ``GET /search``)."""
    latencies: list[float] = []
    errors = 0
    sent = 0

    def request(i: int) -> bytes:
        if not batch:
            query = urlencode({"q": texts[i % len(texts)], "k": 10, "retriever": retriever})
            return f"GET /search?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        body = json.dumps({"queries": [texts[(i + j) % len(texts)] for j in range(batch)], "k": 10,
                           "retriever": retriever}).encode()
        return (f"POST /search/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    async def client(deadline: float) -> None:
        nonlocal errors, sent
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while sent < n and time.perf_counter() < deadline:
                i = sent
                sent += batch or 1
                t0 = time.perf_counter()
                try:
                    writer.write(request(i))
                    status = await response(reader)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    status = 0
                latencies.append(time.perf_counter() - t0)
                errors += status != 200
                if status == 0:
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
        finally:
            writer.close()

    if warm:  # a short run first: every worker loads its kernels (batch kernels too) and fills caches
        await load(port, retriever, texts, clients, min(n, 10 * clients * (batch or 1)), seconds, batch, warm=False)
    cpu, start = time.process_time(), time.perf_counter()
    await asyncio.gather(*(client(start + seconds) for _ in range(clients)))
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    lat = np.array(latencies) * 1000
    done = len(latencies) * (batch or 1)
    return {"queries": done, "seconds": round(elapsed, 2), "qps": done / elapsed,
            "p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
            "p99": float(np.percentile(lat, 99)), "errors": errors, "client_cpu": cpu / elapsed}


async def response(reader: asyncio.StreamReader) -> int:
    """Read one response (a Content-Length body, as the server sends) and return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(v) for k, _, v in (line.partition(b":") for line in lines[1:]) if k.lower() == b"content-length")
    await reader.readexactly(length)
    return int(lines[0].split(b" ", 2)[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", type=Path, default=SHARED / "data" / "beir" / "scifact")
    ap.add_argument("--cache", type=Path, default=ROOT / "indexes" / "serve-load")
    ap.add_argument("--queries", type=int, default=2000, help="queries per run (all clients together)")
    ap.add_argument("--seconds", type=float, default=30.0, help="time limit per run")
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--second", default=f"inference-free:{SPLADE_TINY}" if SPLADE_TINY.is_dir() else SECOND_BM25,
                    help=f"the hybrid's other retriever (default: inference-free splade-tiny, else {SECOND_BM25})")
    ap.add_argument("--second-index", type=Path, help="an index of the dataset by --second built before (else "
                                                      "built into --cache)")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args()

    served = build(args.dataset, args.cache, args.second, args.second_index)
    texts = queries(args.dataset)
    rows = []
    base = {name: in_process(path, texts, args.queries) for name, path in served.items()}
    for name, b in base.items():
        print(f"in-process {name}: search_batch {b['batch_qps']:,.0f} q/s, one search at a time "
              f"{b['single_qps']:,.0f} q/s", file=sys.stderr)
    for workers in map(int, args.workers.split(",")):
        proc, port = start_server(served, workers)
        try:
            for name in served:
                for clients in map(int, args.clients.split(",")):
                    r = asyncio.run(load(port, name, texts, clients, args.queries, args.seconds))
                    rows.append({"retriever": name, "workers": workers, "clients": clients, "request": "search", **r,
                                 "vs_batch": r["qps"] / base[name]["batch_qps"]})
                    print(json.dumps(rows[-1]), file=sys.stderr)
            # batches of 50: ten times the queries, so that each client sends more than one request
            r = asyncio.run(load(port, "bm25", texts, 32, 10 * args.queries, args.seconds, batch=BATCH))
            rows.append({"retriever": "bm25", "workers": workers, "clients": 32, "request": f"batch of {BATCH}", **r,
                         "vs_batch": r["qps"] / base["bm25"]["batch_qps"]})
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
    print("| retriever | workers | clients | request | queries | q/s | p50 ms | p95 ms | p99 ms | errors | "
          "client CPU | vs in-process batch |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['retriever']} | {r['workers']} | {r['clients']} | {r['request']} | {r['queries']:,} | "
              f"{r['qps']:,.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['errors']} | "
              f"{r['client_cpu']:.0%} | {r['vs_batch']:.0%} |")
    for name, b in base.items():
        print(f"\nin-process {name}: search_batch {b['batch_qps']:,.0f} q/s; one search at a time "
              f"{b['single_qps']:,.0f} q/s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"in_process": base, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
