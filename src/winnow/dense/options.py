"""Options of the dense encoder, parsed from ``key=value`` strings and saved as JSON.

``dense:MODEL:backend=onnx,batch_size=64`` carries them as strings; :func:`parse_dense_options`
validates them into an immutable :class:`DenseOptions` whose ``to_json`` goes into the index
manifest, so queries are encoded the way the documents were.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from winnow.dense.layout import LATENT, POOLINGS
from winnow.encode.options import BACKENDS, PRECISIONS, QUANTIZATIONS, cpu_threads, field_types, typed_options
from winnow.errors import WinnowError

AUTO = "auto"
SWITCHES = (AUTO, "true", "false")
PADDING_SIDES = (AUTO, "left", "right")


@dataclass(frozen=True)
class DenseOptions:
    """How a dense encoder runs.

    Attributes:
        backend: ``torch`` or ``onnx`` (the pooled model exported once and cached).
        quantize: ``none`` or ``int8`` (dynamic int8 weights; ONNX only; vectors change by ~1e-2).
        precision: ``float32`` or ``bfloat16`` (torch only).
        batch_size: Texts per forward pass; batches are cut from texts sorted by length.
        threads: Intra-op threads (0: every core).
        max_length: Tokens per document, special tokens included (0: the model's
            ``max_seq_length``, else the tokenizer's limit).
        query_max_length: Tokens per query (0: as documents).
        pooling: ``auto`` (what the model folder says; ``mean`` for a plain encoder), or one of
            ``mean``, ``cls``, ``max``, ``lasttoken``, ``weightedmean``, ``mean_sqrt_len_tokens``.
        normalize: ``auto`` (L2-normalise when the model has a ``Normalize`` module or scores by
            cosine, sentence-transformers' default), ``true`` or ``false`` (inner product).
        query_prompt: Text put before each query (overrides the model's ``query`` prompt).
        document_prompt: Text put before each document (overrides its ``document`` prompt).
        model_prompts: Use the prompts saved with the model when none is given here.
        include_prompt: ``auto`` (the model's ``Pooling.include_prompt``), ``true`` or ``false``
            (the prompt's tokens are seen by the model but left out of the pool).
        padding_side: ``auto`` (the tokenizer's), ``left`` or ``right``.
    """

    backend: str = "torch"
    quantize: str = "none"
    precision: str = "float32"
    batch_size: int = 32
    threads: int = 0
    max_length: int = 0
    query_max_length: int = 0
    pooling: str = AUTO
    normalize: str = AUTO
    query_prompt: str = ""
    document_prompt: str = ""
    model_prompts: bool = True
    include_prompt: str = AUTO
    padding_side: str = AUTO

    def __post_init__(self) -> None:
        choices = {"backend": BACKENDS, "quantize": QUANTIZATIONS, "precision": PRECISIONS,
                   "pooling": (AUTO, *POOLINGS, LATENT), "normalize": SWITCHES, "include_prompt": SWITCHES,
                   "padding_side": PADDING_SIDES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise WinnowError(f"dense option {name}={getattr(self, name)!r}: choose one of {', '.join(allowed)}")
        if self.batch_size < 1:
            raise WinnowError(f"dense option batch_size must be at least 1, got {self.batch_size}")
        if min(self.threads, self.max_length, self.query_max_length) < 0:
            raise WinnowError("dense options threads, max_length and query_max_length must be >= 0")
        if self.quantize == "int8" and self.backend != "onnx":
            raise WinnowError("dense option quantize=int8 needs backend=onnx")
        if self.precision != "float32" and self.backend != "torch":
            raise WinnowError("dense option precision=bfloat16 needs backend=torch")

    @property
    def n_threads(self) -> int:
        """Thread count to use: ``threads``, or every available core when it is 0."""
        return cpu_threads(self.threads)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def parse_dense_options(options: dict[str, object]) -> DenseOptions:
    """Validate ``key=value`` options (strings from a spec, or typed values from Python).

    Raises:
        WinnowError: on an unknown key (the message lists the valid ones) or a bad value.
    """
    return DenseOptions(**typed_options("dense", options, field_types(DenseOptions)))
