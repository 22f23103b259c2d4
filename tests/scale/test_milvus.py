"""Milvus (milvus-lite, in-process): exact inner-product search equals winnow's, hybrid search fuses
server-side, metadata filters apply."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from winnow.errors import WinnowError  # noqa: E402
from winnow.retrieve.searcher import Searcher  # noqa: E402
from winnow.scale.milvus import MilvusRetriever, connect, export_collection  # noqa: E402

DIM = 8


def dense_queries(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in for a dense query encoder: a vector seeded by the text."""
    return np.stack([np.random.default_rng(zlib.crc32(t.encode())).normal(size=DIM) for t in texts]).astype(np.float32)


@pytest.fixture(scope="module")
def indexes(tiny_beir, tiny_mlm, tmp_path_factory):
    from winnow.api import index_corpus

    root = tmp_path_factory.mktemp("milvus-indexes")
    index_corpus(tiny_beir, root / "bm25", "bm25")
    index_corpus(tiny_beir, root / "learned", f"inference-free:{tiny_mlm}")  # queries: tokenizer x IDF, no model
    return {"bm25": root / "bm25", "learned": root / "learned"}


@pytest.fixture(scope="module")
def client(indexes, tmp_path_factory):
    client = connect(str(tmp_path_factory.mktemp("milvus") / "winnow.db"))
    doc_vectors = np.random.default_rng(0).normal(size=(20, DIM)).astype(np.float32)
    assert export_collection(client, "tiny", indexes, dense={"dense": doc_vectors}) == 20
    client.doc_vectors = doc_vectors
    yield client
    client.close()


def assert_same_ranking(got, expected, rtol=1e-5):
    """Equal scores (within float rounding) and equal ids wherever the expected score is not tied."""
    assert len(got) == len(expected)
    np.testing.assert_allclose(got.scores, expected.scores, rtol=rtol, atol=1e-6)
    s = np.asarray(expected.scores, dtype=np.float64)
    for i in range(len(s)):
        near = np.abs(s - s[i]) <= rtol * abs(s[i]) + 1e-6
        if near.sum() == 1:
            assert got.ids[i] == expected.ids[i]
        else:
            assert {got.ids[j] for j in np.flatnonzero(near)} <= set(got.ids) | set(expected.ids)


@pytest.mark.parametrize("field", ["bm25", "learned"])
def test_exact_inner_product_top10_equals_winnow(client, indexes, queries, field):
    milvus = MilvusRetriever(client, "tiny", sparse={field: indexes[field]})
    got, expected = milvus.search_batch(queries, 10), Searcher(indexes[field]).search_batch(queries, 10)
    for qid in expected:
        assert_same_ranking(got[qid], expected[qid])


def test_dense_field_top10_equals_brute_force(client, indexes, queries):
    got = MilvusRetriever(client, "tiny", dense={"dense": dense_queries}).search_batch(queries, 10)
    scores = dense_queries(queries) @ client.doc_vectors.T
    ids = Searcher(indexes["bm25"]).index.doc_ids(np.arange(20))
    for i, qid in enumerate(got):
        order = np.argsort(-scores[i], kind="stable")[:10]
        assert list(got[qid].ids) == [ids[j] for j in order]
        np.testing.assert_allclose(got[qid].scores, scores[i][order], rtol=1e-5)


def test_hybrid_rrf_is_reciprocal_rank_fusion_of_the_fields(client, indexes, queries):
    depth = 20
    milvus = MilvusRetriever(client, "tiny", sparse=indexes, ranker="rrf", rrf_k=60, depth=depth)
    runs = [Searcher(path).search_batch(queries, depth) for path in indexes.values()]
    got = milvus.search_batch(queries, 5)
    for qid in got:
        fused: dict[str, float] = {}
        for run in runs:
            for rank, doc_id in enumerate(run[qid].ids, 1):
                fused[doc_id] = fused.get(doc_id, 0.0) + 1 / (60 + rank)
        np.testing.assert_allclose(got[qid].scores, [fused[d] for d in got[qid].ids], rtol=1e-5)
        np.testing.assert_allclose(got[qid].scores, sorted(fused.values(), reverse=True)[:len(got[qid])], rtol=1e-5)


def test_weighted_ranker_with_one_field_weighted_keeps_its_order(client, indexes, queries):
    milvus = MilvusRetriever(client, "tiny", sparse=indexes, ranker="weighted", weights=[1.0, 0.0])
    got, expected = milvus.search_batch(queries, 5), Searcher(indexes["bm25"]).search_batch(queries, 5)
    for qid in expected:
        assert got[qid].ids[:len(expected[qid])] == expected[qid].ids[:len(got[qid])] or \
            np.unique(expected[qid].scores).size < len(expected[qid])


def test_metadata_filter(client, indexes):
    milvus = MilvusRetriever(client, "tiny", sparse={"bm25": indexes["bm25"]})
    searcher = Searcher(indexes["bm25"])
    topical = {searcher.index.doc_id(i) for i in range(20)
               if searcher.index.document(i)["metadata"].get("topic") == "index"}
    assert topical
    hits = milvus.search("inverted index posting lists", 10, filter='metadata["topic"] == "index"')
    assert hits.ids and set(hits.ids) <= topical
    with pytest.raises(WinnowError, match="Milvus boolean expressions"):
        milvus.search("index", 10, filter=object())


def test_query_without_known_terms_finds_nothing(client, indexes):
    assert len(MilvusRetriever(client, "tiny", sparse={"bm25": indexes["bm25"]}).search("zzzz qqqq", 10)) == 0


def test_export_refuses_an_existing_collection_and_other_documents(client, indexes, write_vector_index, tmp_path):
    with pytest.raises(WinnowError, match="exists"):
        export_collection(client, "tiny", indexes)
    other = write_vector_index([{0: 1.0}, {1: 2.0}], 2, tmp_path / "other")
    with pytest.raises(WinnowError, match="other documents"):
        export_collection(client, "other", {"bm25": indexes["bm25"], "x": other})
