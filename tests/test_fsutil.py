"""Durable atomic writes: the old bytes or the new ones, never a mix or a leftover temporary file;
folders built beside their target, and what killed builds left."""

from __future__ import annotations

import os

import pytest

from winnow.fsutil import building, remove_stale_builds, replacing, write_atomic


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


def test_a_folder_built_beside_its_target_replaces_it_or_goes(tmp_path):
    out = tmp_path / "ix"
    with building(out) as staging:
        (staging / "a").write_text("1")
    assert (out / "a").read_text() == "1"
    with pytest.raises(RuntimeError), building(out) as staging:
        (staging / "a").write_text("2")
        raise RuntimeError("killed")
    with pytest.raises(ValueError), building(out, check=lambda target: int("not a number")) as staging:
        (staging / "a").write_text("3")
    assert (out / "a").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]


def test_only_folders_of_builds_whose_process_is_gone_are_removed(tmp_path):
    out = tmp_path / "ix"
    names = {f".ix.building-{os.getpid()}-a": True,  # this process still runs
             ".ix.building-99999999999999999999-b": False, ".ix.building-0-c": False,
             ".ix.building-1234abcd": False, ".ix.old-deadbeef": False,  # no process id: an older winnow's
             ".other.building-0-d": True}  # another target's
    for name in names:
        (tmp_path / name).mkdir()
    remove_stale_builds(out)
    assert {name: (tmp_path / name).exists() for name in names} == names
