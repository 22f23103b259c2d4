"""Crashes and concurrency: a writer killed at any point leaves the previous commit readable and no
garbage after the next write; a reader reopening while a writer commits always sees one commit."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.index.conftest import scratch
from winnow.encode.registry import build_encoder
from winnow.index.commit import generations, load_commit
from winnow.index.writer import build_index, open_writer
from winnow.retrieve.searcher import Searcher
from winnow.types import Document

SPEC = "bm25:workers=1"
WORDS = "apple banana cherry delta echo fox golf hotel india juliet".split()
ROOT = Path(__file__).resolve().parents[2]


def docs(lo: int, hi: int, version: int = 0) -> list[Document]:
    rng = np.random.default_rng(version)
    return [Document(f"d{i}", " ".join(rng.choice(WORDS, 6))) for i in range(lo, hi)]


OPERATIONS = {  # each runs in a child process that is killed at a random moment
    "build": "build_index(docs(0, 600, 1), build_encoder(SPEC), path, spec=SPEC)",
    "add": "w = open_writer(path); w.add(docs(400, 900)); w.commit()",
    "delete": "w = open_writer(path); w.delete([f'd{i}' for i in range(0, 300, 2)]); w.commit()",
    "merge": "w = open_writer(path); w.merge(); w.commit()",
}


def answers(path: Path) -> list:
    s = Searcher(path)
    return [(h.ids, h.scores.tolist()) for h in (s.search(q, k=5) for q in ("apple banana", "golf", "echo fox india"))]


def start_state(path: Path) -> None:
    """Two segments, so that merge has work to do."""
    build_index(docs(0, 300), build_encoder(SPEC), path, spec=SPEC)
    with open_writer(path) as w:
        w.add(docs(300, 400))
        w.commit()


def child(op: str, path: Path) -> subprocess.Popen:
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "from pathlib import Path\n"
            "from tests.index.test_crash import *\n"
            f"path = Path({str(path)!r})\n"
            f"{OPERATIONS[op]}\n")
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def assert_no_garbage(path: Path) -> None:
    """Only the files the two newest commits name, their commit files and the manifest."""
    named = {"manifest.json"}
    for g in generations(path)[:2]:
        named |= set(load_commit(path, g)["files"]) | {f"commit-{g}.json"}
    present = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
    assert present <= named, present - named


@pytest.mark.parametrize("op", list(OPERATIONS))
def test_a_writer_killed_at_any_point(op):
    with scratch() as tmp:
        base = Path(tmp) / "base"
        start_state(base)
        before = answers(base)
        done = Path(tmp) / "done"
        shutil.copytree(base, done)
        exec(OPERATIONS[op], {**globals(), "path": done})
        after = answers(done)
        shutil.copytree(base, Path(tmp) / "timed")
        t0 = time.perf_counter()
        assert child(op, Path(tmp) / "timed").wait() == 0
        full = time.perf_counter() - t0  # the whole operation, process start included
        rng = np.random.default_rng(sum(map(ord, op)))
        for trial, delay in enumerate(rng.uniform(0.2, 1.0, 2) * full):
            path = Path(tmp) / f"trial{trial}"
            shutil.copytree(base, path)
            proc = child(op, path)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            assert answers(path) in (before, after)
            with open_writer(path) as w:  # the next write succeeds, stale lock and leftovers gone
                w.add([Document("zz", "kilo lima")])
                w.commit()
            assert Searcher(path).search("kilo", k=1).ids == ("zz",)
            assert_no_garbage(path)
            assert not (path / "write.lock").exists()


def test_a_reader_reopening_while_a_writer_commits_sees_only_commits():
    with scratch() as tmp:
        steps = [("add", docs(100 * i, 100 * i + 100, i)) for i in range(1, 6)] + \
            [("delete", [f"d{i}" for i in range(0, 600, 3)]), ("merge", None)]

        def run(path: Path, record: dict | None) -> None:
            for op, arg in steps:
                with open_writer(path) as w:
                    if op == "add":
                        w.add(arg)
                    elif op == "delete":
                        w.delete(arg)
                    else:
                        w.merge()
                    g = w.commit()
                if record is not None:
                    record[g] = answers(path)

        reference: dict[int, list] = {}
        build_index(docs(0, 100), build_encoder(SPEC), Path(tmp) / "ref", spec=SPEC)
        reference[1] = answers(Path(tmp) / "ref")
        run(Path(tmp) / "ref", reference)
        path = Path(tmp) / "live"
        build_index(docs(0, 100), build_encoder(SPEC), path, spec=SPEC)
        writer = threading.Thread(target=run, args=(path, None))
        searcher, seen = Searcher(path), set()
        writer.start()
        while writer.is_alive() or not seen or max(seen) < max(reference):
            searcher = searcher.reopen()
            g = searcher.index.generation
            got = [(h.ids, h.scores.tolist()) for h in (searcher.search(q, k=5) for q in
                                                       ("apple banana", "golf", "echo fox india"))]
            assert got == reference[g], g
            seen.add(g)
            if not writer.is_alive() and max(seen) == max(reference):
                break
        writer.join()
        assert max(seen) == max(reference)
