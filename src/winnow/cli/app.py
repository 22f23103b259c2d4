"""The ``winnow`` command: a thin layer over the Python API.

No ``from __future__ import annotations`` here: Typer would resolve every command's string
annotations on each call (50 ms per command line).
"""

import contextlib
import functools
import json
import logging
import time
from pathlib import Path
from typing import Optional

import typer

from winnow.errors import WinnowError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Learned sparse and hybrid retrieval.")


@functools.cache
def _console():
    """Rich's console on stderr for messages and progress, made on first use: a one-shot search
    printing JSON never imports Rich."""
    from rich.console import Console

    return Console(stderr=True)


def _show(table) -> None:
    """Print a Rich table to stdout."""
    from rich.console import Console

    Console().print(table)


def _progress(label: str, *columns):
    """A transient progress bar on stderr: ``label``, a bar, done/total and ``columns`` (default:
    "docs"), then the time elapsed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), *(columns or (TextColumn("docs"),)),
                    TimeElapsedColumn(), console=_console(), transient=True)


@app.command()
def index(
    corpus: Optional[Path] = typer.Argument(None, help="BEIR folder or a JSONL/CSV/TSV/Parquet file."),
    out: Path = typer.Option(..., "--out", "-o", help="Index folder to write (an existing index is replaced)."),
    encoder: list[str] = typer.Option(["bm25"], help="Encoder spec, e.g. bm25:k1=0.9,b=0.4 or splade:MODEL; "
                                      "repeat it to build a hybrid: one index each, saved as one pipeline."),
    pipeline: Optional[str] = typer.Option(None, help="With several --encoder: the pipeline over them "
                                           "(default: RRF of all), e.g. 'zscore(bm25 + dense:MODEL)'."),
    quantize: Optional[str] = typer.Option(None, help="u8 for 8-bit impacts."),
    batch_size: int = typer.Option(1000, help="Documents per encoding batch."),
    no_store: bool = typer.Option(False, "--no-store", help="Keep ids only, not title/text."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip malformed records and report them."),
    id_field: str = typer.Option("_id", help="Id field of tabular files."),
    text_field: str = typer.Option("text", help="Text field of tabular files."),
    title_field: str = typer.Option("title", help="Title field of tabular files ('' for none)."),
    field: list[str] = typer.Option([], "--field", help="Declare a metadata field's type, NAME=TYPE with TYPE one "
                                    "of keyword, integer, float, boolean, date (repeat it: --field year=integer "
                                    "--field lang=keyword); only declared fields are stored. Default: infer them."),
    from_vectors: Optional[Path] = typer.Option(None, "--from-vectors", help="Index a vectors folder written by "
                                                "`winnow encode` instead of a corpus (no encoding)."),
    shards: int = typer.Option(0, help="With --from-vectors: build this many shards in parallel on Ray."),
    ray: Optional[str] = typer.Option(None, "--ray", help="Ray cluster address for --shards (default: local)."),
) -> None:
    """Index a corpus, or vectors encoded by `winnow encode`."""
    from winnow.api import index_corpus

    if (corpus is None) == (from_vectors is None):
        raise WinnowError("give a CORPUS or --from-vectors VECTORS (one of them)")
    if shards and from_vectors is None:
        raise WinnowError("--shards builds from vectors: run `winnow encode` first, then --from-vectors")
    if from_vectors is not None:
        if field:
            raise WinnowError("--field declares the metadata of a corpus; vectors from `winnow encode` keep theirs")
        _index_vectors(from_vectors, out, shards, ray, batch_size, quantize, not no_store)
        return
    skipped: list = []
    fields = {"id_field": id_field, "text_field": text_field, "title_field": title_field or None}
    if field:
        from winnow.filters.fields import parse_declarations

        fields["fields"] = parse_declarations(field)  # the declared metadata types
    if pipeline and len(encoder) < 2:
        raise WinnowError("--pipeline needs two or more --encoder specs")
    with _progress("indexing") as bar:
        task = bar.add_task("index", total=None)
        options = dict(batch_size=batch_size, quantize=quantize, store=not no_store, skip_bad=skip_bad,
                       skipped=skipped, progress=lambda n: bar.update(task, completed=n), **fields)
        if len(encoder) > 1:
            from winnow.api import index_hybrid

            info = index_hybrid(corpus, out, encoder, pipeline, **options)
        else:
            info = index_corpus(corpus, out, encoder[0], **options)
    for path, line, reason in skipped:
        _console().print(f"[yellow]skipped[/] {path}:{line}: {reason}")
    _console().print(f"indexed {info.n_docs:,} documents ({info.n_terms:,} terms, {info.n_postings:,} postings = "
                  f"{info.n_postings / info.n_docs:.1f} terms/doc, "
                  f"{info.bytes / 2**20:.1f} MiB) in {info.seconds:.1f} s ({info.docs_per_second:,.0f} docs/s)"
                  f" -> {info.path}" + (f"; skipped {len(skipped)} bad records" if skipped else ""))


def _index_vectors(vectors: Path, out: Path, shards: int, address: Optional[str], batch_size: int,
                   quantize: Optional[str], store: bool) -> None:
    if shards:
        from winnow.scale.shards import build_sharded_index

        if quantize:
            raise WinnowError("a sharded index keeps float32 impacts (8-bit scales would differ per shard)")
        start = time.perf_counter()
        manifest = build_sharded_index(vectors, out, shards, address=address, batch_size=batch_size, store=store)
        _console().print(f"indexed {manifest['n_docs']:,} documents into {shards} shards in "
                      f"{time.perf_counter() - start:.1f} s -> {out}")
        return
    from winnow.scale.vectors import index_vectors

    with _progress("indexing") as bar:
        task = bar.add_task("index", total=None)
        info = index_vectors(vectors, out, batch_size=batch_size, quantize=quantize, store=store,
                             progress=lambda n: bar.update(task, completed=n))
    _console().print(f"indexed {info.n_docs:,} documents ({info.n_terms:,} terms, {info.n_postings:,} postings) "
                  f"from vectors in {info.seconds:.1f} s -> {info.path}")


@app.command()
def encode(
    corpus: Path = typer.Argument(..., help="BEIR folder or JSON Lines file, readable by every Ray node."),
    encoder: str = typer.Option(..., help="Encoder spec, e.g. bm25 or splade:MODEL:threads=1."),
    out: Path = typer.Option(..., "--out", "-o", help="Vectors folder, writable by every Ray node (resumable)."),
    ray: Optional[str] = typer.Option(None, "--ray", help="Ray cluster address, e.g. auto (default: a local one)."),
    workers: int = typer.Option(2, help="Encoding actors (one model each)."),
    part_lines: int = typer.Option(10_000, help="Corpus lines per Parquet part (the unit of work and resumption)."),
) -> None:
    """Encode a corpus on a Ray cluster into Parquet parts; `winnow index --from-vectors` indexes them."""
    from winnow.scale.ray_encode import encode_corpus

    start = time.perf_counter()
    with _progress("encoding") as bar:
        task = bar.add_task("encode", total=None)
        manifest = encode_corpus(corpus, encoder, out, address=ray, workers=workers, part_lines=part_lines,
                                 progress=lambda n: bar.update(task, completed=n))
    n_docs = sum(p["n_docs"] for p in manifest["parts"].values())
    _console().print(f"encoded {n_docs:,} documents into {manifest['n_parts']} parts in "
                  f"{time.perf_counter() - start:.1f} s -> {out}")


@app.command()
def search(
    index_dir: Path = typer.Argument(..., help="Index folder."),
    query: str = typer.Argument(..., help="Query text."),
    k: int = typer.Option(10, "-k", help="Number of results."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    terms: int = typer.Option(3, help="Top contributing terms shown per hit."),
    strategy: str = typer.Option("auto", help="auto, exhaustive, maxscore (exact) or approx."),
    query_cut: int = typer.Option(0, help="approx: query terms that find candidates (0 = all)."),
    prune_factor: float = typer.Option(1.0, help="approx: skip documents whose bound x factor cannot enter."),
    filter_: Optional[str] = typer.Option(None, "--filter", help="Metadata filter, e.g. 'year >= 2020 and venue in "
                                          "[\"ACL\", \"EMNLP\"]', or its JSON form (see docs/filters.md)."),
    explain: bool = typer.Option(False, "--explain", help="Show each hit's full breakdown: every matched term's "
                                 "query weight x impact, expansion terms marked."),
) -> None:
    """Search an index."""
    from winnow.api import folder_format, load_index
    from winnow.jit import interpreted
    from winnow.retrieve.searcher import Approx

    with interpreted() if _tiny(index_dir) else contextlib.nullcontext():
        if folder_format(index_dir) == "winnow-sparse-index":
            searcher = load_index(index_dir, verify=False)
            searcher.approx = Approx(query_cut, prune_factor)
            rows, elapsed = _answer(searcher, query, k, strategy, terms, filter_)
        else:
            rows, elapsed = _answer_any(index_dir, query, k, terms, filter_)
    if as_json:
        hits = rows if explain else [{key: v for key, v in r.items() if key != "explanation"} for r in rows]
        typer.echo(json.dumps({"query": query, "hits": hits, "ms": round(elapsed, 2)}, ensure_ascii=False))
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} hits in {elapsed:.1f} ms")
    for col in ("rank", "id", "score", "title", "top terms"):
        table.add_column(col)
    for r in rows:
        top = ", ".join(f"{t} {c:.2f}" for t, c in r["terms"].items())
        table.add_row(str(r["rank"]), r["id"], f"{r['score']:.4f}", r["title"][:60], top)
    _show(table)
    if explain:
        for r in rows:
            typer.echo(_breakdown(r["explanation"]))


def _breakdown(explanation: dict | None) -> str:
    """One hit's score as the sum of its terms (query weight x impact), expansion terms marked ``+``,
    or of its inputs' shares for a fusion."""
    if explanation is None:
        return "(this retriever cannot explain its scores)"
    parts = [f"{t['term']}{'+' * bool(t['expansion'])} {t['query_weight']:.3g}x{t['impact']:.3g}"
             for t in explanation["terms"]]
    parts += [f"{p['retriever']} (rank {p['rank']}) {p['contribution']:.4g}" for p in explanation["parts"]]
    return f"{explanation['doc_id']}: {explanation['score']:.4f} = " + (" + ".join(parts) or "0")


