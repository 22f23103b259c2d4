"""Tiny random models built once per session from the fixture corpus (no model hub)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.tiny_models import load_docs, load_queries
from winnow.types import Document


@pytest.fixture(scope="session")
def docs() -> list[Document]:
    return load_docs()


@pytest.fixture(scope="session")
def queries() -> list[str]:
    return load_queries()


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory):
    """Keep exported ONNX graphs out of the user's cache."""
    path = tmp_path_factory.mktemp("winnow-cache")
    old = os.environ.get("WINNOW_CACHE")
    os.environ["WINNOW_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("WINNOW_CACHE", None)
    else:
        os.environ["WINNOW_CACHE"] = old


def copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.fixture(scope="session")
def idf_weights(tiny_mlm) -> np.ndarray:
    rng = np.random.default_rng(0)
    from tokenizers import Tokenizer

    size = Tokenizer.from_file(str(tiny_mlm / "tokenizer.json")).get_vocab_size()
    return rng.uniform(0.5, 3.0, size).astype(np.float32)


@pytest.fixture(scope="session")
def st_splade_dir(tiny_mlm, tmp_path_factory) -> Path:
    """The tiny model saved by sentence-transformers as MLMTransformer + SpladePooling."""
    st = pytest.importorskip("sentence_transformers")
    from sentence_transformers.sparse_encoder.modules import MLMTransformer, SpladePooling

    folder = tmp_path_factory.mktemp("st-splade") / "model"
    st.SparseEncoder(modules=[MLMTransformer(str(tiny_mlm), max_seq_length=64), SpladePooling("max")]).save(str(folder))
    return folder


@pytest.fixture(scope="session")
def st_router_dir(tiny_mlm, idf_weights, tmp_path_factory) -> Path:
    """An inference-free sentence-transformers Router: SparseStaticEmbedding queries, MLM documents."""
    st = pytest.importorskip("sentence_transformers")
    import torch
    from sentence_transformers.sparse_encoder.modules import MLMTransformer, Router, SparseStaticEmbedding, SpladePooling

    doc = MLMTransformer(str(tiny_mlm), max_seq_length=64)
    query = SparseStaticEmbedding(tokenizer=doc.tokenizer, weight=torch.from_numpy(idf_weights.copy()), frozen=True)
    router = Router.for_query_document(query_modules=[query], document_modules=[doc, SpladePooling("max")])
    folder = tmp_path_factory.mktemp("st-router") / "model"
    st.SparseEncoder(modules=[router], similarity_fn_name="dot").save(str(folder))
    return folder


@pytest.fixture(scope="session")
def opensearch_dir(tiny_mlm, idf_weights, tmp_path_factory) -> Path:
    """An OpenSearch-style ``doc-*`` folder: the MLM plus ``idf.json`` (token -> weight)."""
    from tokenizers import Tokenizer

    folder = copy_model(tiny_mlm, tmp_path_factory.mktemp("opensearch") / "model")
    vocab = Tokenizer.from_file(str(tiny_mlm / "tokenizer.json")).get_vocab()
    (folder / "idf.json").write_text(json.dumps({token: float(idf_weights[i]) for token, i in vocab.items()}), encoding="utf-8")
    return folder


def dense(batch, vocab_size: int) -> np.ndarray:
    """A batch of sparse document vectors as a dense (documents x vocabulary) array."""
    out = np.zeros((len(batch), vocab_size), dtype=np.float32)
    for i in range(len(batch)):
        ids, values = batch.row(i)
        out[i, ids] = values
    return out


def to_postings(batch, vocab_size: int):
    """Term-major postings of a batch of document vectors (what the index builder hands finalize)."""
    import scipy.sparse

    from winnow.index.postings import Postings

    csc = scipy.sparse.csr_matrix((batch.values, batch.indices, batch.indptr), shape=(len(batch), vocab_size)).tocsc()
    csc.sort_indices()
    return Postings(csc.indptr.astype(np.int64), csc.indices.astype(np.int32), csc.data.astype(np.float32)[:, None], len(batch))
