"""Integrity: a damaged index is refused, never a crash or a silent wrong answer (found defects 1-5)."""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from tests.index.conftest import scratch
from winnow.encode.registry import build_encoder
from winnow.errors import IndexFormatError, WinnowError
from winnow.index.commit import newest_commit
from winnow.index.lock import WriterLock
from winnow.index.reader import SparseIndex
from winnow.index.writer import build_index, open_writer
from winnow.retrieve.searcher import STRATEGIES, Searcher
from winnow.types import Document

SPEC = "bm25:workers=1"
DOCS = [Document("a", "apple banana"), Document("b", "banana cherry cherry"), Document("c", "apple delta"),
        Document("d", "echo apple")]
QUERIES = ["apple", "banana cherry delta"]
# Files whose damage keeps every structural invariant: only checksums (verify=True) can tell.
VERIFY_ONLY = ("impacts-", "raw.npy", "lengths.npy", "docstore.bin", "col-")


def tiny_index(path: Path) -> Path:
    """Two commits: a build, then a deletion (so a deletion bitmap exists too)."""
    build_index(DOCS, build_encoder(SPEC), path, spec=SPEC)
    with open_writer(path) as w:
        w.delete(["d"])
        w.commit()
    return path


def answers(path: Path, verify: bool) -> list:
    s = Searcher(path, verify=verify)
    out = []
    for q in QUERIES:
        for strategy in STRATEGIES:
            h = s.search(q, k=3, strategy=strategy)
            out.append((h.ids, h.scores.tolist()))
    out.append([s.index.document(int(d)) for d in s.search("apple", k=3).docnos])
    return out


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, list]:
    path = tiny_index(tmp_path_factory.mktemp("integrity") / "ix")
    return path, answers(path, verify=True)


def index_files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


@contextmanager
def damageable_copy(source: Path) -> Iterator[tuple[Path, set[str]]]:
    """A scratch copy of the index ``source`` and the names of the files its reader opens (the
    newest commit's files, the manifest and that commit)."""
    with scratch() as tmp:
        path = Path(tmp) / "ix"
        shutil.copytree(source, path)
        yield path, set(newest_commit(path)["files"]) | {"manifest.json", "commit-2.json"}


def test_every_flipped_byte_is_refused_or_answers_identically(pristine):
    """Damage fuzz: each byte of each file flipped in turn. With verify=True every flip is refused;
    without, a flip is refused or gives the same answers, except in the files only checksums guard."""
    source, expected = pristine
    with damageable_copy(source) as (path, named):
        for f in index_files(path):
            data = f.read_bytes()
            rel = f.relative_to(path).as_posix()
            step = 1 if rel in named else 7  # the previous commit's files: no reader opens them, sample
            for i in range(0, len(data), step):
                f.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:])
                try:
                    got = answers(path, verify=False)
                except IndexFormatError:
                    pass
                else:
                    assert got == expected or any(m in rel for m in VERIFY_ONLY), (rel, i)
                if rel in named:
                    with pytest.raises(IndexFormatError):
                        SparseIndex(path, verify=True)
            f.write_bytes(data)


