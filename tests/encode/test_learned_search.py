"""End to end: a learned sparse index answers with the brute-force dot products of its vectors."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from winnow.api import index_corpus, load_index  # noqa: E402
from winnow.encode.registry import build_encoder  # noqa: E402


@pytest.mark.parametrize("kind", ["splade", "inference-free"])
def test_search_equals_brute_force_dot_products(kind, tiny_mlm, docs, queries, tmp_path):
    spec = f"{kind}:{tiny_mlm}:doc_max_length=64,top_k=40"
    index_corpus(docs, tmp_path / "ix", encoder=spec)
    searcher = load_index(tmp_path / "ix")
    vectors = build_encoder(spec).encode_documents(docs)
    dense = np.zeros((len(docs), len(searcher.index.vocabulary)), np.float32)
    for i in range(len(docs)):
        ids, values = vectors.row(i)
        dense[i, ids] = values
    for text in queries:
        terms, weights = searcher.encode(text)
        scores = np.zeros(len(docs), np.float32)
        for t, w in zip(terms, weights):  # query-term order, float32, as the engine sums
            scores += np.float32(w) * dense[:, t]
        touched = np.flatnonzero(dense[:, terms].any(axis=1)) if len(terms) else np.zeros(0, int)
        expected = sorted(touched.tolist(), key=lambda d: (-scores[d], d))[:5]
        hits = searcher.search(text, k=5)
        assert list(hits.docnos) == expected
        np.testing.assert_allclose(hits.scores, scores[expected], rtol=1e-6)
        assert hits.ids == tuple(docs[d].id for d in expected)


def test_a_splade_index_records_its_model_and_refuses_another(tiny_mlm, docs, tmp_path, monkeypatch):
    """Built from a relative path, searched from elsewhere; a model whose weights changed is refused."""
    import shutil

    from winnow.errors import WinnowError

    shutil.copytree(tiny_mlm, tmp_path / "models" / "tiny")
    monkeypatch.chdir(tmp_path / "models")
    index_corpus(docs, tmp_path / "ix", encoder="splade:tiny:doc_max_length=64")
    monkeypatch.chdir(tmp_path)
    searcher = load_index(tmp_path / "ix")
    config = searcher.index.encoder_config
    assert config["model"] == str((tmp_path / "models" / "tiny").resolve()) and config["model_id"] == "tiny"
    assert config["revision"] is None and "model.safetensors" in config["model_files"]
    assert len(searcher.search("sparse model query encoder", k=3)) > 0

    weights = tmp_path / "models" / "tiny" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(WinnowError, match=r"not the one this index was built with \(changed: model.safetensors\)"):
        load_index(tmp_path / "ix")
