"""Options of the learned sparse encoders, parsed from ``key=value`` strings and saved as JSON.

The CLI passes ``splade:MODEL:batch_size=64,backend=onnx`` as strings; :func:`parse_options`
validates them into an immutable :class:`EncoderOptions` whose ``to_json`` is stored in the
index manifest so queries are encoded the way documents were.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from winnow.errors import WinnowError

BACKENDS = ("torch", "onnx")
QUANTIZATIONS = ("none", "int8")
POOLINGS = ("auto", "max", "sum")
IDF_SOURCES = ("auto", "model", "corpus")
PRECISIONS = ("float32", "bfloat16")


@dataclass(frozen=True)
class EncoderOptions:
    """Settings shared by the SPLADE and inference-free encoders.

    Attributes:
        backend: ``torch`` or ``onnx`` (ONNX Runtime, exported once and cached).
        quantize: ``none`` or ``int8`` (dynamic int8 quantisation; ONNX backend only).
        precision: ``float32`` or ``bfloat16`` for the vocabulary projection (torch backend
            only; about 3x faster on CPUs with AVX512-BF16 or AMX, weights differ by ~1e-2).
        batch_size: Documents per forward pass.
        threads: Intra-op threads (0: all cores).
        top_k: Keep at most this many terms per document (0: no limit).
        prune_ratio: Drop weights below ``prune_ratio * max weight`` of the document.
        doc_max_length: Tokens per document, special tokens included.
        query_max_length: Tokens per query; 0 picks the encoder's default (64 for SPLADE; the
            tokenizer's ``model_max_length`` for inference-free queries, as sentence-transformers'
            ``SparseStaticEmbedding`` does).
        pooling: ``max`` (SPLADE v2+) or ``sum`` (SPLADE v1) over tokens; ``auto`` takes the
            model's saved ``SpladePooling`` setting, or ``max``.
        idf: Inference-free query weights: ``model`` (``idf.json`` or static embedding),
            ``corpus`` (Lucene IDF of the indexed corpus) or ``auto`` (model when present).
    """

    backend: str = "torch"
    quantize: str = "none"
    precision: str = "float32"
    batch_size: int = 32
    threads: int = 0
    top_k: int = 0
    prune_ratio: float = 0.0
    doc_max_length: int = 256
    query_max_length: int = 0
    pooling: str = "auto"
    idf: str = "auto"

    def __post_init__(self) -> None:
        choices = {"backend": BACKENDS, "quantize": QUANTIZATIONS, "precision": PRECISIONS, "pooling": POOLINGS, "idf": IDF_SOURCES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise WinnowError(f"encoder option {name}={getattr(self, name)!r}: choose one of {', '.join(allowed)}")
        for name in ("batch_size", "doc_max_length"):
            if getattr(self, name) < 1:
                raise WinnowError(f"encoder option {name} must be at least 1, got {getattr(self, name)}")
        if min(self.threads, self.top_k, self.query_max_length) < 0:
            raise WinnowError("encoder options threads, top_k and query_max_length must be >= 0")
        if not 0.0 <= self.prune_ratio < 1.0:
            raise WinnowError(f"encoder option prune_ratio must be in [0, 1), got {self.prune_ratio}")
        if self.quantize == "int8" and self.backend != "onnx":
            raise WinnowError("encoder option quantize=int8 needs backend=onnx")
        if self.precision != "float32" and self.backend != "torch":
            raise WinnowError("encoder option precision=bfloat16 needs backend=torch")

    @property
    def n_threads(self) -> int:
        """Thread count to use: ``threads``, or every available core when it is 0."""
        if self.threads:
            return self.threads
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def _convert(name: str, kind: type, value: str):
    if kind is bool:
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise WinnowError(f"encoder option {name}={value!r}: expected true or false")
    try:
        return kind(value)
    except ValueError:
        raise WinnowError(f"encoder option {name}={value!r}: expected {kind.__name__}") from None


def parse_options(options: dict[str, object]) -> EncoderOptions:
    """Validate ``key=value`` options (strings from a spec, or typed values from Python).

    Raises:
        WinnowError: on an unknown key (the message lists the valid ones) or a bad value.
    """
    fields = {f.name: f for f in dataclasses.fields(EncoderOptions)}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise WinnowError(f"unknown encoder option(s) {', '.join(unknown)}; valid options: {', '.join(fields)}")
    types = {"str": str, "int": int, "float": float, "bool": bool}
    values = {}
    for key, value in options.items():
        kind = types[fields[key].type]
        values[key] = _convert(key, kind, value) if isinstance(value, str) and kind is not str else value
    return EncoderOptions(**values)
