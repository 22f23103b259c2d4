"""Teachers: the ensemble's normalisations by hand, retrieval and reranking teachers on the tiny corpus."""

from __future__ import annotations

import math

import numpy as np
import pytest

from winnow.errors import WinnowError
from winnow.train.teachers import TeacherSet, candidate_pool, ensemble, teacher_runs
from winnow.types import Query, Run

A = Run.from_dict({"q": {"d1": 10.0, "d2": 6.0, "d3": 2.0}}, "a")
B = Run.from_dict({"q": {"d2": 0.9, "d4": 0.5, "d3": 0.3}}, "b")


def test_min_max_ensemble_by_hand():
    fused = ensemble([A, B], [3.0, 1.0], "minmax")["q"].to_dict()
    # a: (s - 2) / 8 -> d1 1, d2 0.5, d3 0; b: (s - 0.3) / 0.6 -> d2 1, d4 1/3, d3 0; missing -> 0
    expected = {"d1": 0.75 * 1, "d2": 0.75 * 0.5 + 0.25 * 1, "d3": 0.0, "d4": 0.25 / 3}
    assert fused == pytest.approx(expected)
    assert list(ensemble([A, B], [3.0, 1.0])["q"].ids) == ["d1", "d2", "d4", "d3"]


def test_z_score_ensemble_by_hand_gives_missing_documents_the_lowest_z():
    fused = ensemble([A, B], [1.0, 1.0], "zscore")["q"].to_dict()

    def z(values):
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        return [(v - mean) / std for v in values]

    za, zb = z([10, 6, 2]), z([0.9, 0.5, 0.3])
    expected = {"d1": (za[0] + min(zb)) / 2, "d2": (za[1] + zb[0]) / 2, "d3": (za[2] + zb[2]) / 2,
                "d4": (min(za) + zb[1]) / 2}
    assert fused == pytest.approx(expected)


def test_the_ensemble_is_blind_to_a_teachers_scale():
    scaled = Run.from_dict({"q": {d: 7 * s - 3 for d, s in A["q"]}}, "a")
    assert ensemble([scaled, B], [1, 2])["q"].to_dict() == pytest.approx(ensemble([A, B], [1, 2])["q"].to_dict())
    with pytest.raises(WinnowError, match="unknown normalisation"):
        ensemble([A], [1.0], "rank")


def test_retrieval_teachers_are_pipelines_over_the_corpus(tiny_beir, tmp_path):
    from winnow.corpus.beir import load_beir

    data = load_beir(tiny_beir, "test")
    specs = ["bm25", "rrf(bm25 + bm25:k1=0.5,b=0.3)"]
    with TeacherSet(specs, [2.0, 1.0], tiny_beir, tmp_path) as teachers:
        runs = teacher_runs(teachers.teachers, data.queries, depth=5)
        direct = teachers.teachers[0].stage.retrieve(data.queries, 5)
    assert set(runs) == set(specs)
    assert runs["bm25"].to_dict() == direct.to_dict()
    assert all(len(hits) <= 5 for run in runs.values() for hits in run.values())
    assert list(tmp_path.iterdir())  # the indexes stay for the next run


@pytest.mark.parametrize("specs, weights, message", [
    (["bm25"], [1.0, 2.0], "1 teachers but 2 weights"),
    (["bm25", "bm25"], None, "name one twice"),
    (["bm25"], [0.0], "must be > 0"),
])
def test_bad_teacher_sets_are_refused(tiny_beir, tmp_path, specs, weights, message):
    with pytest.raises(WinnowError, match=message):
        TeacherSet(specs, weights, tiny_beir, tmp_path)


@pytest.fixture(scope="module")
def tiny_cross_encoder(tiny_mlm, tmp_path_factory):
    """The tiny model's encoder under a fresh one-logit classification head."""
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("tiny-ce")
    transformers.AutoModelForSequenceClassification.from_pretrained(str(tiny_mlm), num_labels=1).save_pretrained(folder)
    transformers.AutoTokenizer.from_pretrained(str(tiny_mlm)).save_pretrained(folder)
    return folder


def test_a_cross_encoder_teacher_scores_the_retrieval_teachers_pool(tiny_beir, tiny_cross_encoder, tmp_path):
    from tests.tiny_models import load_docs
    from winnow.rerank.cross_encoder import CrossEncoderModel

    docs = {d.id: d for d in load_docs()}
    queries = [Query("a", "protein folding"), Query("b", "solar energy storage")]
    specs = ["bm25", "bm25:k1=0.5,b=0.3", f"rerank:{tiny_cross_encoder}"]
    with TeacherSet(specs, None, tiny_beir, tmp_path) as teachers:
        runs = teacher_runs(teachers.teachers, queries, depth=4, documents=docs)
        with pytest.raises(WinnowError, match="need the corpus documents"):
            teacher_runs(teachers.teachers, queries, depth=4)
    pool = candidate_pool([runs["bm25"], runs["bm25:k1=0.5,b=0.3"]])
    model = CrossEncoderModel(str(tiny_cross_encoder))
    for q in queries:
        assert set(runs[specs[2]][q.id].ids) == set(pool[q.id].ids)
        expected = model.score([(q.text, docs[d].full_text) for d in runs[specs[2]][q.id].ids])
        np.testing.assert_allclose(runs[specs[2]][q.id].scores, expected, rtol=1e-5, atol=1e-6)


def test_a_reranker_alone_cannot_teach(tiny_beir, tiny_cross_encoder, tmp_path):
    with pytest.raises(WinnowError, match="at least one retriever"):
        TeacherSet([f"rerank:{tiny_cross_encoder}"], None, tiny_beir, tmp_path)
