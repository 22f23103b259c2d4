"""The dense index folder: built through index_corpus, opened by winnow.open, searched exactly
and by HNSW, filtered by metadata, and refused when damaged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import winnow.api
from tests.tiny_models import load_docs, load_queries
from winnow.dense.encoder import DenseEncoder
from winnow.dense.index import DenseIndex, write_dense_index
from winnow.dense.retriever import DenseRetriever
from winnow.errors import IndexFormatError, InputError, WinnowError
from winnow.types import Document

pytest.importorskip("torch")

DOCS = load_docs()
QUERIES = load_queries()


@pytest.fixture(scope="module")
def index(tiny_st, tmp_path_factory):
    """The tiny corpus indexed with the tiny sentence-transformers model, both HNSW graphs. Read-only."""
    out = tmp_path_factory.mktemp("dense") / "index"
    docs = [Document(d.id, d.text, d.title, {"year": 2000 + i, "even": i % 2 == 0}) for i, d in enumerate(DOCS)]
    write_dense_index(docs, DenseEncoder(str(tiny_st)), out, ann=["usearch", "faiss"], spec=f"dense:{tiny_st}")
    return out


def brute_force(index_dir, queries, k):
    encoder = DenseEncoder(str(json.loads((index_dir / "manifest.json").read_text())["encoder"]["config"]["model"]))
    docs = encoder.encode_documents(DOCS)
    scores = encoder.encode_queries(queries) @ docs.T
    return [[DOCS[d].id for d in sorted(range(len(DOCS)), key=lambda d: (-row[d], d))[:k]] for row in scores]


def test_index_corpus_builds_a_dense_folder_that_winnow_opens(tiny_st, tiny_beir, tmp_path):
    info = winnow.api.index_corpus(tiny_beir, tmp_path / "d", f"dense:{tiny_st}:batch_size=4")
    assert info.n_docs == len(DOCS)
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["format"] == "winnow-dense-index" and manifest["format_version"] == 1
    assert manifest["metric"] == "cosine"
    retriever = winnow.api.open(tmp_path / "d")
    assert isinstance(retriever, DenseRetriever) and retriever.score_floor == -1.0
    run = retriever.search_batch(QUERIES, k=5)
    assert [list(run[str(i)].ids) for i in range(len(QUERIES))] == brute_force(tmp_path / "d", QUERIES, 5)


def test_exact_retrieval_equals_brute_force_and_returns_documents(index):
    retriever = DenseRetriever(index)
    hits = retriever.search(QUERIES[0], k=len(DOCS) + 5)
    assert list(hits.ids) == brute_force(index, QUERIES[:1], len(DOCS))[0]
    assert np.all(np.diff(hits.scores) <= 0)
    doc = retriever.documents([DOCS[3].id, "missing"])
    assert doc[0].text == DOCS[3].text and doc[0].metadata["year"] == 2003 and doc[1] is None


@pytest.mark.parametrize("library", ["usearch", "faiss"])
def test_hnsw_finds_the_exact_top_k_on_a_tiny_corpus(index, library):
    exact = DenseRetriever(index).search_batch(QUERIES, k=5)
    approx = DenseRetriever(index, strategy="hnsw", library=library).search_batch(QUERIES, k=5)
    for qid in exact:
        assert set(approx[qid].ids) == set(exact[qid].ids)
        np.testing.assert_allclose(np.sort(approx[qid].scores), np.sort(exact[qid].scores), atol=1e-5)


@pytest.mark.parametrize("strategy,library", [("exact", None), ("hnsw", "usearch"), ("hnsw", "faiss")])
def test_filters_keep_only_matching_documents(index, strategy, library):
    retriever = DenseRetriever(index, strategy=strategy, library=library)
    everything = DenseRetriever(index).search(QUERIES[1], k=len(DOCS))
    for spec, keep in (("year >= 2015", lambda i: i >= 15), ("even == true", lambda i: i % 2 == 0)):
        allowed = {DOCS[i].id for i in range(len(DOCS)) if keep(i)}
        hits = retriever.search(QUERIES[1], k=3, filter=spec)
        assert list(hits.ids) == [d for d in everything.ids if d in allowed][:3]


def test_missing_graph_and_bad_strategy_are_refused(tiny_st, tmp_path):
    write_dense_index(DOCS[:4], DenseEncoder(str(tiny_st)), tmp_path / "plain")
    with pytest.raises(WinnowError, match="no HNSW graph"):
        DenseRetriever(tmp_path / "plain", strategy="hnsw")
    with pytest.raises(WinnowError, match="unknown strategy"):
        DenseRetriever(tmp_path / "plain", strategy="ivf")


def damage_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage,match", [
    (lambda d: damage_byte(d / "vectors.npy"), "checksum"),
    (lambda d: damage_byte(d / "hnsw-usearch.bin"), "checksum"),
    (lambda d: (d / "doc_ids.bin").write_bytes(b"x"), "size"),
    (lambda d: (d / "vectors.npy").unlink(), "missing"),
    (lambda d: (d / "manifest.json").write_text("{"), "damaged manifest"),
    (lambda d: (d / "manifest.json").write_text(
        (d / "manifest.json").read_text().replace('"format_version": 1', '"format_version": 9')), "version"),
])
def test_damaged_folders_are_refused(index, tmp_path, damage, match):
    copy = shutil.copytree(index, tmp_path / "copy")
    damage(copy)
    with pytest.raises(IndexFormatError, match=match):
        DenseIndex(copy)


def test_what_is_not_a_stream_of_documents_is_an_input_error(tiny_st, tmp_path):
    with pytest.raises(InputError, match="iterable of Document, got method"):
        write_dense_index(tmp_path.iterdir, DenseEncoder(str(tiny_st)), tmp_path / "idx")
    with pytest.raises(InputError, match="document 3 of the stream is a str"):
        write_dense_index(DOCS[:3] + ["text"], DenseEncoder(str(tiny_st)), tmp_path / "idx")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_failed_build_leaves_the_old_index(tiny_st, tmp_path):
    out = tmp_path / "idx"
    write_dense_index(DOCS[:3], DenseEncoder(str(tiny_st)), out)
    before = (out / "manifest.json").read_text()
    with pytest.raises(WinnowError, match="twice"):
        write_dense_index(DOCS[:3] + DOCS[:1], DenseEncoder(str(tiny_st)), out)
    assert (out / "manifest.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("mine")
    with pytest.raises(IndexFormatError, match="refusing"):
        write_dense_index(DOCS[:3], DenseEncoder(str(tiny_st)), tmp_path / "data")


KILLED_BUILD = """
import sys, time
from winnow.dense.encoder import DenseEncoder
from winnow.dense.index import write_dense_index
from winnow.types import Document

