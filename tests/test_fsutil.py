"""Durable atomic writes: the old bytes or the new ones, never a mix or a leftover temporary file."""

from __future__ import annotations

import pytest

from winnow.fsutil import replacing, write_atomic


def test_a_finished_write_replaces_the_file(tmp_path):
    path = tmp_path / "run.txt"
    path.write_text("old")
    with replacing(path) as tmp, open(tmp, "w") as f:
        assert tmp.parent == path.parent and tmp != path
        f.write("new")
    assert path.read_text() == "new"
    write_atomic(path, b"bytes")
    assert path.read_bytes() == b"bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "shard.npz"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with replacing(path) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard.npz"]


def test_a_writer_that_never_created_the_file_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        with replacing(tmp_path / "graph.onnx"):
            pass  # nothing written: there is nothing to rename into place
    assert list(tmp_path.iterdir()) == []
