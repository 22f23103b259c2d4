"""Paths and assertions shared by the corpus tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from winnow.errors import InputError

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny"
SHARED_BEIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "beir"


def assert_at(error: pytest.ExceptionInfo[InputError], path: Path, line: int | None) -> None:
    """Check that an InputError points at ``path`` (and ``line``) in its fields and its message."""
    assert error.value.path == str(path)
    assert error.value.line == line
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    assert str(error.value).startswith(where)
