import numpy as np
import pytest

pytest.importorskip("torch")

from conftest import dense, to_postings

from winnow.encode import registry
from winnow.encode.splade import build_encoder
from winnow.errors import WinnowError


@pytest.fixture(scope="module")
def encoder(tiny_mlm):
    return build_encoder(str(tiny_mlm), {"doc_max_length": "64", "batch_size": "4"})


def test_documents_match_sentence_transformers(st_splade_dir, docs):
    from sentence_transformers import SparseEncoder

    encoder = build_encoder(str(st_splade_dir), {"doc_max_length": "64", "batch_size": "4"})
    batch = encoder.encode_documents(docs)
    reference = SparseEncoder(str(st_splade_dir), device="cpu").encode_document([d.full_text for d in docs], convert_to_tensor=True)
    reference = reference.to_dense().numpy()
    reference[:, encoder.sparse_model.special_ids] = 0.0  # winnow zeroes [CLS], [SEP], ... by design
    np.testing.assert_allclose(dense(batch, encoder.sparse_model.vocab_size), reference, atol=1e-4)


def test_rows_are_sorted_positive_and_in_corpus_order(encoder, docs):
    batch = encoder.encode_documents(docs)
    assert len(batch) == len(docs) and batch.indices.dtype == np.int32 and batch.values.dtype == np.float32
    assert (batch.values > 0).all()
    for i in range(len(batch)):
        ids, _ = batch.row(i)
        assert (np.diff(ids) > 0).all()
        assert not np.isin(ids, encoder.sparse_model.special_ids).any()
    one_by_one = [encoder.encode_documents([d]) for d in docs[:5]]
    for i, single in enumerate(one_by_one):
        np.testing.assert_array_equal(single.indices, batch.row(i)[0])
        np.testing.assert_allclose(single.values, batch.row(i)[1], atol=1e-5)


def test_contract_and_query_side(encoder, docs, tmp_path):
    assert encoder.kind == "splade" and encoder.n_columns == 1
    vocab = encoder.vocabulary()
    assert vocab[2] == "[CLS]" and len(vocab) == encoder.sparse_model.vocab_size
    batch = encoder.encode_documents(docs)
    postings = to_postings(batch, len(vocab))
    np.testing.assert_array_equal(encoder.finalize(postings, tmp_path), postings.raw[:, 0])
    query = registry.load_query_encoder("splade", encoder.config(), tmp_path)
    ids, weights = query.encode_query(docs[0].full_text)
    expected = encoder.sparse_model.encode_texts([docs[0].full_text], 64, prune=False)
    np.testing.assert_array_equal(ids, expected.indices)
    np.testing.assert_allclose(weights, expected.values)


def test_pruning_options(tiny_mlm, encoder, docs):
    full = encoder.encode_documents(docs)
    top = build_encoder(str(tiny_mlm), {"doc_max_length": "64", "top_k": "10"}).encode_documents(docs)
    assert np.diff(top.indptr).max() == 10
    for i in range(len(docs)):
        ids, values = full.row(i)
        assert set(top.row(i)[0]) == set(ids[np.argsort(-values)[:10]])
    ratio = build_encoder(str(tiny_mlm), {"doc_max_length": "64", "prune_ratio": "0.5"}).encode_documents(docs)
    for i in range(len(docs)):
        ids, values = full.row(i)
        np.testing.assert_array_equal(ratio.row(i)[0], ids[values >= 0.5 * values.max()])


def test_sum_pooling_option_is_used(tiny_mlm, docs):
    encoder = build_encoder(str(tiny_mlm), {"pooling": "sum", "doc_max_length": "64"})
    assert encoder.config()["pooling"] == "sum"
    max_batch = build_encoder(str(tiny_mlm), {"doc_max_length": "64"}).encode_documents(docs[:1])
    assert encoder.encode_documents(docs[:1]).values.sum() > max_batch.values.sum()


def test_spec_strings_reach_the_encoder(tiny_mlm):
    encoder = registry.build_encoder(f"splade:{tiny_mlm}:batch_size=8,top_k=5")
    assert encoder.config()["options"]["batch_size"] == 8
    with pytest.raises(WinnowError, match="valid options"):
        registry.build_encoder(f"splade:{tiny_mlm}:batchsize=8")
    with pytest.raises(WinnowError, match="needs a model"):
        registry.build_encoder("splade")
