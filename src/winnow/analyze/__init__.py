"""Analyzers: text -> terms. The config is saved with the index so queries match documents."""

from __future__ import annotations

from pathlib import Path

from winnow.analyze.subword import SubwordAnalyzer
from winnow.analyze.word import WordAnalyzer, WordAnalyzerConfig
from winnow.errors import WinnowError

__all__ = ["WordAnalyzer", "WordAnalyzerConfig", "SubwordAnalyzer", "analyzer_from_dict"]


def analyzer_from_dict(d: dict, folder: Path | None = None):
    """Rebuild an analyzer from its saved config (``folder`` resolves a saved tokenizer)."""
    kind = d.get("kind")
    if kind == "word":
        return WordAnalyzer.from_dict(d)
    if kind == "subword":
        return SubwordAnalyzer.from_dict(d, folder)
    raise WinnowError(f"unknown analyzer kind {kind!r}")
