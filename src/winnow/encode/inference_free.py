"""Inference-free learned sparse retrieval: an MLM encodes documents, queries are only tokenized.

A query is tokenized without special tokens and each distinct token gets a static weight,
exactly as sentence-transformers' ``SparseStaticEmbedding``:

    q_t = idf(t)  if token t occurs in the query,  else 0

The weights come from the model (OpenSearch ``idf.json``: token -> weight, or the
``SparseStaticEmbedding`` of a sentence-transformers router) or, when it has none, from the
indexed corpus with Lucene's IDF, ``ln(1 + (N - df + 0.5) / (df + 0.5))``. Terms no document
contains get weight 0 (they could not score anyway). At search time only the ``tokenizers``
library, the saved ``tokenizer.json`` and ``query_idf.npy`` are needed: no torch, no weights.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np

from winnow.encode.base import QueryEncoder
from winnow.encode.bm25 import lucene_idf
from winnow.encode.mlm_encoder import MLMDocumentEncoder, require_model
from winnow.encode.model_layout import load_model_idf
from winnow.encode.options import EncoderOptions, parse_options
from winnow.errors import IndexFormatError, WinnowError

logger = logging.getLogger(__name__)

IDF_FILE = "query_idf.npy"
TOKENIZER_FILE = "tokenizer.json"
FALLBACK_QUERY_MAX_LENGTH = 512
WORD_PRE_TOKENIZERS = ("BertPreTokenizer", "Whitespace", "WhitespaceSplit")  # split on whitespace first
MAX_CACHED_WORDS = 1 << 18
# Characters every whitespace-splitting tokenizer splits on (str.split() also splits on control
# characters such as \x1f, which BERT's normaliser deletes instead).
_SPACES = re.compile("[ \t\n\r\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+").split


def _tokenizer_max_length(folder: Path) -> int:
    """The tokenizer's ``model_max_length`` (what ``SparseStaticEmbedding`` truncates at)."""
    path = folder / "tokenizer_config.json"
    value = json.loads(path.read_text(encoding="utf-8")).get("model_max_length") if path.exists() else None
    return int(value) if isinstance(value, (int, float)) and value < 1e6 else FALLBACK_QUERY_MAX_LENGTH


class InferenceFreeEncoder(MLMDocumentEncoder):
    """Document encoder of an inference-free index; ``finalize`` saves the query side."""

    kind = "inference-free"

    def __init__(self, model: str, options: EncoderOptions):
        super().__init__(model, options)
        layout = self.sparse_model.layout
        if options.idf == "model" and not layout.has_query_weights:
            raise WinnowError(f"model {layout.root} has no idf.json or SparseStaticEmbedding; use idf=corpus or idf=auto")
        self.idf_source = "corpus" if options.idf == "corpus" or not layout.has_query_weights else "model"
        self.query_max_length = options.query_max_length or _tokenizer_max_length(layout.static_dir or layout.mlm_dir)

    def config(self) -> dict:
        return {**super().config(), "idf_source": self.idf_source, "query_max_length": self.query_max_length}

    def query_weights(self, postings) -> np.ndarray:
        """Weight per token id: the model's, or the Lucene IDF of ``postings``."""
        m = self.sparse_model
        if self.idf_source == "model":
            return load_model_idf(m.layout, m.tokenizer)
        idf = np.zeros(m.vocab_size, dtype=np.float32)
        df = postings.document_frequency
        idf[: len(df)] = lucene_idf(df, postings.n_docs)[: m.vocab_size]
        return idf

    def finalize(self, postings, out_dir: Path) -> np.ndarray:
        """Save ``query_idf.npy`` and ``tokenizer.json`` into ``out_dir``; impacts are the raw weights."""
        out_dir = Path(out_dir)
        np.save(out_dir / IDF_FILE, self.query_weights(postings))
        tokenizer = self.sparse_model.tokenizer
        tokenizer.no_truncation()
        tokenizer.save(str(out_dir / TOKENIZER_FILE))
        return np.ascontiguousarray(postings.raw[:, 0], dtype=np.float32)


class StaticQueryEncoder(QueryEncoder):
    """Tokenize-and-look-up query encoder (``SparseStaticEmbedding`` semantics).

    When the tokenizer splits on whitespace before anything else (BERT's pre-tokenizer), words are
    tokenized independently and remembered, so repeated query words skip the tokenizer; the ids
    are the same as tokenizing the whole text.

    Args:
        tokenizer: A ``tokenizers.Tokenizer``.
        weights: float32 weight per token id.
        max_length: Tokens kept per query (truncation, no special tokens).
    """

    def __init__(self, tokenizer, weights: np.ndarray, max_length: int):
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        self.max_length = max_length
        self.weights = np.asarray(weights, dtype=np.float32)
        self._weight_of = self.weights.tolist()
        pre = json.loads(tokenizer.to_str()).get("pre_tokenizer") or {}
        self._words: dict[str, list[int]] | None = {} if pre.get("type") in WORD_PRE_TOKENIZERS else None

    def token_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens, truncated to ``max_length``."""
        words = self._words
        if words is None:
            return self.tokenizer.encode(text, add_special_tokens=False).ids
        ids: list[int] = []
        # Printable ASCII holds no whitespace but the space: str.split is exact there, and fast.
        for word in text.split(" ") if text.isascii() and text.isprintable() else _SPACES(text):
            if not word:
                continue
            known = words.get(word)
            if known is None:
                if len(words) > MAX_CACHED_WORDS:
                    words.clear()
                known = words[word] = self.tokenizer.encode(word, add_special_tokens=False).ids
            ids.extend(known)
        return ids[: self.max_length]

    def encode_query(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Distinct token ids of ``text`` (first occurrence order, int32) and their non-zero static weights."""
        ids = dict.fromkeys(self.token_ids(text))  # dedupe in C; the engine needs no term order
        weight_of = self._weight_of
        weights = [weight_of[i] for i in ids]  # list lookups: cheaper than numpy for ~20 ids
        if 0.0 in weights:
            ids = [i for i, w in zip(ids, weights) if w]
            weights = [w for w in weights if w]
        return np.fromiter(ids, np.int32, len(ids)), np.array(weights, dtype=np.float32)


def build_encoder(model: str | None, options: dict[str, str]) -> InferenceFreeEncoder:
    """Build the document encoder for ``inference-free:MODEL:options``.

    Raises:
        WinnowError: without a model, or on an unknown option or bad value.
    """
    return InferenceFreeEncoder(require_model("inference-free", model), parse_options(options))


def load_query_encoder(config: dict, index_dir: Path) -> StaticQueryEncoder:
    """Load the query side from ``index_dir`` (needs only ``tokenizers`` and numpy)."""
    from tokenizers import Tokenizer

    index_dir = Path(index_dir)
    for name in (IDF_FILE, TOKENIZER_FILE):
        if not (index_dir / name).exists():
            raise IndexFormatError(f"index {index_dir} lacks {name}; rebuild it with the inference-free encoder")
    weights = np.load(index_dir / IDF_FILE)
    return StaticQueryEncoder(Tokenizer.from_file(str(index_dir / TOKENIZER_FILE)), weights, int(config["query_max_length"]))
