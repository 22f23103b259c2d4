"""With 8-bit impacts every strategy still returns exactly the exhaustive top-k, bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.index.conftest import scratch
from tests.retrieve.test_searcher import SETTINGS, corpora, queries, split
from winnow.retrieve.searcher import EXACT_STRATEGIES, Searcher


@SETTINGS
@given(data=st.data(), corpus=corpora())
def test_exact_strategies_agree_bitwise_on_u8_impacts(write_vector_index, data, corpus):
    rows, n_terms = corpus
    with scratch() as tmp:
        searcher = Searcher(write_vector_index(rows, n_terms, Path(tmp) / "ix", quantize="u8"))
        for query in data.draw(st.lists(queries(n_terms, len(rows)), min_size=1, max_size=4)):
            terms, weights, k = split(query)
            reference = searcher.search_vector(terms, weights, k, strategy="exhaustive")
            for strategy in EXACT_STRATEGIES:
                for hits in (searcher.search_vector(terms, weights, k, strategy=strategy),
                             searcher.search_vectors([(terms, weights)], k, strategy=strategy)[0]):
                    np.testing.assert_array_equal(hits.docnos, reference.docnos)
                    np.testing.assert_array_equal(hits.scores, reference.scores)