INTERPRET_BELOW = 256 << 10  # bytes of .npy arrays (about 20,000 postings): interpreted kernels answer sooner


def _tiny(index_dir: Path) -> bool:
    """Whether a one-shot search of this folder should run the kernels as plain Python.

    Compiled, the first search pays for importing numba (about a second) and for compiling the
    kernels it runs (10 s or more after installation) or loading them from numba's cache; a few
    thousand postings take milliseconds interpreted, and the same source gives the same answers.
    """
    return sum(p.stat().st_size for p in Path(index_dir).rglob("*.npy")) < INTERPRET_BELOW


def _answer(searcher, query: str, k: int, strategy: str, top_terms: int,
            filter: str | None = None) -> tuple[list[dict], float]:
    """Hits as table rows and the milliseconds spent encoding the query and searching.

    The query is encoded once: the search and every hit's explanation share the vector (for a
    SPLADE index each encoding is a model pass). Opening the index is not timed.
    """
    from winnow.retrieve.explain import explain_vector
    from winnow.types import check_query

    start = time.perf_counter()
    vector = searcher.encode(check_query(query))
    hits = searcher.search_vector(*vector, k, strategy=strategy, filter=filter)
    elapsed = (time.perf_counter() - start) * 1000
    rows = []
    for rank, (doc_id, score, explanation) in enumerate(zip(hits.ids, hits.scores.tolist(),
                                                            explain_vector(searcher, *vector, hits.docnos)), 1):
        doc = searcher.index.document(int(hits.docnos[rank - 1]))
        rows.append({"rank": rank, "id": doc_id, "score": round(score, 4), "title": doc.get("title", ""),
                     "terms": dict(explanation.top(top_terms)), "explanation": explanation.to_dict()})
    return rows, elapsed


