"""Options of the dense encoder, parsed from ``key=value`` strings and saved as JSON.

``dense:MODEL:backend=onnx,batch_size=64`` carries them as strings; :func:`parse_dense_options`
validates them into an immutable :class:`DenseOptions` whose ``to_json`` goes into the index
manifest, so queries are encoded the way the documents were.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from winnow.dense.layout import LATENT, POOLINGS
from winnow.encode.options import RuntimeOptions, field_types, typed_options
from winnow.errors import WinnowError

AUTO = "auto"
SWITCHES = (AUTO, "true", "false")
PADDING_SIDES = (AUTO, "left", "right")


@dataclass(frozen=True)
class DenseOptions(RuntimeOptions):
    """How a dense encoder runs (beside the settings of :class:`~winnow.encode.options.RuntimeOptions`).

    Attributes:
        backend: ``torch`` or ``onnx`` (the pooled model exported once and cached).
        quantize: ``none`` or ``int8`` (dynamic int8 weights; ONNX only; vectors change by ~1e-2).
        batch_size: Texts per forward pass; batches are cut from texts sorted by length.
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

    what: ClassVar[str] = "dense"

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
        super().__post_init__()
        self.check_choices({"pooling": (AUTO, *POOLINGS, LATENT), "normalize": SWITCHES, "include_prompt": SWITCHES,
                            "padding_side": PADDING_SIDES})
        if min(self.max_length, self.query_max_length) < 0:
            raise WinnowError("dense options max_length and query_max_length must be >= 0")


def parse_dense_options(options: dict[str, object]) -> DenseOptions:
    """Validate ``key=value`` options (strings from a spec, or typed values from Python).

    Raises:
        WinnowError: on an unknown key (the message lists the valid ones) or a bad value.
    """
    return DenseOptions(**typed_options("dense", options, field_types(DenseOptions)))
