"""Ties broken by ascending id, in short rankings (one Python pass) and long ones (vectorised)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winnow.fuse import union
from winnow.fuse.union import break_ties


@st.composite
def tied_rankings(draw):
    """A ranking of distinct ids (a permutation ``order`` into them) with scores from a few
    values, so that groups of equal scores of every length occur."""
    n = draw(st.integers(1, 300))
    ids = [f"d{i:03d}" for i in draw(st.permutations(range(n)))]
    scores = np.sort(np.array(draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0]), min_size=n, max_size=n))))[::-1]
    order = np.array(draw(st.permutations(range(n))), np.int64)
    return ids, scores, order


@settings(max_examples=200, deadline=None)
@given(tied_rankings(), st.booleans())
def test_each_group_of_equal_scores_is_ordered_by_id(case, short):
    ids, scores, order = case
    tied = scores[:-1] == scores[1:]
    tied = np.append(tied, False)
    expected = sorted(range(len(ids)), key=lambda i: (-scores[i], ids[order[i]]))  # positions, by score then id
    expected = order[expected]
    few = union._FEW
    union._FEW = len(ids) if short else 0  # force each path
    try:
        got = order.copy()
        break_ties(got, tied, ids if short else np.array(ids, dtype=object))
    finally:
        union._FEW = few
    assert got.tolist() == expected.tolist()


@pytest.mark.parametrize("ids", [["b", "a", "c"], np.array(["b", "a", "c"], dtype=object)])
def test_a_list_or_an_array_of_ids(ids):
    order = np.array([0, 1, 2])
    break_ties(order, np.array([True, False, False]), ids)
    assert order.tolist() == [1, 0, 2]