def docs():
    yield Document("a", "apple")
    time.sleep(600)  # killed here, its build folder written

write_dense_index(docs(), DenseEncoder(sys.argv[1]), sys.argv[2])
"""


def test_the_folder_a_killed_build_left_goes_at_the_next_build(tiny_st, tmp_path):
    out = tmp_path / "idx"
    child = subprocess.Popen([sys.executable, "-c", KILLED_BUILD, str(tiny_st), str(out)])
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".idx.building-*")):
            assert child.poll() is None and time.monotonic() < deadline, "the build did not start"
            time.sleep(0.1)
    finally:
        child.kill()
        child.wait()
    (left,) = tmp_path.glob(".idx.building-*")
    running = tmp_path / f".idx.building-{os.getpid()}-0badcafe"  # a build of a process that still runs
    running.mkdir()
    write_dense_index(DOCS[:3], DenseEncoder(str(tiny_st)), out)
    assert not left.exists() and running.exists()
    assert DenseIndex(out).n_docs == 3


def test_float16_index_scores_close_to_float32(tiny_st, tmp_path):
    write_dense_index(DOCS, DenseEncoder(str(tiny_st)), tmp_path / "h", dtype="float16", store=False)
    half = DenseRetriever(tmp_path / "h").search(QUERIES[2], k=3)
    assert DenseIndex(tmp_path / "h").vectors.dtype == np.float16
    full = brute_force(tmp_path / "h", QUERIES[2:3], 3)[0]
    assert list(half.ids)[:1] == full[:1]
    with pytest.raises(WinnowError, match="keeps no documents"):
        DenseRetriever(tmp_path / "h").documents(["d01"])


def test_winnow_eval_scores_a_dense_retriever_beside_bm25(tiny_st, tiny_beir, tmp_path):
    """A dense system has an index but no sparse query encoder: eval reports no sparsity for it."""
    from winnow.evaluate import run_experiment

    results = run_experiment(tiny_beir, ["bm25", f"dense:{tiny_st}"], metrics=["ndcg@10"], index_dir=tmp_path)
    assert [r.run.name for r in results] == ["bm25", f"dense:{tiny_st}"]
    assert results[0].sparsity is not None and results[1].sparsity is None
    assert 0 <= results[1].metrics["ndcg@10"] <= 1 and set(results[1].run.qids) == set(results[0].run.qids)
