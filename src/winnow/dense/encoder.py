"""Dense encoder: texts in, one float32 vector each, as the model folder prescribes.

Texts get their prompt (query or document side), are tokenized with the model's fast tokenizer
(truncated to ``max_length``), sorted by length and cut into batches so that each batch pads
little, run through a backend (:mod:`winnow.dense.backends`) and put back in the caller's order.
With the same folder the vectors equal sentence-transformers' ``SentenceTransformer.encode``
(float32, to about 1e-6).

Example::

    enc = DenseEncoder("sentence-transformers/all-MiniLM-L6-v2", parse_dense_options({"backend": "onnx"}))
    docs = enc.encode_documents(documents)          # (n, 384), L2-normalised
    queries = enc.encode_queries(["what is bm25?"])
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from winnow.dense.layout import LATENT, detect_dense_layout, read_json
from winnow.dense.options import AUTO, DenseOptions, parse_dense_options
from winnow.encode.model_layout import load_tokenizer, resolve_model, token_limit
from winnow.errors import WinnowError
from winnow.types import Document

logger = logging.getLogger(__name__)


def _tokenizer_config(folder: Path) -> dict:
    path = folder / "tokenizer_config.json"
    return read_json(path) if path.exists() else {}


class DenseEncoder:
    """A dense bi-encoder read from a folder or a Hugging Face id.

    Args:
        model: Local folder or Hugging Face id.
        options: Validated options (defaults when ``None``).

    Attributes:
        layout: What the folder holds (:class:`~winnow.dense.layout.DenseLayout`).
        pooling: Pooling modes in use.
        normalize: Whether vectors are L2-normalised (scores are then cosines).
    """

    kind = "dense"

    def __init__(self, model: str, options: DenseOptions | None = None):
        self.model = str(model)
        self.options = options or DenseOptions()
        o = self.options
        self.layout = detect_dense_layout(resolve_model(self.model))
        layout = self.layout
        self.pooling = layout.pooling if o.pooling == AUTO else (o.pooling,)
        if self.pooling == (LATENT,) and layout.latent_dir is None:
            raise WinnowError(f"model {layout.root} has no saved LatentAttentionPooling module; pick another pooling")
        self.normalize = (layout.normalize or layout.similarity == "cosine") if o.normalize == AUTO \
            else o.normalize == "true"
        self.include_prompt = layout.include_prompt if o.include_prompt == AUTO else o.include_prompt == "true"
        self.prompts = {side: getattr(o, f"{side}_prompt") or (layout.prompt(side) if o.model_prompts else "")
                        for side in ("query", "document")}
        self.max_length = o.max_length or token_limit(layout.transformer_dir)
        self.query_max_length = o.query_max_length or self.max_length
        self.tokenizer = load_tokenizer(layout.transformer_dir)
        tokenizer_config = _tokenizer_config(layout.transformer_dir)
        self.padding_side = tokenizer_config.get("padding_side", "right") if o.padding_side == AUTO else o.padding_side
        self.pad_id = self._pad_id(tokenizer_config)
        self._prompt_lengths: dict[str, int] = {}
        self._backend = None

    def _pad_id(self, tokenizer_config: dict) -> int:
        pad = tokenizer_config.get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        token_id = self.tokenizer.token_to_id(pad) if isinstance(pad, str) else None
        return int(token_id) if token_id is not None else 0

    @property
    def backend(self):
        """The torch or ONNX backend, loaded on first use."""
        if self._backend is None:
            o = self.options
            if o.backend == "onnx":
                from winnow.dense.backends import OnnxDenseBackend

                self._backend = OnnxDenseBackend(self.layout, self.pooling, self.normalize, o.n_threads, o.quantize)
            else:
                from winnow.dense.backends import TorchDenseBackend

                self._backend = TorchDenseBackend(self.layout, self.pooling, self.normalize, o.n_threads, o.precision,
                                                  o.device)
        return self._backend

    def config(self) -> dict:
        """What rebuilds this encoder (saved in the index manifest)."""
        return {"model": self.model, "layout": self.layout.layout, "pooling": list(self.pooling),
                "normalize": self.normalize, "max_length": self.max_length, "prompts": self.prompts,
                "include_prompt": self.include_prompt, "options": self.options.to_json()}

    @staticmethod
    def from_config(config: dict, **overrides) -> "DenseEncoder":
        """The encoder an index was built with (``overrides`` change runtime options such as the backend)."""
        return DenseEncoder(config["model"], parse_dense_options({**config["options"], **overrides}))

    def prompt_length(self, prompt: str) -> int:
        """Tokens the prompt takes at the start of a text, without its trailing special token."""
        if prompt not in self._prompt_lengths:
            self.tokenizer.no_truncation()
            ids = self.tokenizer.encode(prompt.lower() if self.layout.do_lower_case else prompt).ids
            special = {i for i, t in self.tokenizer.get_added_tokens_decoder().items() if t.special}
            self._prompt_lengths[prompt] = len(ids) - (1 if ids and ids[-1] in special else 0)
        return self._prompt_lengths[prompt]

    def pad(self, encodings: Sequence, prompt_tokens: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """int64 ``input_ids``, ``attention_mask`` and ``pool_mask`` (``prompt_tokens`` leading tokens
        of each text zeroed) padded on :attr:`padding_side`."""
        lengths = [len(e.ids) for e in encodings]
        width = max(lengths)
        input_ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros_like(input_ids)
        pool_mask = np.zeros_like(input_ids)
        left = self.padding_side == "left"
        for row, (encoding, n) in enumerate(zip(encodings, lengths)):
            start = width - n if left else 0
            input_ids[row, start:start + n] = encoding.ids
            mask[row, start:start + n] = 1
            pool_mask[row, start + min(prompt_tokens, n):start + n] = 1
        return input_ids, mask, pool_mask

    def encode(self, texts: Sequence[str], side: str = "document",
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        """``(len(texts), dim)`` float32 vectors, in the order of ``texts``.

        Args:
            texts: Raw texts; the ``side``'s prompt is put before each.
            side: ``query`` or ``document`` (prompt and length limit).
            progress: Called with the number of texts done so far after each batch.
        """
        if side not in ("query", "document"):
            raise WinnowError(f"side must be 'query' or 'document', got {side!r}")
        prompt = self.prompts[side]
        prompt_tokens = 0 if self.include_prompt or not prompt else self.prompt_length(prompt)
        full = [prompt + t for t in texts]
        if self.layout.do_lower_case:
            full = [t.lower() for t in full]
        self.tokenizer.enable_truncation(self.query_max_length if side == "query" else self.max_length)
        encodings = self.tokenizer.encode_batch(full, add_special_tokens=True)
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")  # longest first: memory peaks early
        out: np.ndarray | None = None
        size, done = self.options.batch_size, 0
        for lo in range(0, len(order), size):
            chunk = order[lo:lo + size]
            vectors = self.backend(*self.pad([encodings[i] for i in chunk], prompt_tokens))
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[chunk] = vectors
            done += len(chunk)
            if progress is not None:
                progress(done)
        return out if out is not None else np.zeros((0, self.dimension), dtype=np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts, "query")

    def encode_documents(self, docs: Sequence[Document], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors of ``docs`` (``title + " " + text``)."""
        return self.encode([d.full_text for d in docs], "document", progress)

    @property
    def dimension(self) -> int:
        """Length of the vectors (one forward pass on a one-token text the first time)."""
        if not hasattr(self, "_dimension"):
            self._dimension = int(self.encode(["a"], "document").shape[1])
        return self._dimension


def build_encoder(model: str | None, options: dict) -> DenseEncoder:
    """The registry hook: ``dense:MODEL[:options]``."""
    if not model:
        raise WinnowError("the dense encoder needs a model: dense:MODEL (a folder or a Hugging Face id)")
    return DenseEncoder(model, parse_dense_options(options))
