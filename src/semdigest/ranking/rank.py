"""Per topic: keyword evidence plus semantic relevance -> one calibrated score, a reason, a selection.

Relevance is the hybrid of fusion.py (dense similarity to the topic fused with BM25 of its words; with
example papers, the few-shot Rocchio scorer) fitted on the period's papers. The displayed score
calibrates it against a fixed sample of arXiv (indexes/sample.py: the store's, or while the store is
small, the reference shipped with the package): 0.99 means "more relevant to this topic than 99% of
those papers", which stays comparable from day to day, so a threshold means the same on a busy Monday
and a quiet Friday, and on the first day as on the hundredth.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from ..errors import TopicsError
from ..indexes.lexical import Bm25Index
from ..indexes.sample import Calibration
from ..paper import Paper
from .fusion import Scorer, fit_examples, fit_hybrid, standardised_sum, topic_query, topic_texts, topic_vector
from .topics import KeywordHit, Topic


@dataclass(frozen=True)
class RankedPaper:
    paper: Paper
    score: float  # calibrated relevance in [0, 1]: the share of the calibration papers this paper outranks
    relevance: float  # the fused score the ranking sorts by
    keyword_hits: tuple[KeywordHit, ...]
    nearest_example: tuple[str, float] | None = None  # (arXiv id, cosine)
    seen_on: date | None = None  # the day an earlier digest of the topic showed it
    filtered: bool = False  # a filter keyword hits it (only listed with --all)
    # why a paper without a keyword is here: its cosine to the topic's vector and the topic's words it holds
    topic_cosine: float | None = None
    topic_words: tuple[str, ...] = ()
    example: bool = False  # one of the topic's example papers (nearest_example is then the nearest other)
    nearest_title: str = ""  # the nearest example's title

    @property
    def reason(self) -> str:
        parts = [
            "keywords " + ", ".join(f"{hit.label} ({_in_context(hit)})" for hit in self.keyword_hits)
            if self.keyword_hits
            else f"semantic match, no keyword: {self.semantic_evidence}"
        ]
        if self.example:
            parts.append("one of your examples")
        if self.nearest_example:
            title = f' "{self.nearest_title}"' if self.nearest_title else ""
            parts.append(f"like {self.nearest_example[0]}{title} ({self.nearest_example[1]:.2f})")
        if self.filtered:
            parts.append("excluded by a filter")
        if self.seen_on:
            parts.append(f"seen {self.seen_on}")
        return f"{'; '.join(parts)}; score {self.score:.3f}"

    @property
    def semantic_evidence(self) -> str:
        """What a paper without a keyword shares with the topic, in words."""
        cosine = f"cosine {self.topic_cosine:.2f} to the topic" if self.topic_cosine is not None else ""
        words = f"topic words {', '.join(self.topic_words)}" if self.topic_words else "no topic word"
        return f"{cosine}, {words}" if cosine else words


def _in_context(hit: KeywordHit) -> str:
    before, match, after = hit.context
    return f'{hit.where}: "{before}[{match}]{after}"' if match else hit.where


@dataclass(frozen=True)
class Pool:
    """The papers to rank and what scoring them needs, gathered once for all topics."""

    papers: list[Paper]
    keys: np.ndarray  # their store keys
    vectors: np.ndarray  # their cached vectors
    lexical: Bm25Index  # over the whole store: IDF describes all papers, not just this period
    calibration: Calibration
    embed: Callable[[Sequence[str]], np.ndarray]  # vectors of free texts (cached)
    references: Callable[[Sequence[str]], tuple[list[Paper], np.ndarray]]  # stored papers by id, with vectors


def rank_topic(
    topic: Topic, pool: Pool, *, seen: dict[str, date] | None = None, show_seen: bool = False, include_all: bool = False
) -> list[RankedPaper]:
    """The topic's digest, best first: every paper its keyword rules select, plus papers without a
    keyword hit whose score reaches the topic's threshold (up to max_papers in all); papers an earlier
    digest showed are left out, or kept and marked with `show_seen`. `include_all`: every paper, ranked."""
    ranked = score_topic(topic, pool, seen=seen, include_all=include_all)
    if include_all:
        return ranked
    return _select(topic, [item for item in ranked if show_seen or not item.seen_on])


def score_topic(
    topic: Topic, pool: Pool, *, seen: dict[str, date] | None = None, include_all: bool = False
) -> list[RankedPaper]:
    """Every paper the topic may show (in scope, no filter hit, not rejected; with `include_all`: every
    paper), scored and ranked, best first."""
    seen = seen or {}
    negatives = set(topic.negatives)
    eligible = [
        i
        for i, paper in enumerate(pool.papers)
        if include_all or (paper.id not in negatives and topic.in_scope(paper) and not topic.filtered(paper))
    ]
    if not eligible:
        return []
    relevance, score, nearest = _relevance(topic, pool, np.asarray(eligible))
    cosines = pool.vectors[eligible] @ _topic_vector(topic, pool.embed)  # the reason's evidence, cached embed
    examples = set(topic.examples)
    ranked = [
        RankedPaper(
            pool.papers[i],
            float(s),
            float(r),
            tuple(topic.keyword_hits(pool.papers[i])),
            nearest[n][:2] if nearest[n] else None,
            seen.get(pool.papers[i].id),
            topic.filtered(pool.papers[i]),
            topic_cosine=float(cosines[n]),
            topic_words=topic.words_in(pool.papers[i]),
            example=pool.papers[i].id in examples,
            nearest_title=nearest[n][2] if nearest[n] else "",
        )
        for n, (i, r, s) in enumerate(zip(eligible, relevance, score))
    ]
    ranked.sort(key=lambda item: -item.relevance)
    return ranked


@dataclass(frozen=True)
class Move:
    """A paper's place in a topic's digest before and after a change (1-based ranks, None: absent)."""

    paper: Paper
    before: int | None
    after: int | None
    score: float

    @property
    def kind(self) -> str:
        if self.before is None:
            return "enters"
        if self.after is None:
            return "leaves"
        return "stays" if self.before == self.after else "moves"


def compare(before: Sequence[RankedPaper], after: Sequence[RankedPaper]) -> list[Move]:
    """Every paper of either version, in the order of the new version, leavers last."""
    old = {item.paper.id: rank for rank, item in enumerate(before, start=1)}
    new = {item.paper.id: rank for rank, item in enumerate(after, start=1)}
    moves = [Move(item.paper, old.get(item.paper.id), rank, item.score) for rank, item in enumerate(after, start=1)]
    return moves + [
        Move(item.paper, old[item.paper.id], None, item.score) for item in before if item.paper.id not in new
    ]


@dataclass(frozen=True)
class Explanation:
    paper: Paper
    keyword_hits: tuple[KeywordHit, ...]
    filters_hit: tuple[str, ...]
    in_scope: bool
    rejected: bool  # one of the topic's negatives
    cosine: float  # to the topic's own vector (name and description)
    bm25: float  # of the topic's words
    ranked: RankedPaper | None  # its place among the period's papers, None if not eligible
    rank: int | None
    eligible: int
    selected: bool
    verdict: str
    calibrated_against: str  # "the store" or "a reference sample of arXiv": what the score is a share of


def explain(topic: Topic, pool: Pool, paper_id: str, *, seen: dict[str, date] | None = None) -> Explanation:
    """Why a paper of the period got its score, and whether the digest shows it."""
    row = next((i for i, paper in enumerate(pool.papers) if paper.id == paper_id), None)
    if row is None:
        raise TopicsError(f"{paper_id} was not listed in this period")
    paper = pool.papers[row]
    eligible = score_topic(topic, pool, seen=seen)
    shown = {item.paper.id for item in _select(topic, [item for item in eligible if not item.seen_on])}
    position = next((rank for rank, item in enumerate(eligible, start=1) if item.paper.id == paper_id), None)
    # a paper the topic may not show is scored among all papers, so the reason can still give its score
    candidates = eligible if position else score_topic(topic, pool, seen=seen, include_all=True)
    ranked = next(item for item in candidates if item.paper.id == paper_id)
    filters = tuple("+".join(keyword) for keyword in topic.filters_hit(paper))
    cosine = float(pool.vectors[row] @ _topic_vector(topic, pool.embed))
    bm25 = float(pool.lexical.scores(_topic_words(topic), pool.keys[row : row + 1])[0])
    verdict = _verdict(
        topic, ranked, paper_id in shown, filters, paper_id in topic.negatives, topic.in_scope(paper), seen or {}
    )
    return Explanation(
        paper,
        ranked.keyword_hits,
        filters,
        topic.in_scope(paper),
        paper_id in topic.negatives,
        cosine,
        bm25,
        ranked if position else None,
        position,
        len(eligible),
        paper_id in shown,
        verdict,
        pool.calibration.against,
    )


def _verdict(
    topic: Topic,
    item: RankedPaper,
    shown: bool,
    filters: tuple[str, ...],
    rejected: bool,
    in_scope: bool,
    seen: dict[str, date],
) -> str:
    if rejected:
        return "left out: you marked it as not wanted (topics unlike)"
    if filters:
        return f"left out: the filter {filters[0]!r} hits it"
    if not in_scope:
        return f"left out: not in the topic's categories ({', '.join(topic.categories)})"
    if item.paper.id in seen:
        return f"left out: already shown on {seen[item.paper.id]}"
    if shown:
        return (
            "shown: its keywords select it"
            if item.keyword_hits
            else f"shown: no keyword, but its score {item.score:.3f} reaches the threshold {topic.threshold}"
        )
    if item.score >= topic.threshold:
        return f"left out: max_papers ({topic.max_papers}) is reached by higher-ranked papers"
    return f"left out: no keyword hit and its score {item.score:.3f} is below the threshold {topic.threshold}"


def _select(topic: Topic, ranked: list[RankedPaper]) -> list[RankedPaper]:
    """Keyword papers always stay (nothing the keyword digest showed is lost); semantic joins fill up
    to max_papers."""
    keyword = sum(1 for item in ranked if item.keyword_hits)
    room = max((topic.max_papers or len(ranked)) - keyword, 0)
    chosen = []
    for item in ranked:
        if item.keyword_hits:
            chosen.append(item)
        elif item.score >= topic.threshold and room > 0:
            chosen.append(item)
            room -= 1
    return chosen


def _relevance(topic: Topic, pool: Pool, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, list]:
    """(relevance, calibrated score, nearest example) for the pool's papers at `rows`."""
    keys, vectors = pool.keys[rows], pool.vectors[rows]
    lexical = _LexicalQuery(pool.lexical, keys, pool.calibration)
    topic_vec = _topic_vector(topic, pool.embed)
    examples, example_vecs = pool.references(topic.examples) if topic.examples else ([], vectors[:0])
    # with examples, IDF comes from the papers ranked: the examples' long texts share the pool's theme words
    idf_keys = keys if examples else None
    words = lexical.of(_topic_words(topic), idf_keys)
    if topic.keywords:
        words = words + topic.weight * lexical.of(" ".join(" ".join(keyword) for keyword in topic.keywords), idf_keys)
    if examples:
        _, negative_vecs = pool.references(topic.negatives) if topic.negatives else ([], None)
        # each example's text and the topic's words count once, like the example vectors and the name
        parts = [lexical.of(paper.text, idf_keys) for paper in examples] + [words]
        evidence = _Lexical(*standardised_sum([(part.pool, part.sample) for part in parts]))
        scorer = calibrator = fit_examples(vectors, example_vecs, evidence.pool, topic_vec, negative_vecs)
    else:
        evidence = words
        scorer = fit_hybrid(topic_vec, vectors, evidence.pool)
        # The score calibrates the first pass: the feedback papers are part of the final query, so the
        # period's top three outrank almost any paper they are compared with, relevant or not (measured on
        # 2025-08-18: "Protein structure prediction" admitted a foot-reconstruction paper at 0.9965).
        calibrator = fit_hybrid(topic_vec, vectors, evidence.pool, prf_k=0)
    relevance = scorer(vectors, evidence.pool)
    first = _calibrate(calibrator(vectors, evidence.pool), calibrator, pool.calibration.vectors, evidence.sample)
    score = _never_below_a_lower_rank(first, relevance)
    nearest = _nearest([pool.papers[row].id for row in rows], vectors, examples, example_vecs)
    return relevance, score, nearest


