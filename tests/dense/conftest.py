"""Tiny random sentence-transformers folders, built once per session (no model hub)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def save_sentence_transformer(bert: Path, out: Path, pooling="mean", normalize: bool = True, include_prompt=True,
                              prompts: dict | None = None, max_seq_length: int = 64) -> Path:
    """Wrap the tiny BERT in ``bert`` into a sentence-transformers folder saved by sentence-transformers."""
    st = pytest.importorskip("sentence_transformers")
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling

    transformer = Transformer(str(bert), max_seq_length=max_seq_length)
    modules = [transformer, Pooling(transformer.get_embedding_dimension(), pooling, include_prompt=include_prompt)]
    if normalize:
        modules.append(Normalize())
    st.SentenceTransformer(modules=modules, prompts=prompts or {}, device="cpu").save(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_st(tiny_mlm, tmp_path_factory) -> Path:
    """A sentence-transformers folder over the suite's tiny BERT: mean pooling, Normalize. Read-only."""
    return save_sentence_transformer(tiny_mlm, tmp_path_factory.mktemp("tiny-st") / "model")


@pytest.fixture
def tiny_st_copy(tiny_st, tmp_path) -> Path:
    """A private copy of :func:`tiny_st` that a test may change."""
    return Path(shutil.copytree(tiny_st, tmp_path / "model"))
