"""A digest: every topic ranked over one listing day (or a period) of stored, indexed papers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from ..errors import EmptyPeriod, IndexProblem, SemdigestError, UsageError
from ..indexes.directory import Indexes
from ..indexes.sample import Calibration
from ..paper import Paper
from ..store import Store
from .rank import Pool, RankedPaper, rank_topic
from .topics import Topic


@dataclass(frozen=True)
class TopicDigest:
    topic: Topic
    papers: list[RankedPaper]

    @property
    def semantic_matches(self) -> int:
        """Papers that joined without a keyword hit."""
        return sum(1 for item in self.papers if not item.keyword_hits)


@dataclass(frozen=True)
class Digest:
    first: date
    last: date
    topics: list[TopicDigest]
    complete: bool = False  # every paper of the period, ranked (no threshold, no cap, seen ones kept)

    @property
    def label(self) -> str:
        """The digest's name: its day, or `first_last` for a period (also its output folder)."""
        return self.first.isoformat() if self.first == self.last else f"{self.first}_{self.last}"

    @property
    def papers(self) -> int:
        """Distinct papers over all topics (a paper may sit on several topic pages)."""
        return len({item.paper.id for topic in self.topics for item in topic.papers})


def choose_period(days: Sequence[date], day: date | None, first: date | None, last: date | None) -> tuple[date, date]:
    """The days a digest covers: `day`, or `first`..`last`, or else the latest listing day in the store."""
    if day and (first or last):
        raise UsageError("give either a day or a period (from/to), not both")
    if not days:
        raise SemdigestError("the store has no listed papers yet (semdigest fetch, or semdigest ingest FILE)")
    if day:
        return day, day
    if first or last:
        start, end = first or days[0], last or days[-1]
        if start > end:
            raise UsageError(f"the period starts ({start}) after it ends ({end})")
        return start, end
    return days[-1], days[-1]


def period_papers(store: Store, first: date, last: date) -> list[Paper]:
    """The papers listed from `first` to `last`; none is an error the user can fix by fetching."""
    papers = store.listed_between(first, last)
    if not papers:
        when = f"on {first}" if first == last else f"from {first} to {last}"
        raise EmptyPeriod(f"no stored papers were listed {when} (fetch them first: semdigest fetch --date {first})")
    return papers


def pool_of(
    store: Store, papers: Sequence[Paper], indexes: Indexes, embed: Callable[[Sequence[str]], np.ndarray]
) -> Pool:
    """Any stored, indexed papers as a ranking pool (a listing period, a reading list, a curated list)."""
    vectors = indexes.vectors
    keys = store.keys([paper.id for paper in papers])
    unindexed = [paper.id for paper in papers if keys.get(paper.id) not in vectors.state]
    if unindexed:
        raise IndexProblem(f"{len(unindexed)} papers (e.g. {unindexed[0]}) are not indexed yet: run semdigest index")
    order = np.array([keys[paper.id] for paper in papers], dtype=np.int64)

    def references(ids: Sequence[str]) -> tuple[list[Paper], np.ndarray]:
        found = store.get_keyed(list(ids))
        known = [found[i] for i in ids if i in found and found[i][0] in vectors.state]
        return [paper for _, paper in known], store.vectors(vectors.model, [key for key, _ in known])

    return Pool(
        list(papers),
        order,
        store.vectors(vectors.model, order.tolist()),
        indexes.lexical,
        Calibration.of(indexes.sample, indexes.lexical, embed),
        embed,
        references,
    )


def build_digest(
    store: Store,
    topics: Sequence[Topic],
    pool: Pool,
    first: date,
    last: date,
    *,
    show_seen: bool = False,
    include_all: bool = False,
) -> Digest:
    """Rank every topic over the pool; papers earlier digests showed are dropped (or marked)."""
    results = []
    for topic in topics:
        seen = store.seen_before(topic.name, first)
        results.append(
            TopicDigest(topic, rank_topic(topic, pool, seen=seen, show_seen=show_seen, include_all=include_all))
        )
    return Digest(first, last, results, complete=include_all)
