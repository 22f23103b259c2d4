"""Tiny random cross-encoders (no model hub) and a retriever that serves the fixture documents."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.tiny_models import load_docs, load_queries
from winnow.retrieve.retriever import Retriever
from winnow.types import Document, Hits, Query, Run


def build_tiny_cross_encoder(folder: Path, tokenizer_dir: Path, num_labels: int = 1, seed: int = 0,
                             max_length: int | None = None) -> Path:
    """Save a random 2-layer BertForSequenceClassification with the tiny MLM's tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    if max_length:
        tokenizer.model_max_length = max_length
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=num_labels)
    model = BertForSequenceClassification(config)
    with torch.no_grad():  # spread the scores so that rankings differ from the input order
        model.classifier.weight.normal_(0.0, 1.0)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_ce(tiny_mlm, tmp_path_factory) -> Path:
    """A plain Hugging Face folder, one label (sentence-transformers applies a sigmoid), 24-token pairs."""
    return build_tiny_cross_encoder(tmp_path_factory.mktemp("tiny-ce"), tiny_mlm, max_length=24)


@pytest.fixture(scope="session")
def tiny_ce_copy(tiny_ce, tmp_path_factory):
    """``copy() -> Path``: a private writable copy of :func:`tiny_ce` (for ONNX exports)."""

    def copy() -> Path:
        return Path(shutil.copytree(tiny_ce, tmp_path_factory.mktemp("tiny-ce-copy") / "model"))

    return copy


class DocumentSource(Retriever):
    """A retriever that only serves stored documents: rerankers read their text from it."""

    name = "documents"

    def __init__(self, docs: list[Document]):
        self.docs = {d.id: d for d in docs}

    def retrieve(self, queries, k, filter=None) -> Run:
        ids = tuple(sorted(self.docs))[:k]
        return Run([Hits(ids, np.zeros(len(ids)), None, q.id) for q in queries], self.name)

    def documents(self, ids):
        return [self.docs.get(i) for i in ids]


@pytest.fixture(scope="session")
def source() -> DocumentSource:
    return DocumentSource(load_docs())


@pytest.fixture(scope="session")
def queries() -> list[Query]:
    return [Query(f"q{i}", text) for i, text in enumerate(load_queries())]


@pytest.fixture(scope="session")
def first_stage(source, queries) -> Run:
    """Every fixture document for every query, in a per-query shuffled order with made-up scores."""
    rng = np.random.default_rng(0)
    ids = sorted(source.docs)
    hits = []
    for q in queries:
        order = [ids[i] for i in rng.permutation(len(ids))]
        hits.append(Hits(tuple(order), np.linspace(10, 1, len(order)), None, q.id))
    return Run(hits, "first")
