import numpy as np

from semdigest.ranking.search import _VectorReads


class CountingStore:
    """A stand-in for Store.vectors that records what it was asked for (the helper's contract is only that)."""

    def __init__(self) -> None:
        self.asked: list[list[int]] = []

    def vectors(self, model: str, keys: list[int]) -> np.ndarray:
        self.asked.append(list(keys))
        return np.array([[float(key), 1.0] for key in keys], dtype=np.float32)


def test_each_candidate_vector_is_read_from_the_store_once():
    store = CountingStore()
    reads = _VectorReads(store, "m")  # type: ignore[arg-type]
    assert reads([3, 1, 3]).tolist() == [[3, 1], [1, 1], [3, 1]]
    assert reads([1, 7, 3, 5]).tolist() == [[1, 1], [7, 1], [3, 1], [5, 1]]
    assert store.asked == [[3, 1], [7, 5]]
    assert reads([]).shape == (0, 0)