def _print_result(result, dataset: Path, split: str, as_json: bool) -> None:
    """One system's metrics, latency and sparsity: a JSON object or a two-column table."""
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    from rich.table import Table

    table = Table(title=f"{result.run.name} on {dataset.name} ({split}, {result.n_queries} queries)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in result.metrics.items():
        table.add_row(name, f"{value:.4f}")
    table.add_row("mrt_ms", f"{result.mrt_ms:.3f}")
    table.add_row("qps_batch", f"{result.qps_batch:,.0f}")
    if result.sparsity is not None:
        table.add_row("terms/doc", f"{result.sparsity.avg_doc_terms:.1f}")
        table.add_row("terms/query", f"{result.sparsity.avg_query_terms:.1f}")
        table.add_row("FLOPS", f"{result.sparsity.flops:.3f}")
    _show(table)


def _answer_any(folder: Path, query: str, k: int, top_terms: int, filter: str | None) -> tuple[list[dict], float]:
    """:func:`_answer` for any other winnow folder (a pipeline, a dense index): the hits, and per
    hit each input's share of a fused score or the terms of a sparse one, where it can say."""
    import winnow
    from winnow.pipeline.explain import explain_many

    retriever = winnow.open(folder, verify=False)
    start = time.perf_counter()
    hits = retriever.search(query, k, filter=filter)
    elapsed = (time.perf_counter() - start) * 1000
    try:
        explanations = explain_many(retriever, query, list(hits.ids))
    except WinnowError:
        explanations = [None] * len(hits)
    docs = retriever.documents(list(hits.ids)) if len(hits) else []
    rows = []
    for rank, (doc_id, score, doc, e) in enumerate(zip(hits.ids, hits.scores.tolist(), docs, explanations), 1):
        shares = {p.retriever: p.contribution for p in e.parts} if e and e.parts else dict(e.top(top_terms) if e else [])
        rows.append({"rank": rank, "id": doc_id, "score": round(score, 4), "title": doc.title if doc else "",
                     "terms": shares, "explanation": e.to_dict() if e else None})
    return rows, elapsed


@app.command(name="eval")
def eval_(
    dataset: Path = typer.Argument(..., help="BEIR dataset folder."),
    retriever: list[str] = typer.Option(["bm25"], help="Encoder spec, winnow folder or pipeline text, e.g. "
                                        "'bm25', 'zscore(bm25 + dense:MODEL)'; repeat to compare several "
                                        "(significance is tested against the first)."),
    split: str = typer.Option("test", help="Qrels split."),
    metrics: str = typer.Option("ndcg@10,recall@100,recall@1000,mrr@10,map", help="Comma-separated metrics."),
    k: int = typer.Option(1000, "-k", help="Results per query."),
    tune_split: Optional[str] = typer.Option(None, help="Tune fusion parameters on this split first (e.g. train)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    run_out: Optional[Path] = typer.Option(None, help="Write the run in TREC format (with several retrievers: "
                                           "a folder, one file each)."),
    plot: Optional[Path] = typer.Option(None, help="Save a PNG of the first metric against latency."),
    index_dir: Optional[Path] = typer.Option(None, help="Keep (and reuse) indexes here, one per corpus and spec."),
) -> None:
    """Evaluate one or more retrievers or pipelines on a BEIR dataset, in one table."""
    from winnow.corpus import load_beir
    from winnow.evaluate import run_experiment
    from winnow.evaluate.compare import compare

    names = [m.strip() for m in metrics.split(",") if m.strip()]
    with _progress("indexing") as bar:
        task = bar.add_task("index", total=None)
        results = run_experiment(dataset, retriever, split, names, k, index_dir,
                                 lambda n: bar.update(task, completed=n), tune_split)
    if run_out:
        if len(results) == 1:
            results[0].run.write_trec(run_out)
        else:
            run_out.mkdir(parents=True, exist_ok=True)
            for i, r in enumerate(results):
                r.run.renamed(f"run{i}").write_trec(run_out / f"run{i}.trec")
    if len(results) == 1 and not plot:
        _print_result(results[0], dataset, split, as_json)
        return
    extras = {}
    for r in results:
        extras[r.run.name] = {"mrt_ms": r.mrt_ms, "qps_batch": r.qps_batch}
        if r.sparsity is not None:
            extras[r.run.name].update({"terms/doc": r.sparsity.avg_doc_terms, "terms/query": r.sparsity.avg_query_terms})
    qrels = load_beir(dataset, split).qrels
    comparison = compare([r.run for r in results], qrels, names, extras=extras)
    if plot:
        from winnow.evaluate.plot import plot_quality_latency

        plot_quality_latency(comparison, names[0], plot)
    if as_json:
        typer.echo(json.dumps({**json.loads(comparison.to_json()), "tuned": [r.tuned for r in results]}))
        return
    table = comparison.to_table()
    table.title = f"{dataset.name} ({split}, {results[0].n_queries} queries)"
    _show(table)
    for r in results:
        for fusion, params in r.tuned.items():
            _console().print(f"tuned on {tune_split}: {fusion} -> {params}")


@app.command()
def tune(
    pipeline_dir: Path = typer.Argument(..., help="A pipeline folder (winnow index CORPUS --encoder A --encoder B)."),
    dataset: Path = typer.Argument(..., help="BEIR dataset folder with the judgements to tune on."),
    split: str = typer.Option("train", help="Qrels split to tune on (not the one you report)."),
    metric: str = typer.Option("ndcg@10", help="Metric to maximise."),
) -> None:
    """Tune a pipeline's fusion weights (and RRF k) on judgements; they are saved with the pipeline."""
    from winnow.pipeline.saved import tune_saved

    tuned = tune_saved(pipeline_dir, dataset, split, metric)
    for fusion, params in tuned.items():
        _console().print(f"{fusion}: {params}")


@app.command()
def prune(
    index_dir: Path = typer.Argument(..., help="Index folder."),
    max_postings: int = typer.Option(..., help="Postings kept per term (its highest impacts)."),
) -> None:
    """Add statically pruned postings to an index, for --strategy approx (as one new commit)."""
    from winnow.index.pruned import add_pruned_postings

    stats = add_pruned_postings(index_dir, max_postings)
    _console().print(f"kept {stats['n_postings']:,} postings (at most {max_postings:,} per term) in {index_dir}")


@app.command()
def add(
    index_dir: Path = typer.Argument(..., help="Index folder."),
    corpus: Path = typer.Argument(..., help="BEIR folder or a JSONL/CSV/TSV/Parquet file (.gz too)."),
    update: bool = typer.Option(False, "--update", help="Replace documents whose ids are already indexed."),
    batch_size: int = typer.Option(1000, help="Documents per encoding batch."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip malformed records and report them."),
    id_field: str = typer.Option("_id", help="Id field of tabular files."),
    text_field: str = typer.Option("text", help="Text field of tabular files."),
    title_field: str = typer.Option("title", help="Title field of tabular files ('' for none)."),
) -> None:
    """Add (or with --update replace) documents in an index, as one new commit."""
    from winnow.corpus import open_corpus
    from winnow.index.writer import open_writer

    skipped: list = []
    start = time.perf_counter()
    with open_writer(index_dir, batch_size=batch_size) as writer, _progress("adding") as bar:
        docs = open_corpus(corpus, skip_bad=skip_bad, skipped=skipped, id_field=id_field, text_field=text_field,
                           title_field=title_field or None, field_types=writer.fields)  # the index's declared types
        task = bar.add_task("add", total=None)
        report = lambda n: bar.update(task, completed=n)  # noqa: E731
        n = writer.update(docs, report) if update else writer.add(docs, report)
        generation = writer.commit()
    for path, line, reason in skipped:
        _console().print(f"[yellow]skipped[/] {path}:{line}: {reason}")
    _console().print(f"{'updated' if update else 'added'} {n:,} documents in {time.perf_counter() - start:.1f} s "
                  f"-> {index_dir} (commit {generation})" + (f"; skipped {len(skipped)} bad records" if skipped else ""))


@app.command()
def delete(
    index_dir: Path = typer.Argument(..., help="Index folder."),
    ids: Path = typer.Option(..., "--ids", help="File of document ids to delete, one per line."),
) -> None:
    """Delete documents by id, as one new commit."""
    from winnow.index.writer import open_writer

    wanted = [line.strip() for line in ids.read_text(encoding="utf-8").splitlines() if line.strip()]
    with open_writer(index_dir) as writer:
        found = writer.delete(wanted)
        generation = writer.commit()
    missing = len(set(wanted)) - found
    _console().print(f"deleted {found:,} documents -> {index_dir} (commit {generation})"
                  + (f"; {missing:,} ids were not in the index" if missing else ""))


@app.command()
def merge(
    index_dir: Path = typer.Argument(..., help="Index folder."),
    segments: int = typer.Option(1, help="Merge until at most this many segments remain."),
) -> None:
    """Merge an index's segments (dropping deleted documents), as one new commit."""
    from winnow.index.writer import open_writer

    start = time.perf_counter()
    with open_writer(index_dir) as writer:
        writer.merge(segments)
        generation = writer.commit()
        n = len(writer.segments)
    _console().print(f"{n} segment{'s' if n != 1 else ''} in {time.perf_counter() - start:.1f} s -> {index_dir} "
                  f"(commit {generation})")


@app.command()
def verify(index_dir: Path = typer.Argument(..., help="Index folder.")) -> None:
    """Check every file of an index's newest commit: checksums and structure (exit 2 if damaged)."""
    from winnow.index.reader import SparseIndex

    ix = SparseIndex(index_dir, verify=True)
    size = sum(f["bytes"] for f in ix.manifest["files"].values())
    _console().print(f"ok: commit {ix.generation}, {ix.n_docs:,} documents in {len(ix.segments)} segments, "
                  f"{len(ix.manifest['files'])} files ({size / 2**20:.1f} MiB) verified")


@app.command()
def train(
    corpus: Path = typer.Argument(..., help="BEIR folder: its corpus (and, unless --label-free, qrels/<split>.tsv)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the trained model (winnow, OpenSearch and "
                             "sentence-transformers layouts)."),
    student: str = typer.Option(..., help="MLM to start from, or a BERT encoder that gets an MLM head."),
    teacher: list[str] = typer.Option(["bm25"], help="Teacher: pipeline text (bm25, zscore(bm25 + dense:MODEL), "
                                      "a winnow folder) or rerank:MODEL. Repeat for an ensemble."),
    teacher_weight: Optional[list[float]] = typer.Option(None, help="Weight of each teacher, in order (default 1)."),
    norm: str = typer.Option("minmax", help="Per-query normalisation of teacher scores: minmax, zscore, tm2c2, max."),
    split: str = typer.Option("train", help="Qrels split to train on (ignored with --label-free)."),
    label_free: bool = typer.Option(False, "--label-free", help="Train on pseudo-queries from the corpus, no qrels."),
    pseudo_queries: int = typer.Option(4000, help="Pseudo-queries to make (label-free)."),
    doc2query: Optional[str] = typer.Option(None, help="Seq2seq model adding doc2query pseudo-queries."),
    dev_split: Optional[str] = typer.Option(None, help="Qrels split to evaluate on while training "
                                            "(default: held-out training queries)."),
    dev_queries: int = typer.Option(50, help="Dev queries evaluated."),
    depth: int = typer.Option(30, help="Candidates taken from each teacher per query."),
    candidates: int = typer.Option(8, help="Documents per query per step: one positive, the rest mined negatives."),
    false_negative_margin: float = typer.Option(0.05, help="Drop mined negatives scored within this of the positive."),
    steps: int = typer.Option(1000, help="Optimiser steps."),
    queries_per_step: int = typer.Option(8, help="Queries per step."),
    accumulation: int = typer.Option(1, help="Micro-batches per step (gradient accumulation)."),
    learning_rate: float = typer.Option(5e-5, help="AdamW peak learning rate."),
    flops_weight: float = typer.Option(0.03, help="Final weight of the IDF-aware FLOPS penalty (higher: faster, sparser)."),
    temperature: float = typer.Option(0.1, help="Divides the ensemble's scores."),
    doc_max_length: int = typer.Option(256, help="Tokens per document."),
    bf16: bool = typer.Option(False, help="bfloat16 autocast (pays on GPUs and recent CPUs)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    eval_every: int = typer.Option(100, help="Steps between dev evaluations (0: none)."),
    patience: int = typer.Option(0, help="Evaluations without improvement before stopping (0: never)."),
    checkpoint_every: int = typer.Option(100, help="Steps between checkpoints in OUT.work (0: none)."),
    time_limit: float = typer.Option(0, help="Minutes of optimisation after which training stops (0: none)."),
    keep: str = typer.Option("auto", help="Weights to save: best (dev score), last, or auto (best with judged "
                             "dev queries, last with pseudo-queries)."),
    resume: bool = typer.Option(False, help="Continue from OUT.work."),
    index_dir: Optional[Path] = typer.Option(None, help="Keep the teachers' indexes here and reuse them."),
    seed: int = typer.Option(0, help="Pseudo-queries, sampling and initialisation seed."),
) -> None:
    """Distil an inference-free document encoder from an ensemble of retrievers, pipelines and cross-encoders."""
    from winnow.train.distill import DistillConfig, train_inference_free

    config = DistillConfig(
        student=student, teachers=tuple(teacher), teacher_weights=tuple(teacher_weight) if teacher_weight else None,
        norm=norm, pseudo_queries=pseudo_queries, doc2query=doc2query, depth=depth, candidates=candidates,
        false_negative_margin=false_negative_margin, dev_queries=dev_queries, steps=steps,
        queries_per_step=queries_per_step, accumulation=accumulation, learning_rate=learning_rate,
        flops_weight=flops_weight, temperature=temperature, doc_max_length=doc_max_length, bf16=bf16, device=device,
        seed=seed, eval_every=eval_every, patience=patience, checkpoint_every=checkpoint_every,
        time_limit=time_limit * 60, keep=keep)
    from rich.progress import TextColumn

    with _progress("training", TextColumn("{task.fields[info]}")) as bar:
        task = bar.add_task("train", total=steps, info="")

        def show(step: int, last: dict) -> None:
            info = f"loss {last['loss']:.4f} lr {last['lr']:.1e}" if "loss" in last else ""
            bar.update(task, completed=step, info=info + (f" dev {last['dev']:.3f}" if "dev" in last else ""))

        report = train_inference_free(corpus, out, config, split=None if label_free else split, dev_split=dev_split,
                                      index_dir=index_dir, resume=resume, progress=show)
    for name, value in report["teachers"].items():
        _console().print(f"teacher {name}: dev ndcg@10 {value:.4f}")
    last = report["history"][-1]
    best = f", best dev ndcg@10 {report['best_dev']:.4f} at step {report['best_step']}" if report["evaluations"] else ""
    _console().print(f"trained on {report['examples']:,} queries in {report['seconds']:.0f} s: distillation loss "
                  f"{last['distill']:.4f}, {last['doc_terms']:.0f} terms per document{best} -> {out}")


@app.command(name="train-cross-encoder")
def train_cross_encoder(
    corpus: Path = typer.Argument(..., help="BEIR folder whose qrels/<split>.tsv holds the training judgements."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the trained model (CrossEncoder layout)."),
    base: str = typer.Option(..., help="Encoder to start from (folder or Hugging Face id); it gets a new head."),
    split: str = typer.Option("train", help="Qrels split to train on (ignored with --label-free)."),
    label_free: bool = typer.Option(False, "--label-free", help="Train on pseudo-queries from the corpus, no qrels."),
    pseudo_queries: int = typer.Option(4000, help="Pseudo-queries to make (label-free)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    bf16: bool = typer.Option(False, "--bf16/--no-bf16", help="bfloat16 autocast (pays on GPUs and recent CPUs)."),
    time_limit: float = typer.Option(0, help="Minutes of optimisation after which training stops (0: none)."),
    steps: int = typer.Option(300, help="Optimiser steps."),
    queries_per_step: int = typer.Option(8, help="Queries per optimiser step."),
    accumulation: int = typer.Option(1, help="Micro-batches per step (gradient accumulation)."),
    candidates: int = typer.Option(8, help="Documents per query: one judged positive, the rest BM25 negatives."),
    loss: str = typer.Option("listwise", help="listwise (softmax over a query's candidates) or pointwise (BCE)."),
    learning_rate: float = typer.Option(3e-5, help="AdamW peak learning rate."),
    max_length: int = typer.Option(256, help="Tokens per (query, document) pair."),
    seed: int = typer.Option(0, help="Sampling and initialisation seed."),
) -> None:
    """Fine-tune a cross-encoder reranker on a split's judgements (or pseudo-queries) with BM25-mined negatives."""
    from winnow.train.cross_encoder import CrossEncoderConfig
    from winnow.train.cross_encoder import train_cross_encoder as train_model

    config = CrossEncoderConfig(base=base, steps=steps, queries_per_step=queries_per_step, accumulation=accumulation,
                                candidates=candidates, loss=loss, learning_rate=learning_rate, max_length=max_length,
                                seed=seed, pseudo_queries=pseudo_queries, device=device, bf16=bf16,
                                time_limit=time_limit * 60)
    from rich.progress import TextColumn

    with _progress("training", TextColumn("{task.fields[info]}")) as bar:
        task = bar.add_task("train", total=steps, info="")
        report = train_model(corpus, out, config, split=None if label_free else split, progress=lambda step, last: bar.update(
            task, completed=step, info=f"loss {last['loss']:.4f}" if last else ""))
    _console().print(f"trained on {report['queries']:,} queries in {report['seconds']:.0f} s: loss "
                  f"{report['history'][-1]['loss']:.4f} -> {out}")


@app.command()
def info(index_dir: Path = typer.Argument(..., help="Index folder.")) -> None:
    """Show an index's newest commit (after verifying its checksums and structure)."""
    from winnow.index.reader import SparseIndex

    manifest = dict(SparseIndex(index_dir, verify=True).manifest)
    manifest.pop("files")
    typer.echo(json.dumps(manifest, indent=1))


@app.command()
def serve(
    paths: Optional[list[Path]] = typer.Argument(None, help="Index or pipeline folders, each served by its folder name."),
    name: list[str] = typer.Option([], "--name", help="NAME=PATH: serve the folder PATH as NAME (repeatable)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8080, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes (they share the memory-mapped indexes)."),
    token: Optional[str] = typer.Option(None, envvar="WINNOW_TOKEN",
                                        help="Accept document updates from requests bearing this token."),
    max_k: int = typer.Option(1000, help="Most hits one query may ask for."),
    max_batch: int = typer.Option(256, help="Most queries in one batch request."),
    max_query_chars: int = typer.Option(1000, help="Longest query, in characters."),
    max_body_bytes: int = typer.Option(4 * 2**20, help="Largest request body, in bytes."),
    batch_queries: int = typer.Option(64, help="Most concurrent /search queries answered by one batch call "
                                               "(1: each alone)."),
    batch_wait_ms: float = typer.Option(0.0, help="How long a small batch waits for more queries (0: not at all)."),
) -> None:
    """Serve indexes and pipelines over HTTP: the API, and a search page at /."""
    from winnow.serve.app import serve as run
    from winnow.serve.batching import Batching
    from winnow.serve.limits import Limits

    served: dict[str, Path] = {}
    for path in paths or []:
        if path.resolve().name in served:
            raise WinnowError(f"two folders named {path.resolve().name!r}; tell them apart with --name NAME=PATH")
        served[path.resolve().name] = path
    for item in name:
        key, eq, path = item.partition("=")
        if not eq or not key or not path:
            raise WinnowError(f"--name takes NAME=PATH, not {item!r}")
        served[key] = Path(path)
    if not served:
        raise WinnowError("nothing to serve: give index or pipeline folders, or --name NAME=PATH")
    limits = Limits(max_k=max_k, max_batch=max_batch, max_query_chars=max_query_chars, max_body_bytes=max_body_bytes)
    _console().print(f"serving {', '.join(served)} on http://{host}:{port} ({workers} worker{'s' * (workers > 1)}"
                  f"{', updates with a token' if token else ', read-only'})")
    run(served, host, port, workers, token, limits, Batching(batch_queries, batch_wait_ms))


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except WinnowError as exc:
        _console().print(f"[red]error:[/] {exc}")
        raise SystemExit(2) from None