def _readable(name: str) -> str:
    """Names like "Embodied_AI" are identifiers: their words are what the topic is about."""
    return name.replace("_", " ")


def _topic_words(topic: Topic) -> str:
    return f"{topic_query(_readable(topic.name))} {topic.description}"


def _topic_vector(topic: Topic, embed: Callable[[Sequence[str]], np.ndarray]) -> np.ndarray:
    path, leaf = topic_texts(_readable(topic.name))
    texts = [path, leaf] + ([topic.description] if topic.description else [])
    vectors = embed(texts)
    vector = topic_vector(vectors[0], vectors[1])
    if topic.description:  # the user's own words weigh as much as the name
        vector = topic_vector(vector, vectors[2])
    return vector


def _calibrate(
    relevance: np.ndarray, scorer: Scorer, sample_vectors: np.ndarray, sample_lexical: np.ndarray
) -> np.ndarray:
    if len(sample_vectors) == 0:
        return np.full(len(relevance), 0.5)
    reference = np.sort(scorer(sample_vectors, sample_lexical))
    return np.searchsorted(reference, relevance, side="left") / len(reference)


def _never_below_a_lower_rank(score: np.ndarray, relevance: np.ndarray) -> np.ndarray:
    """Each paper's score raised to the best score of the papers ranked below it, so that scores fall down
    the ranking and a threshold admits a prefix of it: the ranking (with feedback) is the better judge of
    order (bench/quality.py), the calibrated first pass of how far up arXiv a paper stands."""
    order = np.argsort(-relevance, kind="stable")
    raised = np.empty_like(score)
    raised[order] = np.maximum.accumulate(score[order][::-1])[::-1]
    return raised


