"""Paired t-test against scipy and the formula; Holm's correction by hand and against statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from winnow.errors import WinnowError
from winnow.evaluate.significance import holm, paired_t_test, paired_tests

A = [0.5, 0.7, 0.2, 0.9]
B = [0.4, 0.5, 0.3, 0.6]


def test_paired_t_test_by_hand_and_against_scipy():
    d = [a - b for a, b in zip(A, B)]  # 0.1, 0.2, -0.1, 0.3
    mean = sum(d) / 4
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / 3)
    t = mean / (sd / math.sqrt(4))
    got_t, got_p = paired_t_test(A, B)
    assert got_t == pytest.approx(t, rel=1e-12) and t == pytest.approx(1.4638501094228, rel=1e-9)
    assert got_p == pytest.approx(2 * stats.t.sf(t, df=3), rel=1e-12)
    reference = stats.ttest_rel(A, B)
    assert (got_t, got_p) == pytest.approx((reference.statistic, reference.pvalue), rel=1e-12)
    assert paired_t_test(B, A) == pytest.approx((-t, got_p), rel=1e-12)


def test_degenerate_differences():
    assert paired_t_test(A, A) == (0.0, 1.0)  # no difference at all
    assert paired_t_test([0.3], [0.1]) == (0.0, 1.0)  # one query: no test
    assert paired_t_test([0.5, 0.6], [0.4, 0.5]) == (math.inf, 0.0)  # the same gain everywhere
    with pytest.raises(WinnowError, match="equally long"):
        paired_t_test([1, 2], [1])


def test_holm_by_hand():
    # sorted: .005*4 = .02, .01*3 = .03, .03*2 = .06, .04*1 = .04 -> raised to .06 (monotone)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    assert holm([0.2]) == pytest.approx([0.2])
    assert len(holm([])) == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_holm_is_statsmodels_holm(p):
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    reject, adjusted, _, _ = multitest.multipletests(p, alpha=0.05, method="holm")
    assert holm(p) == pytest.approx(adjusted, abs=1e-12)
    assert list(holm(p) < 0.05) == list(reject) or np.any(np.isclose(adjusted, 0.05))


def test_paired_tests_correct_per_metric():
    values = {
        "base": {"m": np.array(B), "n": np.array(B)},
        "x": {"m": np.array(A), "n": np.array(B)},
        "y": {"m": np.array([0.9, 0.8, 0.7, 1.0]), "n": np.array([0.4, 0.5, 0.3, 0.7])},
    }
    tests = paired_tests(values, ["m", "n"], "base", alpha=0.05)
    assert [(t.metric, t.system) for t in tests] == [("m", "x"), ("m", "y"), ("n", "x"), ("n", "y")]
    raw_m = [paired_t_test(values[s]["m"], B)[1] for s in ("x", "y")]
    assert [t.p_adjusted for t in tests[:2]] == pytest.approx(list(holm(raw_m)))
    assert tests[1].significant and tests[1].better and tests[1].mean == pytest.approx(0.85)
    assert not tests[0].significant and tests[0].baseline_mean == pytest.approx(0.45)
    assert tests[2].p_value == 1.0 and not tests[2].significant
    with pytest.raises(WinnowError, match="baseline"):
        paired_tests(values, ["m"], "nope")
    with pytest.raises(WinnowError, match="alpha"):
        paired_tests(values, ["m"], "base", alpha=1.5)
