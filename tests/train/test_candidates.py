"""Mining training candidates: BM25 with judged positives, and the teachers' ranking with false negatives filtered."""

from __future__ import annotations

import pytest

from winnow.corpus.beir import load_beir
from winnow.errors import WinnowError
from winnow.train.candidates import mine_candidates, teacher_example
from winnow.types import Hits


def test_positives_come_first_then_bm25_candidates(tiny_beir):
    train = mine_candidates(tiny_beir, "test", depth=5)
    data = load_beir(tiny_beir, "test")
    judged = {q.text: data.qrels.judgements[q.id] for q in data.queries}
    assert train.examples
    for example in train.examples:
        positives = {d for d, grade in judged[example.query].items() if grade > 0}
        assert set(example.doc_ids[: example.n_positive]) == positives
        assert not positives & set(example.doc_ids[example.n_positive:])
        assert len(set(example.doc_ids)) == len(example.doc_ids)
        assert len(example.doc_ids) - example.n_positive <= 5
        assert all(d in train.texts for d in example.doc_ids)


def test_a_split_without_positives_is_refused(tiny_beir, tmp_path):
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    for name in ("corpus.jsonl", "queries.jsonl"):
        (folder / name).write_bytes((tiny_beir / name).read_bytes())
    (folder / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td04\t0\n", encoding="utf-8")
    with pytest.raises(WinnowError, match="no query of split 'train' has a positive"):
        mine_candidates(folder, "train")


def test_pseudo_queries_have_their_source_document_as_the_one_positive(tiny_beir):
    from winnow.corpus.beir import read_corpus
    from winnow.train.pseudo import pseudo_queries

    train = mine_candidates(tiny_beir, None, depth=5, pseudo=8, seed=3)
    made = pseudo_queries(read_corpus(tiny_beir / "corpus.jsonl"), 8, 3)
    assert [e.query for e in train.examples] == [p.text for p in made]
    for example, query in zip(train.examples, made):
        assert example.n_positive == 1 and example.doc_ids[0] == query.doc_id
        assert query.doc_id not in example.doc_ids[1:] and len(example.doc_ids) <= 6
    assert mine_candidates(tiny_beir, None, depth=5, pseudo=8, seed=3) == train


RANKING = Hits.from_scores({"a": 1.0, "pos": 0.8, "b": 0.78, "c": 0.74, "d": 0.5, "e": 0.1}, "q")


def test_negatives_scored_near_or_above_the_positive_are_dropped():
    example = teacher_example("query", RANKING, ["pos"], margin=0.05, depth=6, lift=False)
    # a (above the positive) and b (0.78 >= 0.8 - 0.05) are likely false negatives; c (0.74) is not
    assert example.doc_ids == ("pos", "c", "d", "e")
    assert example.scores == pytest.approx((0.8, 0.74, 0.5, 0.1))
    assert example.n_positive == 1
    without_margin = teacher_example("query", RANKING, ["pos"], margin=0.0, depth=6, lift=False)
    assert without_margin.doc_ids == ("pos", "b", "c", "d", "e")
    assert teacher_example("query", RANKING, ["pos"], margin=0.05, depth=4, lift=False).doc_ids == ("pos", "c")


def test_a_positive_the_teachers_missed_is_lifted_or_the_query_dropped():
    assert teacher_example("query", RANKING, ["unseen"], margin=0.05, depth=6, lift=False) is None
    lifted = teacher_example("query", RANKING, ["unseen"], margin=0.05, depth=6, lift=True)
    assert lifted.doc_ids == ("unseen", "pos", "b", "c", "d", "e")  # only a (the top score) is within the margin
    assert lifted.scores[0] == 1.0
    two = teacher_example("query", RANKING, ["a", "d"], margin=0.05, depth=6, lift=False)
    assert two.doc_ids[:2] == ("a", "d") and two.n_positive == 2
    assert two.doc_ids[2:] == ("e",)  # the bar is the lowest positive's score minus the margin