def _nearest(ids: list[str], vectors: np.ndarray, examples: list[Paper], example_vecs: np.ndarray) -> list:
    """(id, cosine, title) of each paper's nearest example; an example gets the nearest *other* one (none
    when it is the only one): "like itself (1.00)" said nothing."""
    if not examples:
        return [None] * len(vectors)
    cosines = vectors @ example_vecs.T
    for row, paper_id in enumerate(ids):
        cosines[row, [paper_id == example.id for example in examples]] = -np.inf
    best = cosines.argmax(axis=1)
    return [
        (examples[b].id, float(cosines[i, b]), examples[b].title) if np.isfinite(cosines[i, b]) else None
        for i, b in enumerate(best)
    ]


@dataclass(frozen=True)
class _Lexical:
    pool: np.ndarray
    sample: np.ndarray

    def __add__(self, other: _Lexical) -> _Lexical:
        return _Lexical(self.pool + other.pool, self.sample + other.sample)

    def __rmul__(self, factor: float) -> _Lexical:
        return _Lexical(factor * self.pool, factor * self.sample)


class _LexicalQuery:
    """BM25 of one query for the pool and the calibration papers (one pass over the index for a store sample)."""

    def __init__(self, index: Bm25Index, pool_keys: np.ndarray, calibration: Calibration) -> None:
        self.index, self.pool_keys, self.calibration = index, pool_keys, calibration

    def of(self, query: str, idf_keys: np.ndarray | None = None) -> _Lexical:
        scores = self.index.scores(query, idf_keys=idf_keys)
        return _Lexical(self.index.pick(scores, self.pool_keys), self.calibration.bm25(query, idf_keys, scores))
