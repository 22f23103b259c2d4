"""Training a cross-encoder end to end on the tiny BEIR folder; sentence-transformers loads the result."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("torch")
st = pytest.importorskip("sentence_transformers")

import torch  # noqa: E402

from tests.tiny_models import load_docs, load_queries  # noqa: E402
from winnow.errors import WinnowError  # noqa: E402
from winnow.rerank.cross_encoder import CrossEncoderReranker  # noqa: E402
from winnow.train.cross_encoder import CrossEncoderConfig, ranking_loss, train_cross_encoder  # noqa: E402


def config(model, **overrides) -> CrossEncoderConfig:
    settings = dict(base=str(model), steps=20, queries_per_step=4, accumulation=2, candidates=4, depth=8,
                    learning_rate=3e-3, warmup=0.0, max_length=48)
    return CrossEncoderConfig(**{**settings, **overrides})


@pytest.fixture(scope="module")
def trained(tiny_mlm, tiny_beir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ce")
    return out, train_cross_encoder(tiny_beir, out, config(tiny_mlm), split="test")


def test_training_lowers_the_loss(trained):
    out, report = trained
    history = report["history"]
    assert [h["step"] for h in history] == [10, 20]
    assert history[-1]["loss"] < history[0]["loss"]
    assert json.loads((out / "training.json").read_text(encoding="utf-8"))["history"] == history


def test_winnow_and_sentence_transformers_load_the_same_scores(trained):
    out, _ = trained
    docs, queries = load_docs(), load_queries()
    pairs = [(q, d.full_text) for q in queries[:3] for d in docs]
    reference = st.CrossEncoder(str(out))
    assert reference.max_seq_length == 48 and isinstance(reference.activation_fn, torch.nn.Identity)
    reranker = CrossEncoderReranker(str(out))
    assert reranker.model.max_length == 48
    np.testing.assert_allclose(reranker.model.score(pairs, batch_size=8), reference.predict(pairs), rtol=0, atol=1e-5)


def test_losses_by_hand():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]])
    softmax = [-math.log(math.exp(r[0]) / sum(math.exp(x) for x in r)) for r in logits.tolist()]
    assert ranking_loss(logits, "listwise").item() == pytest.approx(sum(softmax) / 2, rel=1e-6)

    def bce(x, y):
        p = 1 / (1 + math.exp(-x))
        return -(y * math.log(p) + (1 - y) * math.log(1 - p))

    expected = sum(bce(x, 1.0 if j == 0 else 0.0) for r in logits.tolist() for j, x in enumerate(r)) / 6
    assert ranking_loss(logits, "pointwise").item() == pytest.approx(expected, rel=1e-6)


def test_pointwise_training_runs(tiny_mlm, tiny_beir, tmp_path):
    report = train_cross_encoder(tiny_beir, tmp_path, config(tiny_mlm, loss="pointwise", steps=2, accumulation=1),
                                 split="test")
    assert report["history"][-1]["step"] == 2 and np.isfinite(report["history"][-1]["loss"])


@pytest.mark.parametrize("overrides, message", [
    ({"candidates": 1}, "candidates >= 2"),
    ({"depth": 2}, "depth >= candidates - 1"),
    ({"accumulation": 3}, "multiple of accumulation"),
    ({"loss": "pairwise"}, "unknown loss"),
    ({"warmup": 1.0}, "warmup in"),
    ({"steps": 0}, "steps must be at least 1"),
])
def test_bad_settings_are_refused(tiny_mlm, overrides, message):
    with pytest.raises(WinnowError, match=message):
        config(tiny_mlm, **overrides)


def test_label_free_training_needs_no_qrels(tiny_mlm, tiny_beir, tmp_path):
    folder = tmp_path / "beir"
    folder.mkdir()
    (folder / "corpus.jsonl").write_bytes((tiny_beir / "corpus.jsonl").read_bytes())
    report = train_cross_encoder(folder, tmp_path / "ce", config(tiny_mlm, steps=2, pseudo_queries=12), split=None)
    assert report["split"] is None and 4 <= report["queries"] <= 12
    assert CrossEncoderReranker(str(tmp_path / "ce")).model.max_length == 48


def test_the_cli_trains_and_reports(tiny_mlm, tiny_beir, tmp_path):
    from typer.testing import CliRunner

    from winnow.cli.app import app

    out = tmp_path / "cli-ce"
    result = CliRunner().invoke(app, ["train-cross-encoder", str(tiny_beir), "--out", str(out), "--base", str(tiny_mlm),
                                      "--split", "test", "--steps", "2", "--queries-per-step", "2", "--candidates", "3",
                                      "--max-length", "32"])
    assert result.exit_code == 0, result.output
    assert "trained on" in result.output and (out / "config.json").exists()
    assert CrossEncoderReranker(str(out)).model.max_length == 32
