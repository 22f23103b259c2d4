import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from conftest import dense

from winnow.encode.onnx_backend import cache_root, onnx_path
from winnow.encode.splade import build_encoder


@pytest.fixture(scope="module")
def torch_vectors(tiny_mlm, docs):
    encoder = build_encoder(str(tiny_mlm), {"doc_max_length": "64"})
    return dense(encoder.encode_documents(docs), encoder.sparse_model.vocab_size)


def test_onnx_matches_torch(tiny_mlm, docs, torch_vectors):
    encoder = build_encoder(str(tiny_mlm), {"doc_max_length": "64", "backend": "onnx", "batch_size": "3"})
    got = dense(encoder.encode_documents(docs), encoder.sparse_model.vocab_size)
    np.testing.assert_allclose(got, torch_vectors, atol=1e-4)
    assert onnx_path(tiny_mlm, "max", "relu", "none").exists()


def test_int8_ranks_terms_like_fp32(tiny_mlm, docs, torch_vectors):
    encoder = build_encoder(str(tiny_mlm), {"doc_max_length": "64", "backend": "onnx", "quantize": "int8"})
    got = dense(encoder.encode_documents(docs), encoder.sparse_model.vocab_size)
    for quantized, reference in zip(got, torch_vectors):
        top = set(np.argsort(-reference)[:10])
        assert len(top & set(np.argsort(-quantized)[:10])) >= 7
        cosine = quantized @ reference / np.linalg.norm(quantized) / np.linalg.norm(reference)
        assert cosine > 0.95


def test_read_only_model_folder_uses_the_cache(tiny_mlm, tmp_path, onnx_cache):
    from conftest import copy_model

    folder = copy_model(tiny_mlm, tmp_path / "model")
    folder.chmod(0o555)
    try:
        assert onnx_path(folder, "max", "relu", "none").is_relative_to(cache_root())
        assert cache_root().is_relative_to(onnx_cache)
    finally:
        folder.chmod(0o755)
