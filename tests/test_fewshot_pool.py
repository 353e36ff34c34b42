"""The few-shot changes: pool IDF in BM25, per-part standardised lexical evidence, centred cosine."""
import numpy as np

from semdigest import fusion as F
from semdigest.lexical import Bm25Index

TEXTS = ["reinforcement learning for reasoning models", "reinforcement learning with critic-free updates",
         "reinforcement learning for robot control", "long context attention kernels", "critic-free policy gradient"]


def test_idf_from_all_documents_is_the_usual_bm25() -> None:
    index = Bm25Index.build(list(range(len(TEXTS))), TEXTS)
    assert np.allclose(index.scores("reinforcement critic-free", idf_keys=list(range(len(TEXTS)))),
                       index.scores("reinforcement critic-free"))


def test_idf_from_the_pool_discounts_what_the_pool_shares() -> None:
    index = Bm25Index.build(list(range(len(TEXTS))), TEXTS)
    pool = [0, 1, 2]  # all about reinforcement learning: the word no longer tells them apart
    pooled = index.scores("reinforcement", idf_keys=pool)
    assert pooled[0] < index.scores("reinforcement")[0]
    assert index.scores("critic", idf_keys=pool)[1] > pooled[1]
    assert index.scores("reinforcement", keys=[9], idf_keys=pool + [9]).tolist() == [0.0]  # unknown key


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
    assert np.allclose(scorer(vecs[3:]), F.example_scores(vecs[3:], vecs[:3]))
    assert np.allclose(scorer(vecs[10:20]), scorer(vecs[3:])[7:17])  # per paper, not per batch
