"""The cross-encoder reranker against sentence-transformers' CrossEncoder on tiny random models."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from tests.rerank.conftest import build_tiny_cross_encoder
from winnow.errors import WinnowError
from winnow.rerank import build_reranker
from winnow.rerank.cross_encoder import CrossEncoderReranker
from winnow.types import Hits, Run

pytest.importorskip("torch")
st = pytest.importorskip("sentence_transformers")


def pairs_of(run, queries, source):
    texts = {q.id: q.text for q in queries}
    return [(texts[qid], source.docs[d].full_text) for qid in run for d in run[qid].ids]


def reference_ranking(model_dir, run, queries, source, **predict):
    """Each query's hits sorted by sentence-transformers' scores, ties in input order."""
    scores = st.CrossEncoder(str(model_dir)).predict(pairs_of(run, queries, source), batch_size=7, **predict)
    out, at = {}, 0
    for qid in run:
        ids, s = run[qid].ids, np.asarray(scores[at:at + len(run[qid])], dtype=np.float32)
        at += len(ids)
        order = np.argsort(-s, kind="stable")
        out[qid] = ([ids[i] for i in order], s[order])
    return out


def assert_same(reranked: Run, reference: dict):
    """The same score for every document, within float noise (BLAS may sum in another order under
    load, so documents scored that close may swap places; the tests also check each run is sorted)."""
    for qid, (ids, scores) in reference.items():
        ours = dict(zip(reranked[qid].ids, reranked[qid].scores))
        assert sorted(ours) == sorted(ids)
        np.testing.assert_allclose([ours[d] for d in ids], scores, rtol=0, atol=1e-5)


def test_plain_folder_scores_equal_sentence_transformers(tiny_ce, first_stage, queries, source):
    reranked = CrossEncoderReranker(str(tiny_ce), batch_size=5).rerank(queries, first_stage, source)
    assert_same(reranked, reference_ranking(tiny_ce, first_stage, queries, source))
    assert reranked.qids == first_stage.qids
    assert all(np.all(np.diff(h.scores) <= 0) for h in reranked.values())


def test_sentence_transformers_folder_with_its_activation(tiny_ce, first_stage, queries, source, tmp_path):
    saved = tmp_path / "st"
    model = st.CrossEncoder(str(tiny_ce), activation_fn=__import__("torch").nn.Identity())
    model.save_pretrained(str(saved))
    reranker = CrossEncoderReranker(str(saved))
    assert reranker.model.activation_name.endswith("Identity") and reranker.model.max_length == 24
    assert_same(reranker.rerank(queries, first_stage, source), reference_ranking(saved, first_stage, queries, source))


def test_two_labels_score_the_second(tiny_mlm, first_stage, queries, source, tmp_path):
    folder = build_tiny_cross_encoder(tmp_path / "two", tiny_mlm, num_labels=2, seed=1)
    reference = st.CrossEncoder(str(folder)).predict(pairs_of(first_stage, queries, source))[:, 1]
    scores = CrossEncoderReranker(str(folder)).model.score(pairs_of(first_stage, queries, source))
    np.testing.assert_allclose(scores, reference, atol=1e-5)
    with pytest.raises(WinnowError, match="out of range"):
        CrossEncoderReranker(str(folder), label=2)


def test_onnx_backend_equals_torch(tiny_ce_copy, first_stage, queries, source):
    folder = tiny_ce_copy()
    torch_run = CrossEncoderReranker(str(folder)).rerank(queries, first_stage, source)
    onnx_run = CrossEncoderReranker(str(folder), backend="onnx").rerank(queries, first_stage, source)
    assert (folder / "onnx" / "winnow-cross-encoder.onnx").exists()
    for qid in torch_run:
        np.testing.assert_allclose(onnx_run[qid].scores, torch_run[qid].scores, atol=1e-5)
        assert onnx_run[qid].ids == torch_run[qid].ids or np.allclose(np.diff(torch_run[qid].scores), 0, atol=1e-5)


def test_ties_keep_the_input_order(tiny_mlm, first_stage, queries, source, tmp_path):
    import torch
    from transformers import BertForSequenceClassification

    folder = build_tiny_cross_encoder(tmp_path / "flat", tiny_mlm)
    model = BertForSequenceClassification.from_pretrained(str(folder))
    with torch.no_grad():
        model.classifier.weight.zero_()
    model.save_pretrained(str(folder))
    reranked = CrossEncoderReranker(str(folder)).rerank(queries, first_stage, source)
    for qid in first_stage:
        assert reranked[qid].ids == first_stage[qid].ids


def test_missing_documents_stay_last_in_input_order(tiny_ce, queries, source, caplog):
    hits = Hits(("gone-1", "d03", "gone-2", "d01", "d02"), np.arange(5.0)[::-1], None, queries[0].id)
    with caplog.at_level(logging.WARNING):
        out = CrossEncoderReranker(str(tiny_ce)).rerank(queries[:1], Run([hits]), source)[queries[0].id]
    assert set(out.ids[:3]) == {"d01", "d02", "d03"} and out.ids[3:] == ("gone-1", "gone-2")
    assert np.all(np.diff(out.scores) < 0)
    assert "2 documents" in caplog.text


def test_a_run_query_without_text_is_refused(tiny_ce, queries, first_stage, source):
    with pytest.raises(WinnowError, match="no text"):
        CrossEncoderReranker(str(tiny_ce)).rerank(queries[:1], first_stage, source)


def test_refuses_a_model_that_is_not_a_classifier(tiny_mlm):
    with pytest.raises(WinnowError, match="not a sequence-classification"):
        CrossEncoderReranker(str(tiny_mlm))


def test_spec_options_are_typed(tiny_ce):
    reranker = build_reranker(f"rerank:{tiny_ce}:depth=50,batch_size=8,max_length=16")
    assert (reranker.depth, reranker.batch_size, reranker.model.max_length) == (50, 8, 16)
    with pytest.raises(WinnowError, match="unknown reranker option.*dept; valid options: depth"):
        build_reranker(f"rerank:{tiny_ce}:dept=50")
    with pytest.raises(WinnowError, match="depth='many'"):
        build_reranker(f"rerank:{tiny_ce}:depth=many")
    with pytest.raises(WinnowError, match="names no model"):
        build_reranker("rerank:")
    with pytest.raises(WinnowError, match="unknown reranker"):
        build_reranker("monot5:x")


def test_pipeline_reranks_the_first_stage(tiny_ce, tiny_index, queries):
    import winnow

    bm25 = winnow.open(tiny_index)
    reranker = CrossEncoderReranker(str(tiny_ce), depth=5)
    run = (bm25 >> reranker % 3).search_batch(queries, k=10)
    first = bm25.search_batch(queries, k=5)
    again = reranker.rerank(queries, first, bm25)
    for qid in run:
        assert len(run[qid]) == min(3, len(first[qid]))
        assert run[qid].ids == again[qid].ids[:3]
        assert set(run[qid].ids) <= set(first[qid].ids)


@pytest.mark.parametrize("backend, device, message", [
    ("torch", "tpu", "device='tpu': choose one of cpu, cuda"),
    ("onnx", "cuda", "device=cuda needs backend=torch"),
])
def test_a_device_the_backend_cannot_use_is_refused(tiny_ce, backend, device, message):
    with pytest.raises(WinnowError, match=message):
        CrossEncoderReranker(str(tiny_ce), backend=backend, device=device)
