"""Fixtures shared by the whole suite: the tiny BEIR corpus, a built index, shared data, test encoders."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from tests.tiny_models import build_tiny_mlm
from winnow.encode.vectors import VectorsEncoder
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


def vector_encoder(rows: Sequence[dict[int, float]], n_terms: int, fail_at: int | None = None) -> VectorsEncoder:
    """The ``vectors`` encoder over chosen rows: document ``str(i)`` gets ``rows[i]`` (``{term_id: impact}``).

    An index built with it holds exactly the postings the test chose, over the vocabulary
    ``t0, t1, ...``; its text query ``"t3 t3 t7"`` is the vector ``{3: 2, 7: 1}``. With ``fail_at``,
    the vectors raise ``RuntimeError`` at that document, as a failing encoder would.
    """

    def chunks():
        for i, row in enumerate(rows):
            if fail_at is not None and i >= fail_at:
                raise RuntimeError(f"encoder failure at document {i}")
            terms = sorted(row)
            vector = (np.array(terms, dtype=np.int32), np.array([row[t] for t in terms], dtype=np.float32))
            yield [str(i)], SparseBatch.from_rows([vector])

    return VectorsEncoder(chunks(), [f"t{i}" for i in range(n_terms)], source="test rows")


def vector_docs(n: int) -> list[Document]:
    """Documents whose ids are their positions ("0", "1", ...), as :func:`vector_encoder` numbers them."""
    return [Document(str(i), f"document {i}") for i in range(n)]


@pytest.fixture(scope="session")
def write_vector_index():
    """``write(rows, n_terms, path, **build_kwargs) -> path``: index the given sparse vectors.

    Session-scoped so hypothesis tests may use it; they pass their own temporary folder.
    """
    from winnow.index.writer import build_index

    def write(rows, n_terms: int, path: Path, **kwargs) -> Path:
        build_index(vector_docs(len(rows)), vector_encoder(rows, n_terms), path, **kwargs)
        return Path(path)

    return write


@pytest.fixture(scope="session")
def vector_corpus():
    """``vector_corpus(rows, n_terms, fail_at=None) -> (docs, encoder)`` for :func:`build_index`."""

    def make(rows, n_terms: int, fail_at: int | None = None):
        return vector_docs(len(rows)), vector_encoder(rows, n_terms, fail_at)

    return make
