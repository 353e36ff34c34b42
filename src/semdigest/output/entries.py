"""What a reader sees of a digest, before any format: each topic's page plan (order, cap, numbering), where
each paper's abstract is shown in full, the day's top picks, and a paper's announcement and dates. The
Markdown pages, the feeds and the e-mail render from this, so they agree.

Choices (issue 11): a page lists the papers that are new today first and the re-announced ones (replaced
versions, older ids cross-listed again) after them, each group in rank order, numbered 1..n down the page:
a reader of a daily digest wants the day's new work, and arXiv's own listing is grouped the same way.
`max_papers` caps the full entries of a page; keyword papers over the cap stay on the page as a compact
list (title, id, keyword), so nothing the keyword digest showed is lost. A paper on several pages gets its
abstract in full on one of them (where it is placed best), a link there from the others.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from ..paper import Paper
from ..ranking.digest import Digest, TopicDigest
from ..ranking.rank import RankedPaper
from ..ranking.topics import Topic

OPEN_ABSTRACTS = 5  # abstracts open on a page by default; the rest are folded (config: open_abstracts)
TOP_PICKS = 10
ANNOUNCE_DELAY = timedelta(days=7)  # a new submission is announced within a few days of getting its id
LABELS = {"new": "🆕 new", "cross": "↔️ cross-list", "replace": "🔄 replaced", "older": "♻️ older id"}


@dataclass(frozen=True)
class TopicPage:
    """A topic's page, planned: `papers` get full entries (numbered from 1), `more` a compact line each."""

    result: TopicDigest
    stem: str  # the page's and the feed's file name without suffix
    papers: list[RankedPaper]
    more: list[RankedPaper]  # over max_papers: keyword papers the keyword digest would show

    @property
    def topic(self) -> Topic:
        return self.result.topic

    @property
    def numbered(self) -> list[tuple[int, RankedPaper]]:
        return list(enumerate(self.papers + self.more, start=1))

    @property
    def fresh(self) -> int:
        return sum(1 for item in self.papers + self.more if is_fresh(item.paper))


def plan_pages(digest: Digest, stems: Mapping[str, str]) -> list[TopicPage]:
    """Every topic's page: new papers first, then re-announced ones, each in rank order; full entries up
    to the topic's max_papers."""
    pages = []
    for result in digest.topics:
        ordered = page_order(result.papers)
        cap = result.topic.max_papers or len(ordered)
        pages.append(TopicPage(result, stems[result.topic.name], ordered[:cap], ordered[cap:]))
    return pages


def page_order(papers: Sequence[RankedPaper]) -> list[RankedPaper]:
    """New papers first, then re-announced ones; the rank order within each (a stable sort)."""
    return sorted(papers, key=lambda item: not is_fresh(item.paper))


def abstract_homes(pages: Sequence[TopicPage]) -> dict[str, str]:
    """paper id -> the stem of the page that shows its abstract in full: where it is placed best (then the
    first such topic); the other pages link there. Papers only in compact lists have none."""
    best: dict[str, tuple[int, int, str]] = {}
    for order, page in enumerate(pages):
        for number, item in enumerate(page.papers, start=1):
            place = (number, order, page.stem)
            if item.paper.id not in best or place < best[item.paper.id]:
                best[item.paper.id] = place
    return {paper_id: stem for paper_id, (_, _, stem) in best.items()}


def top_picks(pages: Sequence[TopicPage], count: int = TOP_PICKS) -> list[tuple[TopicPage, RankedPaper]]:
    """The day's best papers across topics: each topic's first, then each one's second, ..., a paper once
    (under its first topic), new papers before re-announced ones. Round robin rather than by score: a
    calibrated score says how a paper stands within its topic, not how two topics compare."""
    picks: list[tuple[TopicPage, RankedPaper]] = []
    chosen: set[str] = set()
    for fresh in (True, False):
        queues = [
            (page, [item for item in page.papers if not item.seen_on and is_fresh(item.paper) == fresh])
            for page in pages
        ]
        while len(picks) < count and any(queue for _, queue in queues):
            for page, queue in queues:
                while queue and queue[0].paper.id in chosen:  # each topic's best paper not picked yet
                    queue.pop(0)
                if queue and len(picks) < count:
                    picks.append((page, queue.pop(0)))
                    chosen.add(picks[-1][1].paper.id)
    return picks


def announcement(paper: Paper) -> str:
    """new | cross | replace | older: the listing's announce type when the source gave one, else
    inferred: a version above 1 was replaced, an id minted well before the listing day is an older paper
    announced again (a late cross-list, or a replacement the source did not mark), anything else is new."""
    kind = (paper.announce_type or "").lower()
    if kind == "new":
        return kind
    if kind.startswith("replace") or (paper.version or 1) > 1:
        return "replace"
    if paper.listed and _id_month(paper.id) < _month(paper.listed - ANNOUNCE_DELAY):
        return "older"
    return "cross" if kind == "cross" else "new"


def is_fresh(paper: Paper) -> bool:
    """Announced today for the first time (new, or a new paper cross-listed from another archive)."""
    return announcement(paper) in ("new", "cross")


def submitted(paper: Paper) -> str:
    """The first version's date when the source gave it, else the year and month in the arXiv id."""
    if paper.published:
        return paper.published[:10]
    year, month = _id_month(paper.id)
    return f"{year:04d}-{month:02d}"


def _id_month(paper_id: str) -> tuple[int, int]:
    """The (year, month) an arXiv id was minted: `2412.18774` -> (2024, 12), `hep-th/9901001` -> (1999, 1)."""
    match = re.match(r"(?:.*/)?(\d\d)(\d\d)", paper_id)
    if not match:
        return (0, 0)
    year = int(match.group(1))
    return (2000 + year if year < 91 else 1900 + year, int(match.group(2)))


def _month(day: date) -> tuple[int, int]:
    return (day.year, day.month)
