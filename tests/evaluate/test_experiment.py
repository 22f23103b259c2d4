"""Experiments: indexes are reused only for the same corpus and spec; several systems in one call."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from winnow.evaluate import run_beir, run_experiment


def test_an_index_of_another_corpus_is_never_reused(tiny_beir, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(tiny_beir, other)
    lines = (other / "corpus.jsonl").read_text().splitlines()
    (other / "corpus.jsonl").write_text("\n".join(line.replace('"d', '"x') for line in lines) + "\n")
    (other / "qrels" / "test.tsv").write_text((other / "qrels" / "test.tsv").read_text().replace("\td", "\tx"))
    cache = tmp_path / "cache"
    a = run_beir(tiny_beir, "bm25", index_dir=cache, metrics=["ndcg@10"])
    b = run_beir(other, "bm25", index_dir=cache, metrics=["ndcg@10"])
    assert a.metrics["ndcg@10"] > 0.3
    assert b.metrics["ndcg@10"] == pytest.approx(a.metrics["ndcg@10"])  # same texts, renamed ids
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 2
    again = run_beir(tiny_beir, "bm25", index_dir=cache, metrics=["ndcg@10"])
    assert again.metrics == a.metrics and len([p for p in cache.iterdir() if p.is_dir()]) == 2


def test_an_index_of_a_changed_model_is_rebuilt(tiny_beir, tiny_mlm, tmp_path):
    """The same spec over the same corpus, but the model folder changed (or an encoder default
    did): the cached index is not reused."""
    import json

    import winnow
    from winnow.evaluate.cache import IndexCache

    model = tmp_path / "model"
    shutil.copytree(tiny_mlm, model)
    cache = IndexCache(tmp_path / "cache")
    corpus = tiny_beir / "corpus.jsonl"
    spec = f"inference-free:{model}:doc_max_length=32"
    first = cache.ensure(corpus, spec)
    digest = winnow.open(first).index.encoder_config["model_files"]["config.json"]
    assert cache.ensure(corpus, spec) == first
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "layer_norm_eps": 1e-6}))  # same spec, new model
    assert cache.ensure(corpus, spec) == first
    assert winnow.open(first).index.encoder_config["model_files"]["config.json"] != digest


def test_several_systems_share_queries_and_indexes(tiny_beir, tmp_path):
    results = run_experiment(tiny_beir, ["bm25", "bm25:k1=0.9,b=0.4", "zscore(bm25 + bm25:k1=0.9,b=0.4)"],
                             metrics=["ndcg@10"], index_dir=tmp_path, tune_split="test")
    assert [r.run.name for r in results] == ["bm25", "bm25:k1=0.9,b=0.4", "zscore(bm25 + bm25:k1=0.9,b=0.4)"]
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 2
    assert results[2].tuned and all(set(r.run.qids) == set(results[0].run.qids) for r in results)
    assert results[2].metrics["ndcg@10"] >= min(r.metrics["ndcg@10"] for r in results[:2]) - 1e-9


def _ensure_after(start: float, root: str, corpus: str) -> tuple[str, float]:
    import time

    from winnow.evaluate.cache import IndexCache

    time.sleep(max(0.0, start - time.time()))
    folder = IndexCache(Path(root)).ensure(corpus, "bm25")
    return str(folder), (folder / "manifest.json").stat().st_mtime


def test_processes_sharing_a_cache_wait_for_one_build_and_reuse_it(tiny_beir, tmp_path):
    """Parallel jobs with one --index-dir: the second waits for the first's build instead of failing."""
    import multiprocessing
    import time
    from concurrent.futures import ProcessPoolExecutor

    start = time.time() + 2.0
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        built = list(pool.map(_ensure_after, [start] * 4, [str(tmp_path)] * 4, [str(tiny_beir / "corpus.jsonl")] * 4))
    assert len(set(built)) == 1  # one folder, written once: every process saw the same manifest
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == [Path(built[0][0]).name]


def test_pipelines_tuned_over_the_same_retrievers_retrieve_each_once(tiny_beir, tmp_path):
    from winnow.corpus import load_beir
    from winnow.evaluate.cache import IndexCache
    from winnow.evaluate.experiment import Resolver
    from winnow.pipeline.grammar import parse
    from winnow.pipeline.tune import tune_pipeline
    from winnow.retrieve.retriever import Retriever

    class Counted(Retriever):
        def __init__(self, inner, calls):
            self.inner, self.calls, self.name, self.score_floor = inner, calls, inner.name, inner.score_floor

        def retrieve(self, queries, k, filter=None):
            self.calls.append(self.name)
            return self.inner.retrieve(queries, k, filter)

    data = load_beir(tiny_beir, "test")
    resolver = Resolver(data.corpus_path, IndexCache(tmp_path))
    calls: list[str] = []
    opened: dict = {}

    def resolve(atom):
        return opened.setdefault(atom, Counted(resolver(atom), calls))

    runs: dict = {}
    tuned = [tune_pipeline(parse(f"{method}(bm25 + bm25:k1=0.9,b=0.4)"), resolve, data.queries, data.qrels, runs=runs)
             for method in ("zscore", "rrf", "minmax")]
    assert sorted(calls) == sorted(runs) == ["bm25", "bm25:k1=0.9,b=0.4"]
    alone = tune_pipeline(parse("rrf(bm25 + bm25:k1=0.9,b=0.4)"), resolve, data.queries, data.qrels)
    resolver.close()
    assert alone == tuned[1] and len(calls) == 4
