"""Sharded search on Ray equals one index over the same documents: ids, order and scores, exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scale.helpers import assert_same_hits
from tests.tiny_models import load_docs
from winnow.errors import WinnowError
from winnow.scale.shards import ShardedRetriever, build_sharded_index, merge_hits, shard_ranges

KINDS = ["bm25", "splade"]
WORDS = sorted({w.strip(".,;:()").lower() for d in load_docs() for w in d.full_text.split()} - {""})


@pytest.fixture(scope="session")
def systems(encoded, tmp_path_factory):
    """``systems(kind, n_shards) -> (sharded retriever, single index searcher)``, each built once."""
    from winnow.retrieve.searcher import Searcher
    from winnow.scale.vectors import index_vectors

    root = tmp_path_factory.mktemp("shards")
    singles, sharded = {}, {}

    def get(kind: str, n_shards: int):
        if kind not in singles:
            index_vectors(encoded(kind), root / kind / "single")
            singles[kind] = Searcher(root / kind / "single")
        if (kind, n_shards) not in sharded:
            out = root / kind / f"shards-{n_shards}"
            build_sharded_index(encoded(kind), out, n_shards, cpus_per_shard=0.5)
            sharded[kind, n_shards] = ShardedRetriever(out, strategy="exhaustive")
        return sharded[kind, n_shards], singles[kind]

    yield get
    for retriever in sharded.values():
        retriever.close()


queries = st.lists(st.sampled_from(WORDS + ["unseen", "zzz"]), min_size=1, max_size=6).map(" ".join)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(KINDS), n_shards=st.sampled_from([1, 3]), batch=st.lists(queries, min_size=1, max_size=4),
       k=st.integers(1, 25))
def test_sharded_equals_single_index(systems, kind, n_shards, batch, k):
    sharded, single = systems(kind, n_shards)
    got, expected = sharded.search_batch(batch, k), single.search_batch(batch, k, strategy="exhaustive")
    for qid in expected:
        assert_same_hits(got[qid], expected[qid])


# per-field BM25 statistics; the corpus IDF of inference-free queries (a model on Ray: slow)
@pytest.mark.parametrize("kind", ["bm25-multifield", pytest.param("inference-free", marks=pytest.mark.slow)])
def test_collection_statistics_reach_every_shard(systems, queries, kind):
    sharded, single = systems(kind, 2)
    for strategy in ("auto", "maxscore"):
        sharded.strategy = strategy
        got, expected = sharded.search_batch(queries, 10), single.search_batch(queries, 10, strategy=strategy)
        for qid in expected:
            assert_same_hits(got[qid], expected[qid])
    sharded.strategy = "exhaustive"


def test_sharded_index_opens_through_winnow_open(systems):
    import winnow

    sharded, _ = systems("bm25", 2)
    retriever = winnow.open(sharded.path)
    try:
        assert isinstance(retriever, ShardedRetriever) and retriever.n_docs == 20
    finally:
        retriever.close()


def test_merge_breaks_ties_by_global_document_number():
    parts = [(("a", "b"), np.array([2.0, 1.0], np.float32), np.array([0, 1])),
             (("c", "d"), np.array([2.0, 1.0], np.float32), np.array([0, 1]))]
    hits = merge_hits(parts, [0, 2], 3)
    assert hits.ids == ("a", "c", "b") and hits.docnos.tolist() == [0, 2, 1]
    assert merge_hits(parts, [5, 0], 4).ids == ("c", "a", "d", "b")


def test_shard_ranges_are_contiguous_and_balanced():
    assert shard_ranges(10, 3) == [(0, 3), (3, 6), (6, 10)]
    with pytest.raises(WinnowError):
        shard_ranges(2, 3)


def test_replaces_only_sharded_indexes(encoded, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.txt").write_text("user data")
    with pytest.raises(WinnowError, match="refusing to overwrite"):
        build_sharded_index(encoded("bm25"), tmp_path / "data", 2)
    assert (tmp_path / "data" / "keep.txt").exists()
