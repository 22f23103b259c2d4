"""The dense encoder gives sentence-transformers' vectors for the same folder (to 1e-5)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.dense.conftest import save_sentence_transformer
from tests.tiny_models import load_docs, load_queries
from winnow.dense.encoder import DenseEncoder, build_encoder
from winnow.dense.layout import detect_dense_layout
from winnow.dense.options import parse_dense_options
from winnow.errors import WinnowError

st = pytest.importorskip("sentence_transformers")

DOCS = [d.full_text for d in load_docs()]
QUERIES = load_queries()


def reference(folder):
    return st.SentenceTransformer(str(folder), device="cpu")


def test_matches_sentence_transformers_in_the_callers_order(tiny_st):
    encoder = DenseEncoder(str(tiny_st), parse_dense_options({"batch_size": 3}))
    got = encoder.encode(DOCS)
    np.testing.assert_allclose(got, reference(tiny_st).encode(DOCS), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    assert encoder.normalize and encoder.pooling == ("mean",)


@pytest.mark.parametrize("pooling", ["cls", "max", "lasttoken", "weightedmean", "mean_sqrt_len_tokens"])
def test_every_pooling_matches_sentence_transformers(tiny_mlm, tmp_path, pooling):
    folder = save_sentence_transformer(tiny_mlm, tmp_path / "m", pooling=pooling, normalize=False)
    # without a Normalize module the model still scores by cosine, so winnow normalises unless told not to
    got = DenseEncoder(str(folder), parse_dense_options({"batch_size": 4, "normalize": "false"})).encode(DOCS)
    np.testing.assert_allclose(got, reference(folder).encode(DOCS), atol=1e-5)
    cosine = DenseEncoder(str(folder)).encode(DOCS)
    np.testing.assert_allclose(cosine, got / np.linalg.norm(got, axis=1, keepdims=True), atol=1e-5)


@pytest.mark.parametrize("include_prompt", [True, False])
def test_prompts_and_excluded_instruction_tokens_match(tiny_mlm, tmp_path, include_prompt):
    prompts = {"query": "search query for the corpus: ", "document": "passage: "}
    folder = save_sentence_transformer(tiny_mlm, tmp_path / "m", include_prompt=include_prompt, prompts=prompts)
    encoder = DenseEncoder(str(folder), parse_dense_options({"batch_size": 5}))
    model = reference(folder)
    np.testing.assert_allclose(encoder.encode_queries(QUERIES), model.encode_query(QUERIES), atol=1e-5)
    np.testing.assert_allclose(encoder.encode(DOCS), model.encode_document(DOCS), atol=1e-5)
    assert encoder.include_prompt is include_prompt
    excluded = DenseEncoder(str(folder), parse_dense_options({"include_prompt": "false"})).encode_queries(QUERIES)
    assert not np.allclose(excluded, DenseEncoder(str(folder)).encode_queries(QUERIES)) or not include_prompt


def test_left_padding_gives_the_same_vectors_as_right(tiny_st):
    right = DenseEncoder(str(tiny_st), parse_dense_options({"batch_size": 7, "padding_side": "right"}))
    left = DenseEncoder(str(tiny_st), parse_dense_options({"batch_size": 7, "padding_side": "left"}))
    # BERT adds absolute positions, so left padding shifts them: compare one text per batch only
    one = DenseEncoder(str(tiny_st), parse_dense_options({"batch_size": 1, "padding_side": "left"}))
    np.testing.assert_allclose(one.encode(DOCS), right.encode(DOCS), atol=1e-5)
    assert left.padding_side == "left"


def test_onnx_backend_matches_torch(tiny_st_copy):
    torch_vectors = DenseEncoder(str(tiny_st_copy)).encode(DOCS)
    encoder = DenseEncoder(str(tiny_st_copy), parse_dense_options({"backend": "onnx", "batch_size": 6}))
    np.testing.assert_allclose(encoder.encode(DOCS), torch_vectors, atol=1e-5)
    assert encoder.backend.path.is_relative_to(tiny_st_copy)  # cached beside a writable model
    int8 = DenseEncoder(str(tiny_st_copy), parse_dense_options({"backend": "onnx", "quantize": "int8"})).encode(DOCS)
    assert np.mean(np.sum(int8 * torch_vectors, axis=1)) > 0.95


def test_onnx_backend_runs_the_fused_graph_with_torchs_vectors(tiny_st_copy):
    onnx = pytest.importorskip("onnx")
    encoder = DenseEncoder(str(tiny_st_copy), parse_dense_options({"backend": "onnx", "batch_size": 5}))
    torch_encoder = DenseEncoder(str(tiny_st_copy), parse_dense_options({"batch_size": 5}))
    operators = {node.op_type for node in onnx.load(str(encoder.backend.path)).graph.node}
    assert {"Attention", "EmbedLayerNormalization", "SkipLayerNormalization", "BiasGelu"} <= operators
    # batches of one, of mixed lengths with padding, and of short queries
    for texts in (DOCS, DOCS[:1], QUERIES):
        got, want = encoder.encode(texts), torch_encoder.encode(texts)
        np.testing.assert_allclose(got, want, atol=1e-5)
        assert np.min(np.sum(got * want, axis=1)) > 1 - 1e-6


def test_bfloat16_is_close_to_float32(tiny_st):
    fp32 = DenseEncoder(str(tiny_st)).encode(DOCS)
    bf16 = DenseEncoder(str(tiny_st), parse_dense_options({"precision": "bfloat16"})).encode(DOCS)
    assert np.min(np.sum(fp32 * bf16, axis=1)) > 0.99


def test_progress_counts_documents(tiny_st):
    seen = []
    DenseEncoder(str(tiny_st), parse_dense_options({"batch_size": 8})).encode(DOCS, progress=seen.append)
    assert seen == [8, 16, 20]


def test_plain_hugging_face_folder_pools_by_mean_and_normalizes(tiny_mlm):
    layout = detect_dense_layout(tiny_mlm)
    assert layout.layout == "hf" and layout.pooling == ("mean",)
    vectors = DenseEncoder(str(tiny_mlm)).encode(DOCS[:3])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_unsupported_modules_and_options_are_refused(tiny_st_copy):
    with pytest.raises(WinnowError, match="batch_size"):
        build_encoder(str(tiny_st_copy), {"batch_size": "0"})
    with pytest.raises(WinnowError, match="unknown dense option"):
        build_encoder(str(tiny_st_copy), {"poolin": "cls"})
    with pytest.raises(WinnowError, match="needs a model"):
        build_encoder(None, {})
    modules = json.loads((tiny_st_copy / "modules.json").read_text())
    modules.insert(2, {"idx": 9, "name": "9", "path": "9_Dense", "type": "sentence_transformers.models.Dense"})
    (tiny_st_copy / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(WinnowError, match="not supported"):
        DenseEncoder(str(tiny_st_copy))
