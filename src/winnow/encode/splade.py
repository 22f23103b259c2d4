"""SPLADE: one masked-language model encodes both queries and documents (siamese).

Spec: ``splade:MODEL[:key=value,...]`` with the options of
:class:`~winnow.encode.options.EncoderOptions`. Impacts are the document weights unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from winnow.encode.base import QueryEncoder
from winnow.encode.mlm_encoder import MLMDocumentEncoder, MLMSparseModel, require_model
from winnow.encode.model_layout import check_model, locate_model
from winnow.encode.options import EncoderOptions, parse_options

DEFAULT_QUERY_MAX_LENGTH = 64


class SpladeEncoder(MLMDocumentEncoder):
    """Document encoder of a SPLADE index (see :class:`~winnow.encode.base.DocumentEncoder`)."""

    kind = "splade"

    def finalize(self, postings, out_dir: Path) -> np.ndarray:
        """SPLADE weights are the impacts: return the raw column as float32."""
        return np.ascontiguousarray(postings.raw[:, 0], dtype=np.float32)


class SpladeQueryEncoder(QueryEncoder):
    """Encodes queries with the same model and settings as the documents (no pruning).

    Args:
        model: The model's folder or Hugging Face id, as saved in the index config.
        options: The index's encoder options.
    """

    def __init__(self, model: str, options: EncoderOptions):
        self.sparse_model = MLMSparseModel(model, options)
        self.max_length = options.query_max_length or DEFAULT_QUERY_MAX_LENGTH

    def encode_query(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        batch = self.sparse_model.encode_texts([text], self.max_length, prune=False)
        return batch.indices, batch.values

    def encode_queries(self, texts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Many queries as CSR, through the model in length-sorted batches of ``batch_size``."""
        batch = self.sparse_model.encode_texts(list(texts), self.max_length, prune=False)
        return batch.indptr, batch.indices, batch.values


def build_encoder(model: str | None, options: dict[str, str]) -> SpladeEncoder:
    """Build the document encoder for ``splade:MODEL:options``.

    Raises:
        WinnowError: without a model, or on an unknown option or bad value.
    """
    return SpladeEncoder(require_model("splade", model), parse_options(options))


def load_query_encoder(config: dict, index_dir: Path) -> SpladeQueryEncoder:
    """Rebuild the query encoder from the config saved by :meth:`SpladeEncoder.config`.

    The model is found where the build resolved it (or fetched at the recorded hub revision) and
    checked against the recorded file digests.

    Raises:
        WinnowError: when the model's files differ from those the documents were encoded with.
    """
    encoder = SpladeQueryEncoder(locate_model(config), EncoderOptions(**config["options"]))
    check_model(config, encoder.sparse_model.layout)
    return encoder
