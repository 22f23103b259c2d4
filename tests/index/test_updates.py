"""Incremental updates: after any sequence of adds, deletes, updates and merges, every strategy
answers exactly as a fresh build over the surviving documents (BM25 and learned vectors)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.index.conftest import scratch
from winnow.encode.registry import build_encoder
from winnow.encode.vectors import VectorsEncoder
from winnow.errors import InputError
from winnow.index.writer import build_index, open_writer
from winnow.retrieve.searcher import STRATEGIES, Searcher
from winnow.types import Document, SparseBatch

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORDS = "apple banana cherry delta echo fox golf hotel india juliet kilo lima".split()
N_IDS = 24
N_TERMS = 16
SPEC = "bm25:workers=1"  # no analysing processes: tiny batches


def text_of(seed: int) -> str:
    rng = np.random.default_rng(seed)
    return " ".join(rng.choice(WORDS, int(rng.integers(1, 9))))


def vector_of(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    terms = np.sort(rng.choice(N_TERMS, int(rng.integers(1, 6)), replace=False)).astype(np.int32)
    return terms, rng.choice(np.float32([0.5, 1.0, 2.0, 3.25]), len(terms))  # ties are common


def vectors_encoder(docs: list[Document]) -> VectorsEncoder:
    rows = [vector_of(int(d.text)) for d in docs]
    return VectorsEncoder([([d.id for d in docs], SparseBatch.from_rows(rows))] if docs else [],
                          [f"t{i}" for i in range(N_TERMS)], source="test")


class Model:
    """What the index should hold: ids in index order (an update moves a document to the end)."""

    def __init__(self, kind: str):
        self.kind, self.docs = kind, {}

    def doc(self, i: int, version: int) -> Document:
        seed = i * 100 + version
        return Document(f"d{i}", text_of(seed) if self.kind == "bm25" else str(seed))


operations = st.lists(st.one_of(
    st.tuples(st.just("add"), st.lists(st.integers(0, N_IDS - 1), min_size=1, max_size=8, unique=True)),
    st.tuples(st.just("delete"), st.lists(st.integers(0, N_IDS - 1), min_size=1, max_size=6, unique=True)),
    st.tuples(st.just("update"), st.lists(st.integers(0, N_IDS - 1), min_size=1, max_size=4, unique=True)),
    st.tuples(st.just("merge"), st.just([])),
), min_size=1, max_size=7)


def apply(path: Path, model: Model, op: str, ids: list[int], version: int, writer=None) -> None:
    """Apply one operation to the index (through ``writer`` or a writer of its own) and to the model."""
    if op == "add":
        docs = [model.doc(i, version) for i in ids if f"d{i}" not in model.docs]
    elif op == "update":
        docs = [model.doc(i, version) for i in ids]
    else:
        docs = []
    encoder = vectors_encoder(docs) if model.kind == "vectors" else None
    own = writer is None  # a shared writer keeps its encoder: BM25 only
    if own:
        writer = open_writer(path, encoder, merge_at=3)
    try:
        if op == "add" and docs:
            writer.add(docs)
        elif op == "delete":
            assert writer.delete([f"d{i}" for i in ids]) == sum(f"d{i}" in model.docs for i in ids)
        elif op == "update" and docs:
            writer.update(docs)
        elif op == "merge":
            writer.merge()
        if own:
            writer.commit()
    finally:
        if own:
            writer.close()
    for d in docs:
        model.docs.pop(d.id, None)
        model.docs[d.id] = d
    if op == "delete":
        for i in ids:
            model.docs.pop(f"d{i}", None)


def fresh(model: Model, path: Path) -> Searcher:
    docs = list(model.docs.values())
    encoder = build_encoder(SPEC) if model.kind == "bm25" else vectors_encoder(docs)
    build_index(docs, encoder, path, spec=SPEC if model.kind == "bm25" else None)
    return Searcher(path)


def assert_same_answers(got: Searcher, want: Searcher, kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    if kind == "bm25":  # the same text: term ids differ between the two indexes
        texts = [" ".join(rng.choice(WORDS, int(rng.integers(1, 4)))) for _ in range(4)]
        vectors = [(got.encode(t), want.encode(t)) for t in texts]
    else:
        vectors = [(v, v) for v in (vector_of(int(s)) for s in rng.integers(0, 10**6, 4))]
    for k in (1, 3, N_IDS + 2):
        for strategy in STRATEGIES:
            batch = got.search_vectors([g for g, _ in vectors], k, strategy=strategy)
            for (g, w), hits in zip(vectors, batch):
                expected = want.search_vector(*w, k, strategy="exhaustive")
                single = got.search_vector(*g, k, strategy=strategy)
                for h in (single, hits):
                    assert h.ids == expected.ids, (strategy, k)
                    np.testing.assert_allclose(h.scores, expected.scores, rtol=1e-5)


@SETTINGS
@given(kind=st.sampled_from(["bm25", "vectors"]), ops=operations, seed=st.integers(0, 2**16))
def test_any_update_sequence_equals_a_fresh_build(kind, ops, seed):
    with scratch() as tmp:
        path, model = Path(tmp) / "ix", Model(kind)
        first = [model.doc(i, 0) for i in range(0, N_IDS, 3)]
        build_index(first, build_encoder(SPEC) if kind == "bm25" else vectors_encoder(first), path,
                    spec=SPEC if kind == "bm25" else None)
        model.docs = {d.id: d for d in first}
        for version, (op, ids) in enumerate(ops, 1):
            apply(path, model, op, ids, version)
        if not model.docs:
            assert Searcher(path).index.n_docs == 0
            return
        assert_same_answers(Searcher(path), fresh(model, Path(tmp) / "fresh"), kind, seed)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations, seed=st.integers(0, 2**16))
def test_one_writer_many_changes_one_commit(ops, seed):
    """Changes staged in one writer and committed once equal the same changes committed one by one."""
    with scratch() as tmp:
        path, model = Path(tmp) / "ix", Model("bm25")
        first = [model.doc(i, 0) for i in range(0, N_IDS, 2)]
        build_index(first, build_encoder(SPEC), path, spec=SPEC)
        model.docs = {d.id: d for d in first}
        with open_writer(path) as writer:
            for version, (op, ids) in enumerate(ops, 1):
                apply(path, model, op, ids, version, writer)
            writer.commit()
        if model.docs:
            assert_same_answers(Searcher(path), fresh(model, Path(tmp) / "fresh"), "bm25", seed)


def test_adding_an_existing_id_is_refused_and_update_replaces(tmp_path):
    path = tmp_path / "ix"
    build_index([Document("a", "apple pie"), Document("b", "banana split")], build_encoder(SPEC), path,
                spec=SPEC)
    with open_writer(path) as w:
        with pytest.raises(InputError, match="already in the index; use update"):
            w.add([Document("a", "apple again")])
        assert w.update([Document("a", "cherry tart")]) == 1
        w.commit()
    s = Searcher(path)
    assert s.search("apple", k=5).ids == () and s.search("cherry", k=5).ids == ("a",)
    assert [d.text if d else None for d in s.documents(["a", "b", "zz"])] == ["cherry tart", "banana split", None]


def test_deleting_everything_then_adding_again(tmp_path):
    path = tmp_path / "ix"
    build_index([Document("a", "apple")], build_encoder(SPEC), path, spec=SPEC)
    with open_writer(path) as w:
        assert w.delete(["a", "nope"]) == 1
        w.commit()
    assert Searcher(path).index.n_docs == 0 and Searcher(path).search("apple", k=3).ids == ()
    with open_writer(path) as w:
        w.add([Document("a", "apple"), Document("b", "apple banana")])
        w.commit()
    assert Searcher(path).search("apple", k=3).ids == ("a", "b")


def test_merge_policy_bounds_the_segments(tmp_path):
    path = tmp_path / "ix"
    build_index([Document("d0", "apple")], build_encoder(SPEC), path, spec=SPEC)
    for i in range(1, 8):
        with open_writer(path, merge_at=3) as w:
            w.add([Document(f"d{i}", "apple " * i)])
            w.commit()
    s = Searcher(path)
    assert len(s.index.segments) <= 3
    assert sorted(s.search("apple", k=10).ids) == [f"d{i}" for i in range(8)]
    with open_writer(path) as w:
        w.merge()
        w.commit()
    assert len(Searcher(path).index.segments) == 1
