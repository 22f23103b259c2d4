"""Fixtures shared by the whole suite: the tiny BEIR corpus, a built index, shared data, test encoders."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from tests.tiny_models import build_tiny_mlm
from winnow.types import Document, SparseBatch

TINY = Path(__file__).resolve().parent / "data" / "tiny"


@pytest.fixture(scope="session")
def tiny_beir() -> Path:
    """The tiny BEIR folder (20 docs, 7 queries, qrels/test.tsv). Read-only: copy before changing it."""
    return TINY


@pytest.fixture(scope="session")
def tiny_mlm(tmp_path_factory) -> Path:
    """A random 2-layer BertForMaskedLM (see :func:`tests.tiny_models.build_tiny_mlm`)."""
    pytest.importorskip("torch")
    return build_tiny_mlm(tmp_path_factory.mktemp("tiny-mlm"))


@pytest.fixture(scope="session")
def tiny_index(tmp_path_factory) -> Path:
    """A default BM25 index of the tiny corpus, built once per session. Read-only."""
    from winnow.api import index_corpus

    out = tmp_path_factory.mktemp("tiny-index") / "bm25"
    index_corpus(TINY, out, "bm25")
    return out


@pytest.fixture(scope="session")
def shared_beir() -> Path:
    """The shared BEIR datasets (scifact, nfcorpus) beside the repository; skips when absent."""
    path = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "beir"
    if not path.is_dir():
        pytest.skip(f"shared BEIR data not found at {path} (expected ../shared/data/beir next to the repository)")
    return path


class VectorEncoder:
    """A test DocumentEncoder that emits given sparse vectors: document ``i`` gets ``rows[i]``.

    Each row is ``{term_id: impact}``; impacts pass through :meth:`finalize` unchanged, so an
    index built with it holds exactly the postings the test chose. Its kind is ``bm25`` because
    that query side (a bag of known terms, weight = count) is generic: the text query
    ``"t3 t3 t7"`` is the vector ``{3: 2, 7: 1}`` over the vocabulary ``t0, t1, ...``.
    """

    kind = "bm25"
    n_columns = 1
    analyzer = {"kind": "word", "stemmer": None, "stopwords": "none", "possessive": False}

    def __init__(self, rows: Sequence[dict[int, float]], n_terms: int, fail_at: int | None = None):
        self.rows, self.n_terms, self.fail_at = rows, n_terms, fail_at

    def config(self) -> dict:
        return {"analyzer": self.analyzer, "test_vectors": self.n_terms}

    def vocabulary(self) -> list[str]:
        return [f"t{i}" for i in range(self.n_terms)]

    def encode_documents(self, docs: Sequence[Document]) -> SparseBatch:
        out = []
        for doc in docs:
            i = int(doc.id)
            if self.fail_at is not None and i >= self.fail_at:
                raise RuntimeError(f"encoder failure at document {i}")
            row = self.rows[i]
            terms = np.array(sorted(row), dtype=np.int32)
            out.append((terms, np.array([row[t] for t in terms.tolist()], dtype=np.float32)))
        return SparseBatch.from_rows(out)

    def finalize(self, postings, out_dir: Path) -> np.ndarray:
        return np.asarray(postings.raw[:, 0], dtype=np.float32)


def vector_docs(n: int) -> list[Document]:
    """Documents whose ids are their positions ("0", "1", ...), as :class:`VectorEncoder` expects."""
    return [Document(str(i), f"document {i}") for i in range(n)]


@pytest.fixture(scope="session")
def write_vector_index():
    """``write(rows, n_terms, path, **build_kwargs) -> path``: index the given sparse vectors.

    Session-scoped so hypothesis tests may use it; they pass their own temporary folder.
    """
    from winnow.index.writer import build_index

    def write(rows, n_terms: int, path: Path, **kwargs) -> Path:
        build_index(vector_docs(len(rows)), VectorEncoder(rows, n_terms), path, **kwargs)
        return Path(path)

    return write


@pytest.fixture(scope="session")
def vector_corpus():
    """``vector_corpus(rows, n_terms, fail_at=None) -> (docs, encoder)`` for :func:`build_index`."""

    def make(rows, n_terms: int, fail_at: int | None = None):
        return vector_docs(len(rows)), VectorEncoder(rows, n_terms, fail_at)

    return make
