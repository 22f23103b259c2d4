"""all-MiniLM-L6-v2 from ../shared: winnow's vectors are sentence-transformers' (slow; skipped without it)."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from winnow.dense.encoder import DenseEncoder
from winnow.dense.options import parse_dense_options

MODEL = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "all-MiniLM-L6-v2"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not MODEL.is_dir(), reason=f"all-MiniLM-L6-v2 not found at {MODEL} (../shared/models)"),
]


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_minilm_equals_sentence_transformers_on_scifact(shared_beir, backend):
    st = pytest.importorskip("sentence_transformers")
    from winnow.corpus.beir import read_corpus

    texts = [d.full_text for d in islice(read_corpus(shared_beir / "scifact" / "corpus.jsonl"), 48)]
    encoder = DenseEncoder(str(MODEL), parse_dense_options({"backend": backend, "batch_size": 16}))
    assert encoder.pooling == ("mean",) and encoder.normalize and encoder.max_length == 256
    want = st.SentenceTransformer(str(MODEL), device="cpu").encode(texts, batch_size=16)
    np.testing.assert_allclose(encoder.encode(texts), want, atol=1e-5)


def test_minilm_int8_stays_close_to_float(shared_beir):
    """Per-channel int8: one scale per tensor saturated on CPUs without VNNI (cosine 0.90)."""
    pytest.importorskip("onnxruntime")
    from winnow.corpus.beir import read_corpus

    texts = [d.full_text for d in islice(read_corpus(shared_beir / "scifact" / "corpus.jsonl"), 48)]
    exact = DenseEncoder(str(MODEL), parse_dense_options({"backend": "onnx"})).encode(texts)
    int8 = DenseEncoder(str(MODEL), parse_dense_options({"backend": "onnx", "quantize": "int8"})).encode(texts)
    assert np.min(np.sum(exact * int8, axis=1)) > 0.98
