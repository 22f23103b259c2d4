"""Document side shared by the SPLADE and inference-free encoders.

Texts are tokenized with the model's fast tokenizer, sorted by length so each batch pads
little, run through a backend that returns pooled vocabulary weights, cleaned (special tokens
zeroed, pruning applied) and returned as CSR rows in the caller's order.
"""

from __future__ import annotations

import logging
from itertools import pairwise
from collections.abc import Sequence

import numpy as np

from winnow.encode.base import DocumentEncoder
from winnow.encode.model_layout import (ModelLayout, detect_layout, load_tokenizer, model_record, resolve_model,
                                        special_token_ids, token_limit)
from winnow.encode.options import EncoderOptions
from winnow.encode.pruning import prune_dense
from winnow.errors import WinnowError
from winnow.types import Document, SparseBatch

logger = logging.getLogger(__name__)


def require_model(kind: str, model: str | None) -> str:
    """The model of a ``kind:MODEL`` spec, or an error saying the spec needs one."""
    if not model:
        raise WinnowError(f"the {kind} encoder needs a model: {kind}:MODEL (a folder or a Hugging Face id)")
    return model


def make_backend(layout: ModelLayout, options: EncoderOptions, pooling: str):
    """The torch or ONNX backend ``(input_ids, attention_mask) -> (batch, vocabulary)`` weights."""
    if options.backend == "onnx":
        from winnow.encode.onnx_backend import OnnxBackend

        return OnnxBackend(layout.mlm_dir, pooling, layout.activation, options.n_threads, options.quantize)
    from winnow.encode.torch_backend import TorchBackend

    return TorchBackend(layout.mlm_dir, pooling, layout.activation, options.n_threads, options.precision,
                        options.device)


def pad_batch(encodings: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad tokenized texts into int64 ``input_ids`` and ``attention_mask`` arrays.

    Padding uses id 0: the attention mask hides it from the model and the pooling.
    """
    width = max(len(e.ids) for e in encodings)
    input_ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros_like(input_ids)
    for row, encoding in enumerate(encodings):
        input_ids[row, : len(encoding.ids)] = encoding.ids
        mask[row, : len(encoding.ids)] = 1
    return input_ids, mask


def dense_to_rows(weights: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Non-zero ``(ids int32 ascending, values float32)`` of each row of a dense matrix."""
    rows, cols = np.nonzero(weights)
    bounds = np.searchsorted(rows, np.arange(weights.shape[0] + 1))
    values = weights[rows, cols].astype(np.float32)
    cols = cols.astype(np.int32)
    return [(cols[lo:hi], values[lo:hi]) for lo, hi in pairwise(bounds)]


class MLMSparseModel:
    """A SPLADE-style model: tokenizer, special tokens and a lazily built backend.

    Args:
        model: Local folder or Hugging Face id.
        options: Validated encoder options.
    """

    def __init__(self, model: str, options: EncoderOptions):
        self.model = model
        self.options = options
        self.layout = detect_layout(resolve_model(model))
        self.pooling = options.pooling if options.pooling != "auto" else (self.layout.pooling or "max")
        self.tokenizer = load_tokenizer(self.layout.mlm_dir)
        self.special_ids = special_token_ids(self.tokenizer)
        self.vocab_size = self.tokenizer.get_vocab_size(with_added_tokens=True)
        self.doc_max_length = options.doc_max_length or token_limit(self.layout.mlm_dir)
        self._backend = None
        self._record: dict | None = None

    @property
    def record(self) -> dict:
        """The resolved model and its file digests (:func:`~winnow.encode.model_layout.model_record`)."""
        if self._record is None:
            self._record = model_record(self.model, self.layout)
        return self._record

    @property
    def backend(self):
        if self._backend is None:
            self._backend = make_backend(self.layout, self.options, self.pooling)
        return self._backend

    def vocabulary(self) -> list[str]:
        """Token strings ordered by id, so term id == token id."""
        vocab = self.tokenizer.get_vocab(with_added_tokens=True)
        tokens = [""] * self.vocab_size
        for token, token_id in vocab.items():
            tokens[token_id] = token
        return tokens

    def tokenize(self, texts: list[str], max_length: int):
        self.tokenizer.enable_truncation(max_length)
        return self.tokenizer.encode_batch(texts, add_special_tokens=True)

    def weigh(self, encodings: Sequence, prune: bool) -> np.ndarray:
        """Dense ``(len(encodings), vocabulary)`` weights with special tokens zeroed."""
        weights = self.backend(*pad_batch(encodings))
        weights[:, self.special_ids] = 0.0
        if prune:
            prune_dense(weights, self.options.top_k, self.options.prune_ratio)
        return weights

    def encode_texts(self, texts: list[str], max_length: int, prune: bool) -> SparseBatch:
        """Sparse vectors of ``texts`` in their order, computed in length-sorted batches."""
        encodings = self.tokenize(texts, max_length)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        rows: list = [None] * len(texts)
        size = self.options.batch_size
        for lo in range(0, len(order), size):
            chunk = order[lo : lo + size]
            for position, row in zip(chunk, dense_to_rows(self.weigh([encodings[i] for i in chunk], prune))):
                rows[position] = row
        return SparseBatch.from_rows(rows)


class MLMDocumentEncoder(DocumentEncoder):
    """The :class:`~winnow.encode.base.DocumentEncoder` part both learned encoders share.

    Subclasses set ``kind`` and add ``finalize``.
    """

    kind = ""

    def __init__(self, model: str, options: EncoderOptions):
        self.sparse_model = MLMSparseModel(model, options)
        self.options = options

    def config(self) -> dict:
        m = self.sparse_model
        return {
            **m.record,
            "layout": m.layout.layout,
            "pooling": m.pooling,
            "activation": m.layout.activation,
            "vocab_size": m.vocab_size,
            "doc_max_length": m.doc_max_length,
            "options": self.options.to_json(),
        }

    @property
    def n_columns(self) -> int:
        return 1

    def vocabulary(self) -> list[str]:
        return self.sparse_model.vocabulary()

    def encode_documents(self, docs: Sequence[Document]) -> SparseBatch:
        """Pruned sparse vectors of ``docs`` (``title + " " + text``), one CSR row each."""
        return self.sparse_model.encode_texts([d.full_text for d in docs], self.sparse_model.doc_max_length, prune=True)
