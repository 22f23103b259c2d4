"""Training an inference-free model end to end on the tiny BEIR folder, without its judgements."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
st = pytest.importorskip("sentence_transformers")

import winnow  # noqa: E402
from winnow.encode.bm25 import lucene_idf  # noqa: E402
from winnow.encode.mlm_encoder import MLMSparseModel  # noqa: E402
from winnow.encode.model_layout import detect_layout  # noqa: E402
from winnow.encode.options import parse_options  # noqa: E402
from winnow.errors import WinnowError  # noqa: E402
from winnow.train.distill import DistillConfig, train_inference_free  # noqa: E402

from tests.tiny_models import load_docs  # noqa: E402

STEPS = 20


def config(model, **overrides) -> DistillConfig:
    settings = dict(student=str(model), teachers=("bm25", "bm25:k1=0.5,b=0.3"), teacher_weights=(2.0, 1.0),
                    pseudo_queries=20, dev_queries=4, depth=8, candidates=3, steps=STEPS, queries_per_step=4,
                    accumulation=2, learning_rate=3e-3, flops_weight=0.0, doc_max_length=64, eval_every=10,
                    checkpoint_every=10, device="cpu")
    return DistillConfig(**{**settings, **overrides})


def document_matrix(model) -> np.ndarray:
    """winnow's document vectors of the tiny corpus, as a dense (documents x vocabulary) array."""
    encoder = MLMSparseModel(str(model), parse_options({"backend": "torch"}))
    batch = encoder.encode_texts([d.full_text for d in load_docs()], 64, prune=False)
    out = np.zeros((len(batch), encoder.vocab_size), dtype=np.float32)
    for i in range(len(batch)):
        ids, values = batch.row(i)
        out[i, ids] = values
    return out


@pytest.fixture(scope="module")
def trained(tiny_mlm, tiny_beir, tmp_path_factory):
    root = tmp_path_factory.mktemp("trained")
    report = train_inference_free(tiny_beir, root / "model", config(tiny_mlm), split=None, index_dir=root / "indexes")
    return root / "model", report


def test_training_lowers_the_loss_and_reports_the_teachers_first(trained):
    out, report = trained
    history = report["history"]
    assert [h["step"] for h in history] == [10, STEPS]
    assert history[-1]["distill"] < history[0]["distill"]
    assert set(report["teachers"]) == {"bm25", "bm25:k1=0.5,b=0.3", "ensemble"}
    assert all(0 <= v <= 1 for v in report["teachers"].values())
    assert [e["step"] for e in report["evaluations"]] == [0, 10, 20]
    assert report["student_start"] == report["evaluations"][0]["score"]
    assert report["queries"] == "20 pseudo-queries" and report["dev"] == "4 held-out training queries"
    assert report["examples"] + report["dropped_queries"] == 16
    assert json.loads((out / "training.json").read_text(encoding="utf-8")) == report


def test_winnow_and_sentence_transformers_load_the_same_vectors(trained):
    out, _ = trained
    model = st.SparseEncoder(str(out), device="cpu")
    texts = [d.full_text for d in load_docs()]
    theirs = model.encode_document(texts, convert_to_tensor=True).to_dense().numpy()
    np.testing.assert_allclose(document_matrix(out), theirs, rtol=1e-5, atol=1e-6)
    idf = json.loads((out / "idf.json").read_text(encoding="utf-8"))
    query = model.encode_query(["posting lists of an inverted index"], convert_to_tensor=True).to_dense().numpy()[0]
    tokens = model.tokenizer.convert_ids_to_tokens(np.flatnonzero(query).tolist())
    assert dict(zip(tokens, query[query > 0].tolist())) == pytest.approx({t: idf[t] for t in tokens})


def test_the_folder_is_also_an_opensearch_model_with_the_corpus_idf(trained, tmp_path):
    import shutil

    from tokenizers import Tokenizer

    out, _ = trained
    plain = tmp_path / "opensearch"
    shutil.copytree(out, plain, ignore=shutil.ignore_patterns("modules.json"))
    assert detect_layout(plain).layout == "opensearch"
    assert detect_layout(out).layout == "router"
    np.testing.assert_array_equal(document_matrix(plain), document_matrix(out))
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    df: dict[int, int] = {}
    docs = load_docs()
    for doc in docs:
        for token in set(tokenizer.encode(doc.full_text, add_special_tokens=False).ids):
            df[token] = df.get(token, 0) + 1
    saved = json.loads((out / "idf.json").read_text(encoding="utf-8"))
    expected = {tokenizer.id_to_token(t): float(lucene_idf(np.array([n]), len(docs))[0]) for t, n in df.items()}
    assert saved == pytest.approx(expected)


