"""Encoder options from ``key=value`` strings: the one parser, and the learned encoders' options.

A spec such as ``splade:MODEL:batch_size=64,backend=onnx`` or ``bm25:k1=1.2,lowercase=off``
carries options as strings; :func:`typed_options` converts them by the annotations of the
dataclass they configure, with the same rules for every encoder. :func:`parse_options`
validates the learned encoders' options into an immutable :class:`EncoderOptions` whose
``to_json`` is stored in the index manifest so queries are encoded the way documents were.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import ClassVar

from winnow.errors import WinnowError

BACKENDS = ("torch", "onnx")
QUANTIZATIONS = ("none", "int8")
POOLINGS = ("auto", "max", "sum")
IDF_SOURCES = ("auto", "model", "corpus")
PRECISIONS = ("float32", "bfloat16")
DEVICES = ("cpu", "cuda")


def check_device(what: str, device: str, backend: str) -> None:
    """Refuse a ``device`` that is not one of :data:`DEVICES`, or a GPU for a backend other than torch.

    Args:
        what: names the model in messages (``encoder``, ``cross-encoder``, ...).
    """
    if device not in DEVICES:
        raise WinnowError(f"{what} option device={device!r}: choose one of {', '.join(DEVICES)}")
    if device != "cpu" and backend != "torch":
        raise WinnowError(f"{what} option device={device} needs backend=torch")


@dataclass(frozen=True)
class RuntimeOptions:
    """How a transformer encoder runs; the first fields of every learned encoder's options.

    Attributes:
        backend: ``torch`` or ``onnx`` (ONNX Runtime, exported once and cached).
        quantize: ``none`` or ``int8`` (dynamic int8 quantisation; ONNX backend only).
        precision: ``float32`` or ``bfloat16`` (torch backend only).
        batch_size: Texts per forward pass.
        threads: Intra-op threads (0: all cores).
        device: ``cpu`` or ``cuda`` (torch backend only). Where this process runs the model, not a
            property of the vectors: it is left out of :meth:`to_json`, so an index encoded on a GPU
            encodes its queries on the CPU unless asked otherwise.
    """

    what: ClassVar[str] = "encoder"  # names the options in messages

    backend: str = "torch"
    quantize: str = "none"
    precision: str = "float32"
    batch_size: int = 32
    threads: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        self.check_choices({"backend": BACKENDS, "quantize": QUANTIZATIONS, "precision": PRECISIONS})
        check_device(self.what, self.device, self.backend)
        if self.batch_size < 1:
            raise WinnowError(f"{self.what} option batch_size must be at least 1, got {self.batch_size}")
        if self.threads < 0:
            raise WinnowError(f"{self.what} option threads must be >= 0, got {self.threads}")
        if self.quantize == "int8" and self.backend != "onnx":
            raise WinnowError(f"{self.what} option quantize=int8 needs backend=onnx")
        if self.precision != "float32" and self.backend != "torch":
            raise WinnowError(f"{self.what} option precision=bfloat16 needs backend=torch")

    def check_choices(self, choices: dict[str, tuple[str, ...]]) -> None:
        """Refuse a field whose value is not one of its ``choices``."""
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise WinnowError(f"{self.what} option {name}={getattr(self, name)!r}: "
                                  f"choose one of {', '.join(allowed)}")

    @property
    def n_threads(self) -> int:
        """Thread count to use: ``threads``, or every available core when it is 0."""
        return cpu_threads(self.threads)

    def to_json(self) -> dict:
        out = dataclasses.asdict(self)
        del out["device"]
        return out


@dataclass(frozen=True)
class EncoderOptions(RuntimeOptions):
    """Settings shared by the SPLADE and inference-free encoders (and those of :class:`RuntimeOptions`).

    Attributes:
        precision: ``float32`` or ``bfloat16`` for the vocabulary projection (about 3x faster on
            CPUs with AVX512-BF16 or AMX, weights differ by ~1e-2).
        top_k: Keep at most this many terms per document (0: no limit).
        prune_ratio: Drop weights below ``prune_ratio * max weight`` of the document.
        doc_max_length: Tokens per document, special tokens included; 0 (the default) reads as
            many as the model takes (its ``max_seq_length``, else its tokenizer's and position
            embeddings' limit, as sentence-transformers does): most BEIR documents are longer than
            256 tokens.
        query_max_length: Tokens per query; 0 picks the encoder's default (64 for SPLADE; the
            tokenizer's ``model_max_length`` for inference-free queries, as sentence-transformers'
            ``SparseStaticEmbedding`` does).
        pooling: ``max`` (SPLADE v2+) or ``sum`` (SPLADE v1) over tokens; ``auto`` takes the
            model's saved ``SpladePooling`` setting, or ``max``.
        idf: Inference-free query weights: ``model`` (``idf.json`` or static embedding),
            ``corpus`` (Lucene IDF of the indexed corpus) or ``auto`` (model when present).
    """

    top_k: int = 0
    prune_ratio: float = 0.0
    doc_max_length: int = 0
    query_max_length: int = 0
    pooling: str = "auto"
    idf: str = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_choices({"pooling": POOLINGS, "idf": IDF_SOURCES})
        if min(self.top_k, self.doc_max_length, self.query_max_length) < 0:
            raise WinnowError("encoder options top_k, doc_max_length and query_max_length must be >= 0")
        if not 0.0 <= self.prune_ratio < 1.0:
            raise WinnowError(f"encoder option prune_ratio must be in [0, 1), got {self.prune_ratio}")


def cpu_threads(threads: int) -> int:
    """``threads``, or every core this process may run on when it is 0."""
    if threads:
        return threads
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def field_types(cls) -> dict[str, str]:
    """Each field of dataclass ``cls`` and its annotation as a string (``"int"``, ``"str | None"``...)."""
    return {f.name: f.type if isinstance(f.type, str) else f.type.__name__ for f in dataclasses.fields(cls)}


def option_value(what: str, name: str, value: object, annotation: str) -> object:
    """Convert one ``key=value`` string to the type ``annotation`` names; typed values pass unchanged.

    ``bool`` takes ``true/false``, ``yes/no``, ``on/off`` or ``1/0``; ``none`` (or nothing) means
    ``None`` where the annotation allows it; ``int`` and ``float`` use Python's parsers.

    Raises:
        WinnowError: naming the option and the type expected.
    """
    if not isinstance(value, str):
        return value
    kinds = [k.strip() for k in annotation.split("|")]
    if "None" in kinds and value.lower() in ("none", ""):
        return None
    if "bool" in kinds:
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise WinnowError(f"{what} option {name}={value!r}: expected true or false")
    for kind, convert in (("int", int), ("float", float)):
        if kind in kinds:
            try:
                return convert(value)
            except ValueError:
                raise WinnowError(f"{what} option {name}={value!r}: expected {kind}") from None
    return value


def typed_options(what: str, options: dict[str, object], types: dict[str, str]) -> dict[str, object]:
    """Convert ``options`` (strings from a spec, or typed values from Python) by ``types``.

    Args:
        what: The encoder named in messages (``encoder``, ``bm25``...).
        options: ``key -> value``.
        types: ``key -> annotation`` of every valid key (see :func:`field_types`).

    Raises:
        WinnowError: on an unknown key (the message lists the valid ones) or a bad value.
    """
    unknown = sorted(set(options) - set(types))
    if unknown:
        raise WinnowError(f"unknown {what} option(s) {', '.join(unknown)}; valid options: {', '.join(types)}")
    return {key: option_value(what, key, value, types[key]) for key, value in options.items()}


def parse_options(options: dict[str, object]) -> EncoderOptions:
    """Validate ``key=value`` options (strings from a spec, or typed values from Python).

    Raises:
        WinnowError: on an unknown key (the message lists the valid ones) or a bad value.
    """
    return EncoderOptions(**typed_options("encoder", options, field_types(EncoderOptions)))
