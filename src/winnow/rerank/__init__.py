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
from dataclasses import dataclass, field

from winnow.encode.options import typed_options
from winnow.encode.registry import split_spec
from winnow.errors import WinnowError

RERANKERS: dict[str, tuple[str, str]] = {
    "rerank": ("winnow.rerank.cross_encoder", "CrossEncoderReranker"),
    "llm": ("winnow.rerank.listwise", "ListwiseReranker"),
}


@dataclass(frozen=True)
class RerankerSpec:
    """A parsed spec: ``kind:TARGET[:key=value,...]`` (``TARGET`` is a model or a URL)."""

    kind: str
    target: str
    options: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def parse(spec: str) -> "RerankerSpec":
        kind, target, options = split_spec(spec, RERANKERS, "reranker", needs_target=True)
        target = (target or "").strip()
        if not target:
            raise WinnowError(f"{spec!r} names no {'model' if kind == 'rerank' else 'URL'}: write {kind}:"
                              f"{'MODEL' if kind == 'rerank' else 'URL'}[:key=value,...]")
        return RerankerSpec(kind, target, options)


def build_reranker(spec: str):
    """Build the reranker a spec names (see the module docstring for the options).

    Options are typed by the annotations of the reranker's constructor with
    :func:`~winnow.encode.options.typed_options`, the rules of the encoder specs.

    Raises:
        WinnowError: for an unknown kind, an unknown option or a value of the wrong type.
    """
    parsed = RerankerSpec.parse(spec)
    module, name = RERANKERS[parsed.kind]
    cls = getattr(importlib.import_module(module), name)
    parameters = list(inspect.signature(cls).parameters.values())[1:]  # the first is the model or URL
    types = {p.name: "str" if p.annotation is inspect.Parameter.empty else str(p.annotation) for p in parameters}
    return cls(parsed.target, **typed_options("reranker", parsed.options, types))
