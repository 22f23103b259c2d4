"""Damaged, foreign and incompatible index folders are refused loudly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from winnow.errors import IndexFormatError
from winnow.index.manifest import FORMAT_VERSION, check_replaceable, commit_folder, read_manifest, staging_folder
from winnow.index.reader import SparseIndex


@pytest.fixture
def index_copy(tiny_index, tmp_path) -> Path:
    return Path(shutil.copytree(tiny_index, tmp_path / "ix"))


def impacts_file(folder: Path) -> Path:
    return folder / "seg-0" / "impacts.npy"


def test_intact_index_loads(index_copy):
    assert SparseIndex(index_copy, verify=True).n_docs == 20


def test_flipped_byte_is_caught_by_verify(index_copy):
    path = impacts_file(index_copy)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # same size, different content
    path.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match="checksum mismatch"):
        SparseIndex(index_copy, verify=True)
    SparseIndex(index_copy, verify=False)  # sizes still match: only a checksum can tell


def test_truncated_file_is_caught_without_verify(index_copy):
    path = impacts_file(index_copy)
    path.write_bytes(path.read_bytes()[:-4])
    for verify in (True, False):
        with pytest.raises(IndexFormatError, match="impacts.npy: size"):
            SparseIndex(index_copy, verify=verify)


def test_missing_file(index_copy):
    impacts_file(index_copy).unlink()
    with pytest.raises(IndexFormatError, match="missing file seg-0/impacts.npy"):
        SparseIndex(index_copy, verify=False)


def edit_manifest(folder: Path, **changes) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def test_wrong_format_version_is_named(index_copy):
    edit_manifest(index_copy, format_version=FORMAT_VERSION + 98)
    with pytest.raises(IndexFormatError, match=f"format version {FORMAT_VERSION + 98} is not supported"):
        SparseIndex(index_copy)


def test_foreign_format(index_copy):
    edit_manifest(index_copy, format="lucene")
    with pytest.raises(IndexFormatError, match="not a winnow sparse index"):
        SparseIndex(index_copy)


def test_damaged_manifest(index_copy):
    (index_copy / "manifest.json").write_text("{not json")
    with pytest.raises(IndexFormatError, match="damaged manifest"):
        SparseIndex(index_copy)


def test_missing_manifest(index_copy, tmp_path):
    (index_copy / "manifest.json").unlink()
    with pytest.raises(IndexFormatError, match="not a winnow index \\(no manifest.json\\)"):
        SparseIndex(index_copy)
    with pytest.raises(IndexFormatError, match="not a winnow index"):
        read_manifest(tmp_path / "nowhere")


def test_missing_manifest_points_at_an_interrupted_rebuild(index_copy):
    old = index_copy.parent / f".{index_copy.name}.old-1234abcd"
    index_copy.rename(old)
    index_copy.mkdir()
    with pytest.raises(IndexFormatError, match="rename it back"):
        read_manifest(index_copy)


def test_commit_folder_replaces_atomically(index_copy, tmp_path):
    staging = staging_folder(index_copy)
    assert staging.parent == index_copy.parent and staging.name.startswith(f".{index_copy.name}.building-")
    shutil.copytree(index_copy, staging, dirs_exist_ok=True)
    (staging / "marker").write_text("new")
    commit_folder(staging, index_copy)
    assert (index_copy / "marker").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]  # no staging or old folder left


def test_check_replaceable(tmp_path, index_copy):
    check_replaceable(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty")
    check_replaceable(index_copy)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("x")
    with pytest.raises(IndexFormatError, match="refusing to overwrite"):
        check_replaceable(tmp_path / "docs")
