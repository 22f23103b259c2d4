"""Kernels import numba only when one first runs compiled, and interpreted they answer the same."""

from __future__ import annotations

import os
import subprocess
import sys

SEARCH = """
import sys
import numpy as np
from winnow import jit
from winnow.retrieve import kernels

def top3():
    indptr = np.array([0, 3, 5], np.int64)
    docids, impacts = np.array([0, 2, 4, 1, 2], np.int32), np.array([1, 3, 2, 5, 1], np.float32)
    terms, weights = np.array([0, 1], np.int32), np.array([1.0, 0.5], np.float32)
    acc, seen, touched = np.zeros(5, np.float32), np.zeros(5, np.uint8), np.zeros(5, np.int32)
    hs, hd, docs, scores = np.empty(3, np.float32), np.empty(3, np.int32), np.empty(3, np.int32), np.empty(3, np.float32)
    n = kernels.topk_exhaustive(indptr, docids, impacts, terms, weights, 3, np.empty(0, np.uint8), acc, seen, touched,
                                hs, hd, docs, scores)
    return docs[:n].tolist(), scores[:n].tolist()

with jit.interpreted():
    interpreted = top3()
    assert "numba" not in sys.modules, "an interpreted kernel imported numba"
compiled = top3()  # topk_exhaustive calls offer_exhaustive, which calls heap_offer: all compiled
assert "numba" in sys.modules
assert compiled == interpreted == ([2, 1, 4], [3.5, 2.5, 2.0]), (compiled, interpreted)
"""


def run(code: str) -> None:
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_DISABLE_JIT"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_defining_kernels_imports_no_numba():
    run("import sys\nimport winnow.retrieve.searcher, winnow.index.checks, winnow.fuse.kernels\n"
        "assert 'numba' not in sys.modules")


def test_interpreted_and_compiled_kernels_agree_and_only_compiled_ones_import_numba():
    run(SEARCH)
