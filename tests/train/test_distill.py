"""Training an inference-free model end to end on the tiny BEIR folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

import winnow  # noqa: E402
from winnow.encode.bm25 import lucene_idf  # noqa: E402
from winnow.encode.mlm_encoder import MLMSparseModel  # noqa: E402
from winnow.encode.model_layout import detect_layout  # noqa: E402
from winnow.encode.options import parse_options  # noqa: E402
from winnow.errors import WinnowError  # noqa: E402
from winnow.train.distill import DistillConfig, train_inference_free  # noqa: E402

from tests.tiny_models import load_docs  # noqa: E402


def config(model, **overrides) -> DistillConfig:
    settings = dict(student=str(model), sparse_teacher=str(model), steps=20, queries_per_step=2, candidates=4,
                    depth=5, learning_rate=1e-3, doc_max_length=64)
    return DistillConfig(**{**settings, **overrides})


def doc_terms(model) -> float:
    encoder = MLMSparseModel(str(model), parse_options({"backend": "torch"}))
    batch = encoder.encode_texts([d.full_text for d in load_docs()], 64, prune=False)
    return len(batch.indices) / len(batch)


@pytest.fixture(scope="module")
def trained(tiny_mlm, tiny_beir, tmp_path_factory):
    out = tmp_path_factory.mktemp("trained")
    report = train_inference_free(tiny_beir, out, config(tiny_mlm, flops_weight=1.0, learning_rate=3e-3), split="test")
    return out, report


def test_the_folder_is_an_inference_free_model_with_the_corpus_idf(trained):
    out, report = trained
    assert detect_layout(out).layout == "opensearch"
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    df: dict[int, int] = {}
    docs = load_docs()
    for doc in docs:
        for token in set(tokenizer.encode(doc.full_text, add_special_tokens=False).ids):
            df[token] = df.get(token, 0) + 1
    saved = json.loads((out / "idf.json").read_text(encoding="utf-8"))
    expected = {tokenizer.id_to_token(t): float(lucene_idf(np.array([n]), len(docs))[0]) for t, n in df.items()}
    assert saved.keys() == expected.keys()
    assert all(saved[t] == pytest.approx(w, rel=1e-6) for t, w in expected.items())
    assert json.loads((out / "training.json").read_text(encoding="utf-8"))["history"] == report["history"]
    assert report["history"][-1]["step"] == 20


def test_an_index_of_the_trained_model_weighs_queries_by_its_idf(trained, tiny_beir, tmp_path):
    out, _ = trained
    winnow.index_corpus(tiny_beir, tmp_path / "ix", encoder=f"inference-free:{out}")
    searcher = winnow.load_index(tmp_path / "ix")
    saved = json.loads((out / "idf.json").read_text(encoding="utf-8"))
    vocab = searcher.index.vocabulary
    for doc in load_docs():
        terms, weights = searcher.encode(doc.full_text)
        assert len(terms) > 0
        assert weights.tolist() == pytest.approx([saved[vocab[t]] for t in terms])
    assert len(searcher.index.docids) > 0


def test_the_flops_penalty_sparsifies_documents(trained, tiny_mlm, tiny_beir, tmp_path):
    out, _ = trained
    free = tmp_path / "free"
    train_inference_free(tiny_beir, free, config(tiny_mlm, flops_weight=0.0, learning_rate=3e-3), split="test")
    assert doc_terms(out) < 0.5 * doc_terms(free)
    assert doc_terms(out) < 0.5 * doc_terms(tiny_mlm)


@pytest.mark.parametrize("overrides, message", [
    ({"sparse_teacher": None}, "needs a dense teacher, a sparse teacher or both"),
    ({"candidates": 1}, "candidates >= 2"),
    ({"depth": 2}, "depth >= candidates - 1"),
    ({"temperature": 0.0}, "must be > 0"),
    ({"flops_ramp": 1.5}, "flops_ramp"),
])
def test_bad_settings_are_refused(tiny_mlm, overrides, message):
    with pytest.raises(WinnowError, match=message):
        config(tiny_mlm, **overrides)


def test_the_cli_trains_and_reports(tiny_mlm, tiny_beir, tmp_path):
    from typer.testing import CliRunner

    from winnow.cli.app import app

    out = tmp_path / "cli-model"
    result = CliRunner().invoke(app, ["train", str(tiny_beir), "--out", str(out), "--split", "test", "--student",
                                      str(tiny_mlm), "--sparse-teacher", str(tiny_mlm), "--steps", "10",
                                      "--queries-per-step", "2", "--candidates", "4", "--doc-max-length", "64"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert report["config"]["steps"] == 10 and report["split"] == "test"
    assert f"trained on {report['queries']} queries" in result.output


def test_a_student_that_pools_otherwise_is_refused(tiny_mlm, tiny_beir, tmp_path):
    st = pytest.importorskip("sentence_transformers")
    from sentence_transformers.sparse_encoder.modules import MLMTransformer, SpladePooling

    folder = tmp_path / "sum-pooled"
    st.SparseEncoder(modules=[MLMTransformer(str(tiny_mlm), max_seq_length=64), SpladePooling("sum")]).save(str(folder))
    with pytest.raises(WinnowError, match="pools with sum and relu"):
        train_inference_free(tiny_beir, tmp_path / "out", config(folder), split="test")
    assert not (tmp_path / "out").exists()
