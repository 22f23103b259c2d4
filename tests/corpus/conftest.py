"""Fixtures shared by the corpus tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .helpers import TINY


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A private copy of the tiny BEIR folder (20 docs, 7 queries, qrels/test.tsv)."""
    return Path(shutil.copytree(TINY, tmp_path / "tiny"))
