"""check_params: the given parameters only, checked, strings from the pipeline grammar converted."""

from __future__ import annotations

import pytest

from winnow.errors import WinnowError
from winnow.fuse import check_params


@pytest.mark.parametrize("method, given, n, want", [
    ("rrf", {}, 2, {}),
    ("rrf", {"k": "60"}, 2, {"k": 60}),
    ("rrf", {"k": 20.0}, 3, {"k": 20}),
    ("rrf", {"k": "2.5"}, 2, {"k": 2.5}),
    ("convex", {"weights": "0.3/0.7"}, 2, {"weights": [0.3, 0.7]}),
    ("convex", {"weights": ["1", 2, 3.5]}, 3, {"weights": [1.0, 2.0, 3.5]}),
    ("convex", {"norm": "Z-Score"}, 2, {"norm": "zscore"}),
    ("convex", {"norm": "min-max", "weights": (1, 0)}, 2, {"norm": "minmax", "weights": [1.0, 0.0]}),
    ("combsum", {"norm": "tm2c2"}, 2, {"norm": "tm2c2"}),
    ("combmnz", {}, 4, {}),
])
def test_given_parameters_come_back_converted(method, given, n, want):
    assert check_params(method, given, n) == want


@pytest.mark.parametrize("method, given, n, match", [
    ("nope", {}, 2, "unknown fusion method 'nope'; choose one of rrf, convex, combsum, combmnz"),
    ("rrf", {"weights": "1/1"}, 2, "takes k"),
    ("combsum", {"k": 60}, 2, "takes norm"),
    ("rrf", {"k": "sixty"}, 2, "must be a number"),
    ("rrf", {"k": -1}, 2, ">= 0"),
    ("rrf", {"k": True}, 2, "must be a number"),
    ("convex", {"weights": "0.3/0.7"}, 3, "needs 3 weights, got 2"),
    ("convex", {"weights": "0/0"}, 2, "all 0"),
    ("convex", {"weights": "0.5/-0.5"}, 2, ">= 0"),
    ("convex", {"weights": "nan/1"}, 2, "finite"),
    ("convex", {"weights": 0.5}, 2, "list of numbers"),
    ("convex", {"norm": "l2"}, 2, "minmax, zscore, tm2c2"),
])
def test_bad_parameters_are_refused_with_a_reason(method, given, n, match):
    with pytest.raises(WinnowError, match=match):
        check_params(method, given, n)
