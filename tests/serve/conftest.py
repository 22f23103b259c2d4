"""Served indexes of the tiny corpus (BM25, learned sparse, their fusion) and clients of their app."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.tiny_models import load_docs
from winnow.types import Document

pytest.importorskip("fastapi", reason="the serve extra is not installed: pip install 'winnow[serve]'")

TOKEN = "test-token"
TOPICS = ("index", "ranking", "models")


def serve_docs() -> list[Document]:
    """The tiny corpus with metadata on every document: a year and a topic."""
    return [Document(d.id, d.text, d.title, {"year": 2015 + i % 10, "topic": TOPICS[i % 3]})
            for i, d in enumerate(load_docs())]


@pytest.fixture(scope="session")
def bm25_index(tmp_path_factory) -> Path:
    from winnow.api import index_corpus

    out = tmp_path_factory.mktemp("serve") / "bm25"
    index_corpus(serve_docs(), out, "bm25")
    return out


@pytest.fixture(scope="session")
def learned_index(tmp_path_factory, tiny_mlm) -> Path:
    """An inference-free index (documents through the tiny MLM, queries by static token weights)."""
    from winnow.api import index_corpus

    out = tmp_path_factory.mktemp("serve") / "learned"
    index_corpus(serve_docs(), out, f"inference-free:{tiny_mlm}")
    return out


@pytest.fixture(scope="session")
def served(bm25_index, learned_index) -> dict:
    import winnow

    return {"bm25": bm25_index, "learned": learned_index,
            "hybrid": winnow.open(bm25_index) + winnow.open(learned_index)}


@pytest.fixture(scope="session")
def client(served):
    """A read-only app over BM25, learned sparse and their RRF fusion."""
    from fastapi.testclient import TestClient

    from winnow.serve import create_app

    with TestClient(create_app(served)) as c:
        yield c


@pytest.fixture
def writable(bm25_index, tmp_path) -> Path:
    """A private copy of the BM25 index, for tests that change it."""
    return Path(shutil.copytree(bm25_index, tmp_path / "bm25"))


@pytest.fixture
def write_client(writable):
    """An app over a private BM25 copy that accepts changes with ``Authorization: Bearer TOKEN``."""
    from fastapi.testclient import TestClient

    from winnow.serve import create_app

    with TestClient(create_app({"bm25": writable}, token=TOKEN)) as c:
        yield c


AUTH = {"Authorization": f"Bearer {TOKEN}"}
