"""Calibration benchmark (not a test): does a score mean the same in a one-day store as in a big one, and what
does the reference's size cost? Prints Markdown tables.

    .venv/bin/python bench/calibration.py

The 8 seed topics rank the 367 papers of 2025-08-18 (no example papers, no seen-history, threshold 0.99). A
"join" is a paper without a keyword hit that the threshold admits.

- One-day store: a fresh home holding that day (through semdigest.Home), calibrated against the day itself
  (the sample such a store had before) and against the shipped reference (now).
- Big store: the same papers and vectors, with BM25 over all 78,665 corpus papers (the IDF the whole-corpus
  home has), calibrated like a store of that size: against a uniform sample of it, here the papers at
  positions 2,000-6,000 of the reference draw (disjoint from the shipped 2,000), embedded once into
  bench/.cache. Embedding the whole corpus takes hours on a shared 2-core machine; its store sample is a
  uniform draw too.
- Sample size: in the big store, against prefixes of the reference draw (the shipped file is the first 2,000)
  compared with the big store's sample: mean absolute score difference over papers scoring >= 0.9 there, and
  admissions at 0.99 that differ. Two independent samples of n and m papers differ at a percentile p by sd
  sqrt(p (1 - p) (1/n + 1/m)). The last row scores the shipped reference as the one-day store does (BM25 "as
  if stored", lengths normalised by the reference's own average) instead of with the papers' real BM25.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from make_reference_sample import corpus_texts, draw
from speedkit import CACHE, DAY_FILE, SEED_TOPICS, day_ids, fast_artefact, new_home, table

if TYPE_CHECKING:
    from semdigest.indexes.sample import Calibration
    from semdigest.ranking.rank import Pool
    from semdigest.ranking.topics import Topic

SAMPLE = (2000, 6000)  # the big store's sample: these positions of the reference draw
SIZES = (500, 1000, 2000)


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()

    from semdigest import Home
    from semdigest.indexes.lexical import Bm25Index
    from semdigest.indexes.sample import Calibration, shipped_reference
    from semdigest.ranking.topics import import_topics

    texts = corpus_texts()
    order = draw(sorted(texts), SAMPLE[1])
    reference = shipped_reference()
    assert reference.ids == order[: len(reference.ids)], "the shipped file is not the draw: rerun make_reference_sample"
    key = {paper_id: k for k, paper_id in enumerate(sorted(texts), start=1)}
    big = Bm25Index.build([key[i] for i in sorted(texts)], [texts[i] for i in sorted(texts)])
    sample_ids = order[SAMPLE[0] : SAMPLE[1]]
    sample = Calibration(_embedded([texts[i] for i in sample_ids]), big, _keys(key, sample_ids), None, "a sample")
    topics = import_topics(SEED_TOPICS)
    with Home.open(new_home(CACHE / "scratch" / "one-day", fast_artefact())) as home:
        home.ingest(DAY_FILE)
        home.index()
        day = home.ranker(day_ids()).pool
        same = sum(texts[paper.id] == paper.text for paper in day.papers)
        big_day = replace(day, keys=_keys(key, [paper.id for paper in day.papers]), lexical=big, calibration=sample)
        print(f"{same} of {len(day.papers)} day papers have the corpus's text\n")
        print(_stores(topics, day, big_day))
        prefixes = {
            f"reference draw of {n}": Calibration(reference.vectors[:n], big, _keys(key, order[:n]), None, str(n))
            for n in SIZES
        }
        shipped = replace(sample, vectors=reference.vectors, sample_keys=big.keys[:0], reference=reference)
        prefixes[f"shipped {len(reference.ids)}, BM25 as if stored"] = shipped
        print(_sizes(topics, big_day, prefixes))


def _keys(key: dict[str, int], ids: list[str]) -> np.ndarray:
    return np.array([key[i] for i in ids], dtype=np.int64)


def _embedded(texts: list[str]) -> np.ndarray:
    """The default model's vectors of `texts` (as a default home embeds), cached under bench/.cache."""
    import hashlib

    from semdigest.embedding.registry import load_embedder

    path = CACHE / f"calibration-{hashlib.sha256(''.join(texts).encode()).hexdigest()[:16]}.npy"
    if not path.exists():
        np.save(path, load_embedder(cache_dir=CACHE).encode(texts))
    return np.load(path)


def _scores(topic: Topic, pool: Pool, calibration: Calibration | None = None) -> dict[str, float]:
    from semdigest.ranking.rank import score_topic

    chosen = pool if calibration is None else replace(pool, calibration=calibration)
    return {item.paper.id: item.score for item in score_topic(topic, chosen)}


def _joins(topic: Topic, pool: Pool, calibration: Calibration | None = None) -> list[str]:
    from semdigest.ranking.rank import rank_topic

    chosen = pool if calibration is None else replace(pool, calibration=calibration)
    return [item.paper.id for item in rank_topic(topic, chosen) if not item.keyword_hits]


def _stores(topics: list[Topic], day: Pool, big: Pool) -> str:
    from semdigest.indexes.sample import Calibration

    the_day = Calibration(day.vectors, day.lexical, day.keys, None, "the day")
    rows, totals = [], np.zeros(5)
    for topic in topics:
        before, now, wide = _joins(topic, day, the_day), _joins(topic, day), _joins(topic, big)
        now_scores, big_scores = _scores(topic, day), _scores(topic, big)
        tail = [i for i in big_scores if max(big_scores[i], now_scores[i]) >= 0.9]
        error = float(np.mean([abs(now_scores[i] - big_scores[i]) for i in tail])) if tail else 0.0
        counts = [len(before), len(now), len(wide), len(set(now) & set(wide))]
        totals += [*counts, error]
        apart = " ".join([*(f"+{i}" for i in now if i not in wide), *(f"-{i}" for i in wide if i not in now)])
        rows.append([topic.name, *counts, f"{error:.4f}", apart])
    rows.append(["all", *(int(t) for t in totals[:4]), f"{totals[4] / len(topics):.4f}", ""])
    header = [
        "topic",
        "one day, vs the day (before)",
        "one day, vs reference (now)",
        "big store, vs its sample",
        "in both now and big",
        "mean abs score diff now-big (>= 0.9)",
        "joins only now (+) / only big (-)",
    ]
    return "## Joins at 0.99, 2025-08-18\n\n" + table(header, rows) + "\n"


def _sizes(topics: list[Topic], big: Pool, variants: dict[str, Calibration]) -> str:
    truth = {topic.name: _scores(topic, big) for topic in topics}
    rows = []
    for label, calibration in variants.items():
        errors, flips, admitted = [], 0, 0
        for topic in topics:
            scores, exact = _scores(topic, big, calibration), truth[topic.name]
            errors += [abs(scores[i] - exact[i]) for i in exact if max(exact[i], scores[i]) >= 0.9]
            flips += sum((scores[i] >= 0.99) != (exact[i] >= 0.99) for i in exact)
            admitted += sum(exact[i] >= 0.99 for i in exact)
        n, m = len(calibration.vectors), SAMPLE[1] - SAMPLE[0]
        sd = math.sqrt(0.99 * 0.01 * (1 / n + 1 / m))
        rows.append([label, f"{np.mean(errors):.4f}", f"{sd:.4f}", f"{flips} (of {admitted} above 0.99)"])
    header = ["calibrated against", "mean abs score diff (>= 0.9)", "sd at 0.99", "admissions at 0.99 differing"]
    return "## Reference size, big store, vs its sample of 4,000\n\n" + table(header, rows) + "\n"


if __name__ == "__main__":
    main()
