"""Pipeline operators over real indexes: cutoffs reach the retriever, rerankers see the right depth."""

from __future__ import annotations

import numpy as np
import pytest

import winnow
from winnow.errors import WinnowError
from winnow.pipeline.ops import Fusion
from winnow.retrieve.retriever import Reranker, Retriever
from winnow.types import Hits, Query, Run


class Spy(Retriever):
    """A real retriever that records the k it is asked for."""

    def __init__(self, inner: Retriever):
        self.inner, self.asked, self.name, self.score_floor = inner, [], inner.name, inner.score_floor

    def retrieve(self, queries, k, filter=None):
        self.asked.append(k)
        return self.inner.retrieve(queries, k, filter)

    def documents(self, ids):
        return self.inner.documents(ids)


class Reverse(Reranker):
    """A stage whose order is known: the candidates' order reversed, scores by their new rank."""

    def __init__(self, depth: int = 100):
        self.depth, self.name, self.seen = depth, "reverse", []

    def rerank(self, queries, run, source):
        self.seen.append({q: len(h) for q, h in run.items()})
        return Run({q: Hits(h.ids[::-1], np.arange(len(h), 0, -1, dtype=np.float64), None, q)
                    for q, h in run.items()}, self.name)


QUERIES = [Query("a", "cholesterol statin"), Query("b", "heart disease risk")]


@pytest.fixture
def bm25(tiny_index):
    return Spy(winnow.load_index(tiny_index))


def test_a_cutoff_asks_its_retriever_for_k(bm25):
    run = (bm25 % 3).retrieve(QUERIES, 1000)
    assert bm25.asked == [3] and all(len(h) <= 3 for h in run.values())
    (bm25 % 3).retrieve(QUERIES, 2)
    assert bm25.asked[-1] == 2


def test_a_reranker_gets_its_depth_and_the_pipeline_cuts(bm25):
    stage = Reverse(depth=5)
    pipe = bm25 % 4 >> stage % 2
    run = pipe.retrieve(QUERIES, 10)
    assert bm25.asked == [4]  # the reranker asked for 5, the cutoff on the left allowed 4
    direct = bm25.inner.retrieve(QUERIES, 4)
    for q in run:
        assert run[q].ids == direct[q].ids[::-1][:2]
    assert pipe.name == f"{bm25.name} % 4 >> reverse % 2"
    (pipe % 1).retrieve(QUERIES, 10)
    assert bm25.asked[-1] == 4 and stage.seen[-1] == {q: len(direct[q]) for q in direct}


def test_search_and_search_batch_validate_their_input(bm25):
    for bad in (None, b"bytes", ["list"], 3):
        with pytest.raises(WinnowError, match="a query must be a str"):
            bm25.search(bad)
    with pytest.raises(WinnowError, match="not a single str"):
        bm25.search_batch("cancer")
    for k in (2.5, "5", True, -1, None):
        with pytest.raises(WinnowError, match="k must be a non-negative integer"):
            bm25.search("cancer", k=k)
    run = bm25.search_batch({"x": "cholesterol", "y": "heart"}, k=np.int64(2))
    assert run.qids == ["x", "y"] and all(h.qid == q for q, h in run.items())


def test_a_reranker_on_the_left_or_a_retriever_on_the_right_is_refused(bm25):
    with pytest.raises(WinnowError, match="needs a reranker on its right"):
        bm25 >> bm25
    with pytest.raises(WinnowError, match="at least two retrievers"):
        Fusion([bm25])


def test_indexes_of_one_corpus_share_an_id_space_and_fuse_on_numbers(tiny_beir, tiny_index, tmp_path):
    other = tmp_path / "bm25-other"
    winnow.index_corpus(tiny_beir, other, "bm25:k1=0.9,b=0.4")
    a, b = winnow.load_index(tiny_index), winnow.load_index(other)
    assert a.id_space is not None and a.id_space == b.id_space
    assert (a % 5).id_space == a.id_space and (a >> Reverse()).id_space is None
    fusion = Fusion([a, b], "convex", {"norm": "zscore"}, depth=20)
    assert fusion.id_space == a.id_space and Fusion([a, Spy(b)]).id_space is None
    run = fusion.retrieve(QUERIES, 3)
    assert all(h.docnos is not None and len(h) <= 3 for h in run.values())
    on_ids = Fusion([a, Spy(b)], "convex", {"norm": "zscore"}, depth=20).retrieve(QUERIES, 3)
    for q in run:
        assert run[q].ids == on_ids[q].ids and np.allclose(run[q].scores, on_ids[q].scores, rtol=0, atol=1e-12)
