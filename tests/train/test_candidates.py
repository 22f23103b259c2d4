"""Mining training candidates and fusing teacher scores."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from winnow.corpus.beir import load_beir
from winnow.errors import WinnowError
from winnow.train.candidates import mine_candidates
from winnow.train.teachers import fuse, min_max


def test_positives_come_first_then_bm25_candidates(tiny_beir):
    train = mine_candidates(tiny_beir, "test", depth=5)
    data = load_beir(tiny_beir, "test")
    judged = {q.text: data.qrels.judgements[q.id] for q in data.queries}
    assert train.examples
    for example in train.examples:
        positives = {d for d, grade in judged[example.query].items() if grade > 0}
        assert set(example.doc_ids[: example.n_positive]) == positives
        assert not positives & set(example.doc_ids[example.n_positive:])
        assert len(set(example.doc_ids)) == len(example.doc_ids)
        assert len(example.doc_ids) - example.n_positive <= 5
        assert all(d in train.texts for d in example.doc_ids)


def test_a_split_without_positives_is_refused(tiny_beir, tmp_path):
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    for name in ("corpus.jsonl", "queries.jsonl"):
        (folder / name).write_bytes((tiny_beir / name).read_bytes())
    (folder / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td04\t0\n", encoding="utf-8")
    with pytest.raises(WinnowError, match="no query of split 'train' has a positive"):
        mine_candidates(folder, "train")


rows = st.lists(arrays(np.float32, st.integers(1, 8), elements=st.integers(-50, 50).map(float)), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(rows, st.floats(0.0, 3.0), st.floats(0.0, 3.0), st.floats(0.1, 10), st.floats(-5, 5))
def test_fusion_is_blind_to_each_teachers_scale(a, w1, w2, scale, shift):
    b = [x[::-1].copy() for x in a]
    for row in a:
        normed = min_max(row)
        assert normed.min() >= 0 and normed.max() <= 1
        assert normed.max() == (1 if row.max() > row.min() else 0)
    fused = fuse([a, b], [w1, w2])
    rescaled = fuse([[x * np.float32(scale) + np.float32(shift) for x in a], b], [w1, w2])
    for f, r, x, y in zip(fused, rescaled, a, b):
        np.testing.assert_allclose(f, w1 * min_max(x) + w2 * min_max(y), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(f, r, rtol=1e-3, atol=1e-3)
