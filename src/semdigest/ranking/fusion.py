"""Score fusion for the hybrid ranking (dense MiniLM cosine + BM25) and few-shot scoring.

Plain numpy over one candidate set: no store, index or CLI here. The defaults below were chosen on
the development labels (leave-one-list-out for the weights) and sit on plateaus (research report):
  - similar papers: hybrid_scores(paper vector, candidates without the paper, BM25 of its text)
  - topic ranking:  hybrid_scores(topic_vector(...), candidates, BM25 of topic_query(name))
  - few-shot:       fit_examples(candidates, examples, sum of z(BM25) of each example and the name, name),
                    BM25 with IDF from the candidates (rank.py)
Scores are z-normalised over the candidates (z-scores beat min-max and reciprocal-rank fusion here:
RRF throws away how far ahead a clear winner is), so they depend on the pool: rank a pool of a few
hundred papers that plausibly contains the answers (a day's listing, or the union of the dense
and BM25 top few hundred from the whole store), not the whole store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

LEXICAL_WEIGHT = 0.4  # share of BM25 in the fused score; flat from 0.3 to 0.5
# For similar papers, leave-one-list-out picked 0.3 on every held-out list (bench/quality.py): a whole
# abstract as the query already carries many exact terms into the dense side.
SIMILAR_LEXICAL_WEIGHT = 0.3
PRF_K, PRF_BETA = 3, 1.0  # Rocchio feedback from the first pass's top 3; flat for k 2-5, beta 1-2
NAME_WEIGHT = 1.0  # the topic name's vector next to the sum of the example vectors
POOL_WEIGHT = 1.0  # few-shot: the candidates' mean vector is taken out of the query and the candidates
EXAMPLE_LEXICAL_WEIGHT = 0.4  # BM25 of the examples' text, relative to the dense score
NEGATIVE_WEIGHT = 0.2  # penalty for being closer to a rejected paper than to any example

# list numbering before a heading: "2.1 ", "11. ", "A1. " (a letter form needs its dot: "C4 data")
_NUMBERING = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?|[A-Za-z]\d+(?:\.\d+)*\.)\s+")


def zscore(x: np.ndarray) -> np.ndarray:
    """Standardise over the candidates; a constant vector (e.g. no term matched) gives zeros."""
    return _Norm.of(x)(x)


@dataclass(frozen=True)
class _Norm:
    mean: float
    sd: float

    @classmethod
    def of(cls, x: np.ndarray) -> _Norm:
        x = np.asarray(x, dtype=np.float64)
        return cls(float(x.mean()), float(x.std())) if len(x) else cls(0.0, 0.0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return (x - self.mean) / self.sd if self.sd > 0 else np.zeros_like(x)


@dataclass(frozen=True)
class Scorer:
    """A fusion fitted on one candidate pool: the final dense query and the pool's normalisation.

    Calling it scores any papers on the pool's scale, so a sample of arXiv scored by the same Scorer says
    how a candidate compares with arXiv (the digest's calibrated score, from the first pass: rank.py).
    """

    query: np.ndarray
    dense_norm: _Norm
    lexical_norm: _Norm
    dense_weight: float
    lexical_weight: float
    hub_weight: float = 0.0
    centre: np.ndarray | None = None  # subtracted from each paper's vector, which is then unit-normalised
    examples: np.ndarray | None = None
    negatives: np.ndarray | None = None
    margin_norm: _Norm | None = None

    def __call__(
        self, vecs: np.ndarray, lexical: np.ndarray | None = None, hubness: np.ndarray | None = None
    ) -> np.ndarray:
        vecs = np.asarray(vecs, np.float64)
        score = self.dense_weight * self.dense_norm(self._dense(vecs, hubness))
        if lexical is not None and self.lexical_weight:
            score = score + self.lexical_weight * self.lexical_norm(lexical)
        if self.margin_norm is not None:
            margin = self._margin(vecs)
            score = score - NEGATIVE_WEIGHT * np.maximum(margin, 0.0) / max(self.margin_norm.sd, 1e-12)
        return score

    def _dense(self, vecs: np.ndarray, hubness: np.ndarray | None) -> np.ndarray:
        if self.centre is not None:
            vecs = vecs - self.centre
            vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        cos = vecs @ self.query
        return cos if hubness is None else cos - self.hub_weight * np.asarray(hubness, np.float64)

    def _margin(self, vecs: np.ndarray) -> np.ndarray:
        """How much closer a paper is to its nearest rejected paper than to its nearest example."""
        if self.negatives is None or self.examples is None:
            return np.zeros(len(vecs))
        return (vecs @ self.negatives.T).max(axis=1) - (vecs @ self.examples.T).max(axis=1)


def fit_hybrid(
    query_vec: np.ndarray,
    candidate_vecs: np.ndarray,
    lexical: np.ndarray,
    hubness: np.ndarray | None = None,
    weight: float = LEXICAL_WEIGHT,
    prf_k: int = PRF_K,
    prf_beta: float = PRF_BETA,
) -> Scorer:
    """Fused dense + BM25 with one round of pseudo-relevance feedback: the dense query moves towards
    the mean vector of the fused top `prf_k`, which fills in what a short topic name or a single
    abstract leaves unsaid; BM25 keeps its first-pass scores. Vectors are unit-normalised.

    `hubness` (optional, one value per candidate): the candidate's mean cosine to its k nearest
    papers in the store. Subtracting half of it (CSLS) stops "hub" papers that are close to
    everything from crowding every list.
    """
    cands = np.asarray(candidate_vecs, np.float64)
    hub_weight = 0.0 if hubness is None else 0.5

    def fitted(query: np.ndarray) -> Scorer:
        dense = Scorer(query, _Norm(0.0, 1.0), _Norm(0.0, 1.0), 1.0, 0.0, hub_weight)._dense(cands, hubness)
        return Scorer(query, _Norm.of(dense), _Norm.of(lexical), 1.0 - weight, weight, hub_weight)

    first = fitted(np.asarray(query_vec, np.float64))
    if prf_k <= 0 or len(cands) == 0:
        return first
    top = np.argsort(-first(cands, lexical, hubness), kind="stable")[:prf_k]
    return fitted(first.query + prf_beta * cands[top].mean(axis=0))


def hybrid_scores(
    query_vec: np.ndarray,
    candidate_vecs: np.ndarray,
    lexical: np.ndarray,
    hubness: np.ndarray | None = None,
    weight: float = LEXICAL_WEIGHT,
    prf_k: int = PRF_K,
    prf_beta: float = PRF_BETA,
) -> np.ndarray:
    """fit_hybrid's scores of the candidates themselves."""
    scorer = fit_hybrid(query_vec, candidate_vecs, lexical, hubness, weight, prf_k, prf_beta)
    return scorer(candidate_vecs, lexical, hubness)


def topic_parts(name: str) -> list[str]:
    """Hierarchy levels of a topic name without list numbering: "11. Benchmark > 11.1 LLM" ->
    ["Benchmark", "LLM"]. A leaf alone is often too vague ("LLM"); the path alone drowns it."""
    parts = [_NUMBERING.sub("", p).strip() for p in name.split(">")]
    return [p for p in parts if p] or [name.strip()]


def topic_query(name: str) -> str:
    """BM25 text for a topic: the leaf counts twice, its parents once."""
    parts = topic_parts(name)
    return " ".join([parts[-1], *parts])


def topic_texts(name: str) -> tuple[str, str]:
    """The two texts to embed for a topic: the cleaned path and the leaf (see topic_vector)."""
    parts = topic_parts(name)
    return " > ".join(parts), parts[-1]


def topic_vector(path_vec: np.ndarray, leaf_vec: np.ndarray) -> np.ndarray:
    """Average of the path's and the leaf's embeddings, unit length."""
    v = np.asarray(path_vec, np.float64) + np.asarray(leaf_vec, np.float64)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def fit_examples(
    candidate_vecs: np.ndarray,
    example_vecs: np.ndarray,
    lexical: np.ndarray | None = None,
    name_vec: np.ndarray | None = None,
    negative_vecs: np.ndarray | None = None,
    background_mean: np.ndarray | None = None,
) -> Scorer:
    """Few-shot scoring: Rocchio against the background plus lexical evidence of the examples.

    ref = POOL_WEIGHT * mean(background); query = unit(sum(examples) + NAME_WEIGHT * name) - ref
    score = z(unit(candidate - ref) @ query) + EXAMPLE_LEXICAL_WEIGHT * z(lexical) - NEGATIVE_WEIGHT * penalty

    Subtracting the background mean removes what every candidate shares and leaves what sets the
    examples apart (the dense analogue of IDF); the candidates are compared in that centred space
    (cosine of the centred, re-normalised vector), so a paper is not favoured for merely lying far from
    the pool's centre. `background_mean` defaults to the candidates' mean;
    pass the store's mean vector for pool-independent scores (measured lower on the curated lists,
    whose candidates all share one theme). `lexical`: lexical evidence over the candidates (rank.py:
    standardised_sum of each example's BM25 and the topic words' BM25, IDF from the candidates).
    Logistic regression (examples vs pool or store) measured lower: 3 positives are too few. Rejected
    papers (`negative_vecs`) should be dropped from the candidates by the caller: that is what helps;
    subtracting their mean from the query hurt, so they only push down candidates that are closer to a
    rejected paper than to every example (about neutral on the labels).
    """
    cands = np.asarray(candidate_vecs, np.float64)
    examples = np.asarray(example_vecs, np.float64)
    pos = examples.sum(axis=0)
    if name_vec is not None:
        pos = pos + NAME_WEIGHT * np.asarray(name_vec, np.float64)
    ref = (
        (cands.mean(axis=0) if len(cands) else np.zeros_like(pos))
        if background_mean is None
        else np.asarray(background_mean, np.float64)
    )
    centre = POOL_WEIGHT * ref
    query = pos / max(float(np.linalg.norm(pos)), 1e-12) - centre
    lexical_norm = _Norm.of(lexical) if lexical is not None else _Norm(0.0, 0.0)
    unscaled = Scorer(query, _Norm(0.0, 1.0), lexical_norm, 1.0, 0.0, centre=centre)
    scorer = replace(unscaled, dense_norm=_Norm.of(unscaled._dense(cands, None)), lexical_weight=EXAMPLE_LEXICAL_WEIGHT)
    if negative_vecs is None or len(negative_vecs) == 0:
        return scorer
    with_negatives = replace(scorer, examples=examples, negatives=np.asarray(negative_vecs, np.float64))
    return replace(with_negatives, margin_norm=_Norm.of(with_negatives._margin(cands)))


def standardised_sum(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Several lexical scores of the same papers, each standardised over the pool and summed, so that
    each piece of evidence (every example's text, the topic's words) counts once whatever its length.
    parts: (pool scores, other papers' scores, e.g. the calibration sample), the latter on the pool's scale."""
    pool_sum, other_sum = np.zeros(len(parts[0][0])), np.zeros(len(parts[0][1]))
    for pool, other in parts:
        norm = _Norm.of(pool)
        pool_sum, other_sum = pool_sum + norm(pool), other_sum + norm(other)
    return pool_sum, other_sum


def hubness(candidate_vecs: np.ndarray, sample_vecs: np.ndarray, k: int = 10) -> np.ndarray:
    """Each candidate's mean cosine to its `k` nearest papers in a sample of the store (itself excluded):
    the `hubness` of hybrid_scores, computed when needed instead of kept per paper."""
    if len(sample_vecs) == 0 or len(candidate_vecs) == 0:
        return np.zeros(len(candidate_vecs))
    sims = np.asarray(candidate_vecs, np.float32) @ np.asarray(sample_vecs, np.float32).T
    sims[sims > 0.9999] = -1.0  # a candidate that is in the sample is not its own neighbour
    k = min(k, sims.shape[1])
    return np.partition(sims, -k, axis=1)[:, -k:].mean(axis=1).astype(np.float64)
