"""OpenSearch requests, checked against the documented formats (no OpenSearch server runs here):
the index mapping, bulk NDJSON with rank_features, neural_sparse queries with raw query_tokens."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from winnow.errors import WinnowError
from winnow.retrieve.searcher import Searcher
from winnow.scale.opensearch import NeuralSparseQueries, document_sources, index_body, neural_sparse_query, write_bulk


@pytest.fixture(scope="module")
def learned(tiny_beir, tiny_mlm, tmp_path_factory):
    from winnow.api import index_corpus

    out = tmp_path_factory.mktemp("opensearch") / "learned"
    index_corpus(tiny_beir, out, f"inference-free:{tiny_mlm}")
    return out


def test_mapping_has_rank_features_and_knn_vector():
    assert index_body(["splade"], {"dense": 384}) == {
        "settings": {"index": {"knn": True}},
        "mappings": {"properties": {
            "id": {"type": "keyword"}, "title": {"type": "text"}, "text": {"type": "text"},
            "splade": {"type": "rank_features"},
            "dense": {"type": "knn_vector", "dimension": 384,
                      "method": {"name": "hnsw", "space_type": "innerproduct", "engine": "faiss"}}}}}
    assert "settings" not in index_body(["splade"])


def test_bulk_is_action_then_source_with_positive_rank_features(learned):
    out = io.StringIO()
    dense = np.arange(40, dtype=np.float32).reshape(20, 2)
    assert write_bulk(out, "tiny", document_sources({"splade": learned}, {"dense": dense})) == 20
    lines = out.getvalue().splitlines()
    assert len(lines) == 40 and out.getvalue().endswith("\n")  # _bulk needs the final newline
    vocab = set(Searcher(learned).index.vocabulary)
    for i, (action, source) in enumerate(zip(lines[::2], lines[1::2])):
        action, source = json.loads(action), json.loads(source)
        assert action == {"index": {"_index": "tiny", "_id": source["id"]}}
        features = source["splade"]
        assert features and all(isinstance(t, str) and t in vocab and w > 0 for t, w in features.items())
        assert source["dense"] == dense[i].tolist() and isinstance(source["title"], str)


def test_neural_sparse_query_body():
    assert neural_sparse_query("splade", {"hi": 4.3, "mars": 1.7, "zero": 0.0}, k=5) == {
        "size": 5, "query": {"neural_sparse": {"splade": {"query_tokens": {"hi": 4.3, "mars": 1.7}}}}}


def test_documents_and_query_tokens_score_as_winnow(learned, queries):
    """neural_sparse on rank_features scores sum(query weight x feature): the same ranking as winnow's."""
    out = io.StringIO()
    write_bulk(out, "tiny", document_sources({"splade": learned}, text=False))
    docs = [json.loads(line) for line in out.getvalue().splitlines()[1::2]]
    builder, searcher = NeuralSparseQueries(learned, "splade"), Searcher(learned)
    for text in queries:
        body = builder.body(text, k=10)
        tokens = body["query"]["neural_sparse"]["splade"]["query_tokens"]
        scores = {d["id"]: sum(w * d["splade"].get(t, 0.0) for t, w in tokens.items()) for d in docs}
        expected = searcher.search(text, 10)
        np.testing.assert_allclose([scores[i] for i in expected.ids], expected.scores, rtol=1e-5)
        assert sorted(scores.values(), reverse=True)[:len(expected)] == pytest.approx(list(expected.scores), rel=1e-5)


def test_negative_impacts_are_refused(write_vector_index, tmp_path):
    index = write_vector_index([{0: -1.0}, {1: 2.0}], 2, tmp_path / "negative")
    with pytest.raises(WinnowError, match="positive values only"):
        list(document_sources({"x": index}))