def test_an_index_of_the_trained_model_weighs_queries_by_its_idf(trained, tiny_beir, tmp_path):
    out, _ = trained
    winnow.index_corpus(tiny_beir, tmp_path / "ix", encoder=f"inference-free:{out}:idf=model")
    searcher = winnow.load_index(tmp_path / "ix")
    saved = json.loads((out / "idf.json").read_text(encoding="utf-8"))
    vocab = searcher.index.vocabulary
    terms, weights = searcher.encode("posting lists of an inverted index")
    assert len(terms) > 0
    assert weights.tolist() == pytest.approx([saved[vocab[t]] for t in terms])
    assert len(searcher.search("inverted index", k=3)) == 3


def test_resuming_a_finished_run_reuses_its_examples_and_checkpoint(trained, tiny_mlm, tiny_beir):
    out, report = trained
    again = train_inference_free(tiny_beir, out, config(tiny_mlm), split=None, resume=True)
    assert again["resumed_from"] == STEPS
    assert again["history"] == report["history"] and again["teachers"] == report["teachers"]


def test_the_cli_trains_and_the_flops_penalty_sparsifies(trained, tiny_mlm, tiny_beir, tmp_path):
    from typer.testing import CliRunner

    from winnow.cli.app import app

    out, _ = trained
    sparse = tmp_path / "cli-model"
    result = CliRunner().invoke(app, [
        "train", str(tiny_beir), "--out", str(sparse), "--student", str(tiny_mlm), "--label-free", "--teacher", "bm25",
        "--pseudo-queries", "20", "--dev-queries", "4", "--depth", "8", "--candidates", "3", "--steps", str(STEPS),
        "--queries-per-step", "4", "--learning-rate", "3e-3", "--flops-weight", "5", "--doc-max-length", "64",
        "--eval-every", "0", "--checkpoint-every", "0", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "teacher bm25: dev ndcg@10" in result.output and "trained on" in result.output
    report = json.loads((sparse / "training.json").read_text(encoding="utf-8"))
    assert report["config"]["flops_weight"] == 5.0 and report["split"] is None and report["evaluations"] == []
    terms = lambda model: np.count_nonzero(document_matrix(model)) / len(load_docs())  # noqa: E731
    assert terms(sparse) < 0.5 * terms(out)


@pytest.mark.parametrize("overrides, message", [
    ({"teachers": ()}, "at least one teacher"),
    ({"candidates": 1}, "candidates >= 2"),
    ({"depth": 1}, "depth >= candidates - 1"),
    ({"temperature": 0.0}, "must be > 0"),
    ({"flops_ramp": 1.5}, "flops_ramp"),
    ({"accumulation": 3}, "multiple of accumulation"),
    ({"norm": "rank"}, "unknown normalisation"),
    ({"warmup": 1.0}, "warmup in"),
])
def test_bad_settings_are_refused(tiny_mlm, overrides, message):
    with pytest.raises(WinnowError, match=message):
        config(tiny_mlm, **overrides)


def test_supervised_training_needs_enough_queries_after_filtering(tiny_mlm, tiny_beir, tmp_path):
    with pytest.raises(WinnowError, match="fewer than dev_queries"):
        train_inference_free(tiny_beir, tmp_path / "out", config(tiny_mlm, dev_queries=7), split="test")
    assert not (tmp_path / "out").exists()


def test_dev_pools_are_in_document_order_and_unseen_tokens_are_silenced(trained):
    """A student whose scores tie must not inherit the teachers' order; tokens the corpus never
    holds (no query can match them) get no document weight in the saved model."""
    import json

    out, _ = trained
    prepared = json.loads((out.with_name(out.name + ".work") / "prepared.json").read_text(encoding="utf-8"))
    assert prepared["dev_pool"] and all(pool == sorted(pool) for pool in prepared["dev_pool"].values())
    idf = json.loads((out / "idf.json").read_text(encoding="utf-8"))
    from transformers import AutoTokenizer

    vocab = AutoTokenizer.from_pretrained(str(out)).get_vocab()
    unseen = [i for t, i in vocab.items() if t not in idf]
    matrix = document_matrix(out)
    assert unseen and not matrix[:, unseen].any() and matrix.any()
