"""Kept filter masks: a repeated filter is evaluated once per searcher, and a kept mask always
equals a fresh evaluation, whatever adds, deletes, updates, merges and commits came before."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.filters.strategies import TYPES, documents, filters, passes
from tests.index.conftest import scratch
from winnow.encode.registry import build_encoder
from winnow.errors import FilterError
from winnow.filters import parse_filter
from winnow.filters import evaluate as evaluator
from winnow.filters.cache import MASKS_KEPT, MaskCache
from winnow.index.writer import build_index, open_writer
from winnow.retrieve.searcher import Searcher
from winnow.types import Document

SPEC = "bm25:workers=1"  # no analysing processes: tiny batches
N_IDS = 12


def doc(i: int, metadata: dict) -> Document:
    return Document(f"d{i}", f"common word{i}", metadata=metadata)  # "common" matches every document


def passing(searcher: Searcher, f, n_docs: int) -> set[str]:
    """The ids of the live documents ``f`` keeps, by a filtered search matching every document."""
    return set(searcher.search("common", k=max(n_docs, 1), filter=f).ids) if n_docs else set()


@pytest.fixture
def evaluations(monkeypatch) -> list[int]:
    """Counts calls of the filter evaluator (the real one runs; nested calls count too)."""
    calls = [0]
    real = evaluator.evaluate

    def counted(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluator, "evaluate", counted)
    return calls


def test_mask_cache_keeps_the_most_recent_filters():
    cache, computed = MaskCache(size=3), []

    def evaluate(f):
        computed.append(str(f))
        return str(f)

    assert cache.get("year >= 2020", evaluate) == "year >= 2020"
    assert cache.get({"field": "year", "op": ">=", "value": 2020}, evaluate) == "year >= 2020"  # same filter
    assert cache.get(parse_filter("year >= 2020"), evaluate) == "year >= 2020"
    assert computed == ["year >= 2020"]
    for year in (2001, 2002, 2003):
        cache.get(f"year == {year}", evaluate)
    assert len(cache) == 3
    cache.get("year == 2001", evaluate)  # kept: now the most recent
    cache.get("year >= 2020", evaluate)  # dropped by the three after it: evaluated again
    assert computed == ["year >= 2020", "year == 2001", "year == 2002", "year == 2003", "year >= 2020"]
    cache.get("year == 2001", evaluate)
    assert computed[-1] == "year >= 2020"
    assert MaskCache().size == MASKS_KEPT


def test_a_failing_filter_is_not_kept():
    cache = MaskCache()

    def refuse(f):
        raise FilterError("unknown field 'yaer'")

    for _ in range(2):
        with pytest.raises(FilterError, match="unknown field"):
            cache.get("yaer > 2000", refuse)
    with pytest.raises(FilterError, match="position"):
        cache.get("year = 2000", refuse)
    assert len(cache) == 0


def test_a_repeated_filter_is_evaluated_once_per_commit(tmp_path, evaluations):
    metadata = [{"year": 2018 + i % 5, "venue": ["ACL", "EMNLP"][i % 2]} for i in range(10)]
    with open_writer(tmp_path / "ix", build_encoder(SPEC), fresh=True, spec=SPEC) as writer:
        writer.add([doc(i, m) for i, m in enumerate(metadata[:6])])
        writer.commit()
        writer.add([doc(i, m) for i, m in enumerate(metadata) if i >= 6])  # two segments
    searcher = Searcher(tmp_path / "ix")
    text = 'year >= 2020 and venue == "ACL"'
    first = searcher.search("common", k=10, filter=text)
    assert set(first.ids) == {"d2", "d4", "d8"}
    once = evaluations[0]
    assert once > 0
    for spec in (text, parse_filter(text), parse_filter(text).to_json()):
        assert searcher.search("common", k=10, filter=spec).ids == first.ids
    assert searcher.search_batch(["common", "word2"], k=10, filter=text)["1"].ids == ("d2",)
    assert evaluations[0] == once  # the kept masks answered
    with open_writer(tmp_path / "ix") as writer:
        writer.delete(["d4"])
        writer.update([doc(3, {"year": 2024, "venue": "ACL"})])
    assert searcher.search("common", k=10, filter=text).ids == first.ids  # the old commit, its masks
    assert evaluations[0] == once
    reopened = searcher.reopen()
    assert set(reopened.search("common", k=10, filter=text).ids) == {"d2", "d3", "d8"}
    assert evaluations[0] > once  # a new commit evaluates afresh
    again = evaluations[0]
    assert set(reopened.search("common", k=10, filter=text).ids) == {"d2", "d3", "d8"}
    assert evaluations[0] == again


operations = st.lists(st.one_of(
    st.tuples(st.just("add"), st.lists(st.integers(0, N_IDS - 1), min_size=1, max_size=5, unique=True)),
    st.tuples(st.just("delete"), st.lists(st.integers(0, N_IDS - 1), min_size=1, max_size=4, unique=True)),
    st.tuples(st.just("update"), st.lists(st.integers(0, N_IDS - 1), min_size=1, max_size=3, unique=True)),
    st.tuples(st.just("merge"), st.just([])),
), min_size=1, max_size=6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), ops=operations, fs=st.lists(filters(max_leaves=4), min_size=1, max_size=3))
def test_kept_masks_equal_fresh_evaluation_after_any_changes(data, ops, fs):
    """After every commit: the reopened searcher's masks, asked twice (the second time kept), equal
    brute force over the surviving documents, as does a fresh searcher and, at the end, a fresh
    build; older searchers keep answering from their own commits."""
    with scratch() as tmp:
        path = f"{tmp}/ix"
        model: dict[str, dict] = {}  # the surviving documents' metadata by id
        with open_writer(path, build_encoder(SPEC), fresh=True, spec=SPEC, fields=TYPES) as writer:
            writer.commit()
        searcher, expected, older = Searcher(path), {f: set() for f in fs}, []
        for op, ids in ops:
            with open_writer(path, merge_at=3) as writer:
                if op in ("add", "update"):
                    fresh = [i for i in ids if op == "update" or f"d{i}" not in model]
                    metadata = data.draw(documents(max_docs=len(fresh))) if fresh else []
                    docs = [doc(i, metadata[j % len(metadata)]) for j, i in enumerate(fresh)]
                    if docs:
                        (writer.update if op == "update" else writer.add)(docs)
                    for d in docs:
                        model.pop(d.id, None)
                        model[d.id] = d.metadata
                elif op == "delete":
                    writer.delete([f"d{i}" for i in ids])
                    for i in ids:
                        model.pop(f"d{i}", None)
                else:
                    writer.merge()
            older = [*older[-2:], (searcher, expected)]
            searcher = searcher.reopen()
            expected = {f: {i for i, m in model.items() if passes(f, m)} for f in fs}
            for f in fs:
                assert passing(searcher, f, len(model)) == expected[f], (op, str(f))
                assert passing(searcher, str(f), len(model)) == expected[f], (op, str(f))  # kept
                assert passing(Searcher(path), f, len(model)) == expected[f]
            for old, old_expected in older:
                for f in fs:
                    assert passing(old, f, old.index.n_docs) == old_expected[f]
        if model:
            build_index([doc(int(i[1:]), m) for i, m in model.items()], build_encoder(SPEC), f"{tmp}/rebuilt",
                        spec=SPEC, fields=TYPES)
            rebuilt = Searcher(f"{tmp}/rebuilt")
            for f in fs:
                assert passing(rebuilt, f, len(model)) == passing(searcher, f, len(model))
