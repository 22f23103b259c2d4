"""Encoder registry: a spec string such as ``bm25:k1=0.9,b=0.4`` names an encoder and its options.

Each kind maps to a module (imported only when used, so heavy extras stay optional)
that provides ``build_encoder(model, options) -> DocumentEncoder`` and
``load_query_encoder(config, index_dir) -> QueryEncoder``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from winnow.errors import WinnowError

ENCODERS: dict[str, str] = {
    "bm25": "winnow.encode.bm25",
    "splade": "winnow.encode.splade",
    "inference-free": "winnow.encode.inference_free",
    "dense": "winnow.dense.encoder",
    "vectors": "winnow.encode.vectors",
}


@dataclass(frozen=True)
class EncoderSpec:
    """A parsed spec: ``kind[:MODEL][:key=value,...]``.

    Examples: ``bm25``, ``bm25:k1=0.9,b=0.4,variant=robertson``,
    ``splade:naver/splade-v3``, ``inference-free:./model:prune_ratio=0.1``, ``vectors:./shards``.
    """

    kind: str
    model: str | None = None
    options: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def parse(spec: str) -> "EncoderSpec":
        return EncoderSpec(*split_spec(spec, ENCODERS, "encoder"))


def split_spec(spec: str, kinds, what: str, needs_target: bool = False) -> tuple[str, str | None, dict[str, str]]:
    """Split ``kind[:TARGET][:key=value,...]`` into its kind, its target (``None`` when absent) and its options.

    The last part holds the options when it has ``=`` (a model path or URL keeps its own ``:``);
    with ``needs_target`` a lone part is always the target.

    Raises:
        WinnowError: for a kind not in ``kinds`` or an option that is not ``key=value``.
    """
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind not in kinds:
        raise WinnowError(f"unknown {what} {kind!r} in {spec!r}; choose one of {', '.join(kinds)}")
    parts = rest.split(":") if rest else []
    options = {}
    if len(parts) > needs_target and "=" in parts[-1]:
        options = spec_options(parts.pop(), spec, what)
    return kind, ":".join(parts) if parts else None, options


def spec_options(text: str, spec: str, what: str) -> dict[str, str]:
    """The ``key=value,...`` part of a spec as a dict of strings (typed later by the component)."""
    options = {}
    for item in text.split(","):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise WinnowError(f"bad {what} option {item!r} in {spec!r}: expected key=value")
        options[key.strip()] = value.strip()
    return options


def _module(kind: str):
    if kind not in ENCODERS:
        raise WinnowError(f"unknown encoder {kind!r}; choose one of {', '.join(ENCODERS)}")
    return importlib.import_module(ENCODERS[kind])


def build_encoder(spec: str | EncoderSpec, **kwargs):
    """Build a document encoder from a spec string (extra keyword options override the spec's)."""
    spec = EncoderSpec.parse(spec) if isinstance(spec, str) else spec
    return _module(spec.kind).build_encoder(spec.model, {**spec.options, **kwargs})


def load_query_encoder(kind: str, config: dict, index_dir: Path):
    """Rebuild the query-side encoder of an index from its saved config."""
    return _module(kind).load_query_encoder(config, Path(index_dir))
