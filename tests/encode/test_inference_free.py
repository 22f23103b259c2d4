import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("torch")

from conftest import to_postings

from winnow.encode import registry
from winnow.encode.bm25 import lucene_idf
from winnow.encode.inference_free import StaticQueryEncoder, build_encoder
from winnow.encode.model_layout import load_tokenizer
from winnow.errors import WinnowError


def index(encoder, docs, out_dir):
    """What the index builder does with an encoder: encode, collect postings, finalize."""
    batch = encoder.encode_documents(docs)
    postings = to_postings(batch, len(encoder.vocabulary()))
    impacts = encoder.finalize(postings, out_dir)
    return postings, impacts


def test_query_is_tokenize_plus_model_idf(opensearch_dir, idf_weights, docs, queries, tmp_path):
    encoder = build_encoder(str(opensearch_dir), {"doc_max_length": "64"})
    assert encoder.config()["idf_source"] == "model"
    index(encoder, docs, tmp_path)
    query = registry.load_query_encoder("inference-free", encoder.config(), tmp_path)
    tokenizer = load_tokenizer(opensearch_dir)
    for text in queries:
        tokens = tokenizer.encode(text, add_special_tokens=False).ids
        expected = list(dict.fromkeys(tokens))  # distinct, in order of first occurrence
        ids, weights = query.encode_query(text)
        np.testing.assert_array_equal(ids, expected)
        np.testing.assert_allclose(weights, idf_weights[expected], rtol=1e-6)
        assert ids.dtype == np.int32 and weights.dtype == np.float32


def test_query_equals_sentence_transformers_static_embedding(st_router_dir, docs, queries, tmp_path):
    from sentence_transformers import SparseEncoder

    encoder = build_encoder(str(st_router_dir), {"doc_max_length": "64"})
    index(encoder, docs, tmp_path)
    query = registry.load_query_encoder("inference-free", encoder.config(), tmp_path)
    reference = SparseEncoder(str(st_router_dir), device="cpu").encode_query(queries, convert_to_tensor=True).to_dense().numpy()
    for text, row in zip(queries, reference):
        ids, weights = query.encode_query(text)
        got = np.zeros_like(row)
        got[ids] = weights
        np.testing.assert_array_equal(got, row)


def test_documents_equal_sentence_transformers_document_route(st_router_dir, docs):
    from sentence_transformers import SparseEncoder

    encoder = build_encoder(str(st_router_dir), {"doc_max_length": "64"})
    batch = encoder.encode_documents(docs)
    reference = SparseEncoder(str(st_router_dir), device="cpu").encode_document([d.full_text for d in docs], convert_to_tensor=True)
    reference = reference.to_dense().numpy()
    reference[:, encoder.sparse_model.special_ids] = 0.0
    for i in range(len(docs)):
        ids, values = batch.row(i)
        np.testing.assert_array_equal(ids, np.flatnonzero(reference[i] > 0))
        np.testing.assert_allclose(values, reference[i, ids], atol=1e-4)


def test_corpus_idf_when_the_model_has_none(tiny_mlm, docs, queries, tmp_path):
    encoder = build_encoder(str(tiny_mlm), {"doc_max_length": "64"})
    assert encoder.config()["idf_source"] == "corpus"
    postings, impacts = index(encoder, docs, tmp_path)
    np.testing.assert_array_equal(impacts, postings.raw[:, 0])
    saved = np.load(tmp_path / "query_idf.npy")
    df, n = postings.document_frequency, len(docs)
    expected = np.where(df > 0, np.log(1 + (n - df + 0.5) / (df + 0.5)), 0.0)
    np.testing.assert_allclose(saved, expected, rtol=1e-6)
    np.testing.assert_allclose(lucene_idf(np.array([0, 1]), 10), [0.0, np.log(1 + 9.5 / 1.5)], rtol=1e-6)
    ids, weights = registry.load_query_encoder("inference-free", encoder.config(), tmp_path).encode_query(queries[0])
    np.testing.assert_allclose(weights, saved[ids])
    assert (weights > 0).all()


def test_idf_model_without_weights_is_refused(tiny_mlm):
    with pytest.raises(WinnowError, match="no idf.json"):
        build_encoder(str(tiny_mlm), {"idf": "model"})


def test_index_dir_is_self_contained(opensearch_dir, docs, tmp_path):
    encoder = build_encoder(str(opensearch_dir), {"doc_max_length": "64"})
    index(encoder, docs, tmp_path)
    assert {"query_idf.npy", "tokenizer.json"} <= {p.name for p in tmp_path.iterdir()}
    config = {**encoder.config(), "model": "/nonexistent/model"}  # queries need no model
    ids, _ = registry.load_query_encoder("inference-free", config, tmp_path).encode_query("inverted index")
    assert len(ids) > 0


def test_query_side_imports_neither_torch_nor_transformers(opensearch_dir, docs, tmp_path):
    encoder = build_encoder(str(opensearch_dir), {"doc_max_length": "64"})
    index(encoder, docs, tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(encoder.config()))
    code = (
        "import json, sys, pathlib; from winnow.encode import registry; d = pathlib.Path(sys.argv[1]); "
        "q = registry.load_query_encoder('inference-free', json.loads((d / 'config.json').read_text()), d); "
        "q.encode_query('inverted index'); "
        "sys.exit(any(m in sys.modules for m in ('torch', 'transformers', 'onnxruntime')))"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)


WORDS = ["Sparse", "retrieval", "naïve", "café", "don't", "U.S.A.", "BM25,", "東京", "ｆｕｌｌ", "x-y", "(idf)"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), max_size=30),
       st.lists(st.sampled_from([" ", "  ", "\t", "\n", "\u00a0", "\u3000"]), min_size=30, max_size=30),
       st.integers(1, 40))
def test_word_cache_tokenizes_exactly_like_the_whole_text(opensearch_dir, words, spaces, max_length):
    """The per-word cache gives the tokenizer's own ids for the whole text, truncation included."""
    weights = np.ones(load_tokenizer(opensearch_dir).get_vocab_size(), np.float32)
    query = StaticQueryEncoder(load_tokenizer(opensearch_dir), weights, max_length)
    assert query._words is not None  # BERT's pre-tokenizer splits on whitespace: the cache is on
    text = "".join(w + s for w, s in zip(words, spaces))
    reference = load_tokenizer(opensearch_dir)
    reference.enable_truncation(max_length)
    expected = reference.encode(text, add_special_tokens=False).ids
    assert query.token_ids(text) == expected
    assert query.token_ids(text) == expected  # again, from the cache


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=80))
def test_ascii_splits_on_spaces_exactly_like_the_tokenizer(opensearch_dir, text):
    """Printable ASCII takes the str.split fast path, control characters do not; both give the tokenizer's ids."""
    weights = np.ones(load_tokenizer(opensearch_dir).get_vocab_size(), np.float32)
    query = StaticQueryEncoder(load_tokenizer(opensearch_dir), weights, 512)
    assert query.token_ids(text) == load_tokenizer(opensearch_dir).encode(text, add_special_tokens=False).ids
