"""A tiny random MLM to train (no model hub)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny_models import build_tiny_mlm


@pytest.fixture(scope="session")
def tiny_mlm(tmp_path_factory) -> Path:
    """A random 2-layer BertForMaskedLM (see :func:`tests.tiny_models.build_tiny_mlm`)."""
    pytest.importorskip("torch")
    return build_tiny_mlm(tmp_path_factory.mktemp("tiny-mlm"))
