"""Rerankers: later pipeline stages that reorder the hits of a run.

A spec names a reranker and its options, with the ``key=value`` rules of the encoder specs::

    rerank:MODEL[:depth=100,batch_size=32,backend=onnx,max_length=256,label=1,threads=4]
    llm:URL[:model=NAME,window=20,step=10,depth=100,api_key_env=VAR,timeout=60,retries=1,on_error=raise]

``rerank:`` is a cross-encoder (:class:`~winnow.rerank.cross_encoder.CrossEncoderReranker`),
``llm:`` a listwise LLM reranker behind an OpenAI-compatible endpoint
(:class:`~winnow.rerank.listwise.ListwiseReranker`).
"""

from __future__ import annotations

import importlib
import inspect
import typing
from dataclasses import dataclass, field

from winnow.encode.registry import spec_options
from winnow.errors import WinnowError

RERANKERS: dict[str, tuple[str, str]] = {
    "rerank": ("winnow.rerank.cross_encoder", "CrossEncoderReranker"),
    "llm": ("winnow.rerank.listwise", "ListwiseReranker"),
}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class RerankerSpec:
    """A parsed spec: ``kind:TARGET[:key=value,...]`` (``TARGET`` is a model or a URL)."""

    kind: str
    target: str
    options: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def parse(spec: str) -> "RerankerSpec":
        kind, _, rest = spec.partition(":")
        kind = kind.strip().lower()
        if kind not in RERANKERS:
            raise WinnowError(f"unknown reranker {kind!r} in {spec!r}; choose one of {', '.join(RERANKERS)}")
        parts = rest.split(":") if rest else []
        options = {}
        # The last part holds options if it has '=' (a model path or URL keeps its own ':').
        if len(parts) > 1 and "=" in parts[-1]:
            options = spec_options(parts.pop(), spec, "reranker")
        target = ":".join(parts).strip()
        if not target:
            raise WinnowError(f"{spec!r} names no {'model' if kind == 'rerank' else 'URL'}: write {kind}:"
                              f"{'MODEL' if kind == 'rerank' else 'URL'}[:key=value,...]")
        return RerankerSpec(kind, target, options)


def build_reranker(spec: str):
    """Build the reranker a spec names (see the module docstring for the options).

    Raises:
        WinnowError: for an unknown kind, an unknown option or a value of the wrong type.
    """
    parsed = RerankerSpec.parse(spec)
    module, name = RERANKERS[parsed.kind]
    cls = getattr(importlib.import_module(module), name)
    hints = typing.get_type_hints(cls.__init__)
    allowed = list(inspect.signature(cls).parameters)[1:]  # the first is the model or URL
    kwargs = {}
    for key, value in parsed.options.items():
        if key not in allowed:
            raise WinnowError(f"unknown option {key!r} for {parsed.kind}: in {spec!r}; choose from {', '.join(allowed)}")
        kwargs[key] = _convert(spec, key, value, hints[key])
    return cls(parsed.target, **kwargs)


def _convert(spec: str, key: str, value: str, hint) -> object:
    kinds = typing.get_args(hint) or (hint,)
    if value.lower() in ("", "none") and type(None) in kinds:
        return None
    for kind in kinds:
        if kind is bool:
            if value.lower() in _TRUE + _FALSE:
                return value.lower() in _TRUE
        elif kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                continue
        elif kind is str:
            return value
    names = "/".join(getattr(k, "__name__", str(k)) for k in kinds)
    raise WinnowError(f"option {key}={value!r} in {spec!r} must be {names}")
