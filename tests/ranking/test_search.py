import numpy as np
import pytest

from semdigest.ranking.search import top_n


@pytest.mark.parametrize("n", [1, 5, 50, 299, 1000])
def test_top_n_equals_the_stable_full_sort_with_ties(n):
    rng = np.random.default_rng(n)
    scores = rng.integers(0, 20, size=5000).astype(np.float32)  # many ties, also at the cut
    assert np.array_equal(top_n(scores, n), np.argsort(-scores, kind="stable")[:n])
    assert np.array_equal(top_n(scores[:10], n), np.argsort(-scores[:10], kind="stable")[:n])