def test_truncated_deleted_and_extra_files(pristine):
    source, expected = pristine
    with damageable_copy(source) as (path, named):
        for f in index_files(path):
            data = f.read_bytes()
            rel = f.relative_to(path).as_posix()
            for size in (0, len(data) // 2, len(data) - 1):
                f.write_bytes(data[:size])
                if rel in named:
                    with pytest.raises(IndexFormatError):
                        answers(path, verify=False)
                f.write_bytes(data)
            f.unlink()
            if rel == "commit-2.json":  # without its newest commit, the index is its previous commit
                assert Searcher(path, verify=True).index.generation == 1
            elif rel in named:
                with pytest.raises(IndexFormatError):
                    answers(path, verify=False)
            else:
                assert answers(path, verify=False) == expected
            f.write_bytes(data)
        for extra in ("NOTES.txt", "seg-0/extra.npy", "commit-x.json", "query-2/other.json"):
            (path / extra).parent.mkdir(exist_ok=True)
            (path / extra).write_bytes(b"\x93NUMPY junk")
        assert answers(path, verify=True) == expected


def rewrite_commit(path: Path, change) -> None:
    """Change the newest commit's JSON (keeping its recorded checksum: a damaged file)."""
    name = f"commit-{newest_commit(path)['generation']}.json"
    commit = json.loads((path / name).read_text())
    change(commit)
    (path / name).write_text(json.dumps(commit))


def test_defect1_a_changed_count_or_renamed_key_in_the_commit_is_refused(pristine, tmp_path):
    for change in (lambda c: c.update(n_docs=1), lambda c: c.update(fils=c.pop("files")),
                   lambda c: c["segments"][0].update(n_docs=1)):
        path = tmp_path / f"ix{id(change)}"
        shutil.copytree(pristine[0], path)
        rewrite_commit(path, change)
        with pytest.raises(IndexFormatError, match="checksum"):
            Searcher(path, verify=False)


def poke(path: Path, name: str, index: int, value) -> None:
    """Overwrite element ``index`` of a .npy array in place, keeping its dtype and size."""
    arr = np.load(path / name)
    arr[index] = value
    np.save(path / name, arr)


@pytest.mark.parametrize("name, index, value, kind", [
    ("docids.npy", 0, 10**6, "out of order or out of range"),  # a doc number beyond the segment
    ("indptr.npy", 1, 10**9, "indptr"),  # a pointer beyond the postings
    ("indptr.npy", 1, -5, "indptr"),
    ("doc_ids.idx.npy", 1, 1500, "checksum"),  # ids are small: checksummed on every open
    ("block_ptr.npy", 1, 10**6, "block"),
])
def test_defect2_damaged_arrays_are_refused_under_every_strategy(pristine, tmp_path, name, index, value, kind):
    path = tmp_path / "ix"
    shutil.copytree(pristine[0], path)
    poke(path / "seg-0", name, index, value)
    for strategy in STRATEGIES:
        with pytest.raises(IndexFormatError, match=kind):
            Searcher(path, verify=False).search("apple", k=3, strategy=strategy)


def test_defect2_an_impact_multiplied_by_100_is_refused_without_verify(pristine, tmp_path):
    path = tmp_path / "ix"
    shutil.copytree(pristine[0], path)
    seg = path / "seg-0"
    name = next(p.name for p in seg.glob("impacts-*.npy"))
    impacts = np.load(seg / name)
    for i in np.flatnonzero(impacts):  # (x 100 leaves a zero impact, of a term only deleted documents hold)
        poke(seg, name, i, impacts[i] * 100)
        with pytest.raises(IndexFormatError, match="maximum"):
            Searcher(path, verify=False)
        poke(seg, name, i, impacts[i])


def test_defect2_a_damaged_vocabulary_is_an_index_error(pristine, tmp_path):
    path = tmp_path / "ix"
    shutil.copytree(pristine[0], path)
    vocab = path / newest_commit(path)["vocabulary"]
    vocab.write_bytes(vocab.read_bytes()[:-1] + b"!")
    with pytest.raises(IndexFormatError, match="checksum"):
        Searcher(path, verify=False)


def test_defect3_a_reader_keeps_its_snapshot_while_the_index_is_rebuilt(tmp_path):
    path = tmp_path / "ix"
    build_index(DOCS, build_encoder(SPEC), path, spec=SPEC)
    old = Searcher(path, verify=False)
    before = old.search("apple banana", k=4)
    explained = old.explain("apple banana", int(before.docnos[0]))
    other = [Document(f"x{i}", "zulu yankee apple " * (i + 1)) for i in range(40)]
    for _ in range(3):  # rebuilds and garbage collection remove the old commit's files
        build_index(other, build_encoder(SPEC), path, spec=SPEC)
    again = old.search("apple banana", k=4)
    assert again.ids == before.ids and again.scores.tolist() == before.scores.tolist()
    assert old.explain("apple banana", int(before.docnos[0])) == explained  # its own vocabulary
    new = old.reopen()
    assert new is not old and new.index.n_docs == 40 and new.search("zulu", k=1).ids[0].startswith("x")
    assert new.reopen() is new


def test_defect4_rebuilds_keep_user_files_and_remove_leftovers(tmp_path):
    path = tmp_path / "ix"
    build_index(DOCS, build_encoder(SPEC), path, spec=SPEC)
    (path / "NOTES.txt").write_text("mine")
    (path / "results").mkdir()
    (path / "results" / "run.trec").write_text("q1 Q0 a 1 1.0 x\n")
    staging = tmp_path / ".ix.building-1234abcd"  # what a killed version-1 build left
    staging.mkdir()
    (staging / "big.npy").write_bytes(b"0" * 100)
    for _ in range(3):
        build_index(DOCS[:2], build_encoder(SPEC), path, spec=SPEC)
    assert (path / "NOTES.txt").read_text() == "mine" and (path / "results" / "run.trec").exists()
    assert not staging.exists()
    assert Searcher(path).index.n_docs == 2


def test_defect4_symlinks_dot_and_concurrent_writers(tmp_path, monkeypatch):
    target = tmp_path / "real"
    build_index(DOCS, build_encoder(SPEC), target, spec=SPEC)
    link = tmp_path / "link"
    link.symlink_to(target)
    build_index(DOCS[:1], build_encoder(SPEC), link, spec=SPEC)
    assert link.is_symlink() and Searcher(target).index.n_docs == 1  # written through to the target
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(WinnowError, match="does not exist"):
        build_index(DOCS, build_encoder(SPEC), dangling, spec=SPEC)
    monkeypatch.chdir(target)
    with pytest.raises(WinnowError, match="name the index folder"):
        build_index(DOCS, build_encoder(SPEC), ".", spec=SPEC)
    with open_writer(target):
        with pytest.raises(WinnowError, match="another writer|already has a writer"):
            build_index(DOCS, build_encoder(SPEC), target, spec=SPEC)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    first = WriterLock(fresh)  # a first build caught writing its folder manifest
    (fresh / "manifest.json.tmp").write_text("{")
    with pytest.raises(WinnowError, match="already has a writer"):
        build_index(DOCS, build_encoder(SPEC), fresh, spec=SPEC)
    first.release()
    (target / "write.lock").write_text("999999999")  # a writer that died: its lock is broken
    with open_writer(target) as w:
        w.delete(["a"])
        w.commit()


def test_defect5_prune_writes_a_new_commit_and_changes_no_file(pristine, tmp_path):
    from winnow.index.pruned import add_pruned_postings

    path = tmp_path / "ix"
    shutil.copytree(pristine[0], path)
    before = {p: p.read_bytes() for p in index_files(path) if not p.name.startswith("commit-1")}
    add_pruned_postings(path, 1)
    for p, data in before.items():
        assert not p.exists() or p.read_bytes() == data or p.name == "write.lock"
    assert newest_commit(path)["pruned"] == {"max_postings": 1}
    Searcher(path).search("apple", k=3, strategy="approx")


def test_a_version_1_index_is_refused_and_rebuilt_in_place(tmp_path):
    path = tmp_path / "ix"
    (path / "seg-0").mkdir(parents=True)
    (path / "seg-0" / "indptr.npy").write_bytes(b"old")
    (path / "vocab.json").write_text("[]")
    (path / "manifest.json").write_text(json.dumps({"format": "winnow-sparse-index", "format_version": 1,
                                                    "files": {"seg-0/indptr.npy": {}, "vocab.json": {}}}))
    with pytest.raises(IndexFormatError, match="version 1"):
        Searcher(path)
    build_index(DOCS, build_encoder(SPEC), path, spec=SPEC)
    assert Searcher(path).index.n_docs == 4 and not (path / "vocab.json").exists()
