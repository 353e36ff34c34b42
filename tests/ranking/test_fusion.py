"""Score fusion and few-shot scoring on small synthetic vectors."""

from __future__ import annotations

import numpy as np
import pytest

from semdigest.ranking import fusion as F


def fuse(dense: np.ndarray, lexical: np.ndarray, weight: float = F.LEXICAL_WEIGHT) -> np.ndarray:
    """The fusion formula hybrid_scores applies before feedback and hubness."""
    return (1.0 - weight) * F.zscore(dense) + weight * F.zscore(lexical)


def example_scores(
    candidates: np.ndarray, examples: np.ndarray, lexical: np.ndarray | None = None, **options: np.ndarray
) -> np.ndarray:
    """fit_examples' scores of the candidates themselves."""
    if len(candidates) == 0:
        return np.zeros(0)
    return F.fit_examples(candidates, examples, lexical, **options)(candidates, lexical)


def unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@pytest.fixture()
def vecs() -> np.ndarray:
    return unit_rows(np.random.default_rng(0).normal(size=(50, 16)))


def test_zscore_of_a_constant_is_zero_not_nan() -> None:
    assert np.array_equal(F.zscore(np.full(4, 3.0)), np.zeros(4))
    assert np.allclose(F.zscore(np.array([1.0, 2.0, 3.0])), [-1.2247449, 0.0, 1.2247449])


def test_fuse_weights_the_two_signals() -> None:
    dense, lexical = np.array([0.9, 0.5, 0.1]), np.array([0.0, 0.0, 7.0])
    assert np.argmax(fuse(dense, lexical, 0.0)) == 0
    assert np.argmax(fuse(dense, lexical, 1.0)) == 2
    # a query without any matching term (all-zero BM25) leaves the dense order alone
    assert np.array_equal(np.argsort(fuse(dense, np.zeros(3), 0.4)), np.argsort(dense))


def test_hybrid_without_feedback_is_plain_fusion(vecs: np.ndarray) -> None:
    lexical = np.random.default_rng(1).random(len(vecs))
    q = vecs[0]
    assert np.allclose(F.hybrid_scores(q, vecs, lexical, prf_k=0), fuse(vecs @ q, lexical))
    with_prf = F.hybrid_scores(q, vecs, lexical)
    assert with_prf.shape == (len(vecs),) and np.argmax(with_prf) == 0  # the paper itself stays first


def test_hubness_pushes_down_papers_close_to_everything(vecs: np.ndarray) -> None:
    lexical = np.zeros(len(vecs))
    hub = np.zeros(len(vecs))
    plain = F.hybrid_scores(vecs[0], vecs, lexical, prf_k=0)
    second = int(np.argsort(-plain)[1])
    hub[second] = 2.0
    assert F.hybrid_scores(vecs[0], vecs, lexical, hub, prf_k=0)[second] < plain[second]


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("11. Benchmark and Evaluation > 11.1 LLM", ["Benchmark and Evaluation", "LLM"]),
        ("Safety > A1. Jailbreak", ["Safety", "Jailbreak"]),
        ("Reward Design > Dense Rewards", ["Reward Design", "Dense Rewards"]),
        ("3D & Metaverse", ["3D & Metaverse"]),
        ("C4 dataset", ["C4 dataset"]),
    ],
)
def test_topic_parts_strip_list_numbering_only(name: str, parts: list[str]) -> None:
    assert F.topic_parts(name) == parts


def test_topic_texts_and_query_weight_the_leaf() -> None:
    assert F.topic_texts("2. Efficient Attention > 2.1 Sparse Attention") == (
        "Efficient Attention > Sparse Attention",
        "Sparse Attention",
    )
    assert F.topic_query("Reward Design > Dense Rewards") == "Dense Rewards Reward Design Dense Rewards"
    v = F.topic_vector(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    assert np.allclose(v, [2**-0.5, 2**-0.5])


def test_example_scores_rank_neighbours_of_the_examples_first(vecs: np.ndarray) -> None:
    rng = np.random.default_rng(2)
    topic = unit_rows(rng.normal(size=16))
    examples = unit_rows(topic + 0.1 * rng.normal(size=(3, 16)))  # three papers on one topic
    near = unit_rows(topic + 0.1 * rng.normal(size=(3, 16)))  # three more on it among the candidates
    cands = np.vstack([near, vecs[3:]])
    s = example_scores(cands, examples)
    assert set(np.argsort(-s)[:3]) == {0, 1, 2}
    lexical = np.zeros(len(cands))
    lexical[10] = 50.0
    assert example_scores(cands, examples, lexical)[10] > s[10]
    assert example_scores(np.zeros((0, 16)), examples).shape == (0,)


def test_a_rejected_paper_pushes_down_its_near_copies(vecs: np.ndarray) -> None:
    examples, rejected = vecs[:3], vecs[3:4]
    cands = np.vstack([vecs[4:], unit_rows(rejected + 0.01)])  # the last candidate ~ the rejected one
    base = example_scores(cands, examples)
    penalised = example_scores(cands, examples, negative_vecs=rejected)
    assert penalised[-1] < base[-1]
    assert np.allclose(example_scores(cands, examples, negative_vecs=np.zeros((0, 16))), base)


def test_background_mean_makes_scores_independent_of_the_pool(vecs: np.ndarray) -> None:
    examples, mean = vecs[:3], vecs.mean(axis=0)
    whole = example_scores(vecs[3:], examples, background_mean=mean)
    half = example_scores(vecs[3:25], examples, background_mean=mean)
    # the same papers keep the same order whichever other papers are in the pool
    assert np.array_equal(np.argsort(-whole[:22]), np.argsort(-half))


def test_standardised_sum_weighs_each_part_once() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(size=50)
    pool, sample = F.standardised_sum([(100 * a, 100 * a[:5]), (b, b[:5])])
    assert np.allclose(pool, F.zscore(a) + F.zscore(b))
    assert np.allclose(sample, pool[:5])  # other papers land on the pool's scale


def test_scorer_scores_other_papers_on_the_pool_scale() -> None:
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(40, 16))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    scorer = F.fit_examples(vecs[3:], vecs[:3])
    assert np.allclose(scorer(vecs[3:]), example_scores(vecs[3:], vecs[:3]))
    assert np.allclose(scorer(vecs[10:20]), scorer(vecs[3:])[7:17])  # per paper, not per batch
