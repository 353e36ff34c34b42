"""A digest: every topic ranked over one day (or a period), written as Markdown pages, JSON and feeds."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import SemdigestError
from .feed import topic_feed
from .files import atomic_write_text
from .index import IndexProblem, VectorIndex
from .lexical import Bm25Index
from .paper import Paper
from .pipeline import LEXICAL, VECTORS
from .rank import Pool, RankedPaper, rank_topic
from .render import TopicSummary, archive_page, index_page, slug, topic_page
from .store import Store
from .topics import Topic

FEED_ENTRIES = 100
SUMMARY_FILE = "digest.json"


class EmptyPeriod(SemdigestError):
    """No stored paper was listed in the period asked for."""


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
    first: str
    last: str
    topics: list[TopicDigest]

    @property
    def label(self) -> str:
        return self.first if self.first == self.last else f"{self.first}_{self.last}"


def period_papers(store: Store, first: str, last: str) -> list[Paper]:
    """The papers listed from `first` to `last`; none is an error the user can fix by fetching."""
    papers = store.listed_between(first, last)
    if not papers:
        when = f"on {first}" if first == last else f"from {first} to {last}"
        raise EmptyPeriod(f"no stored papers were listed {when} (fetch them first: semdigest fetch --date {first})")
    return papers


def pool_of(store: Store, papers: Sequence[Paper], index_dir: Path,
            embed: Callable[[Sequence[str]], np.ndarray]) -> Pool:
    """Any stored, indexed papers as a ranking pool (a listing period, or a curated list in bench/)."""
    vectors = VectorIndex.open(index_dir / VECTORS)
    keys = store.keys([paper.id for paper in papers])
    unindexed = [paper.id for paper in papers if keys.get(paper.id) not in vectors.state]
    if unindexed:
        raise IndexProblem(f"{len(unindexed)} papers (e.g. {unindexed[0]}) are not indexed yet: run semdigest index")
    order = np.array([keys[paper.id] for paper in papers], dtype=np.int64)

    def references(ids: Sequence[str]) -> tuple[list[Paper], np.ndarray]:
        found = store.get_many(list(ids))
        ref_keys = store.keys(list(found))
        known = [found[i] for i in ids if i in found and ref_keys[i] in vectors.state]
        return known, store.vectors(vectors.model, [ref_keys[p.id] for p in known])

    return Pool(list(papers), order, store.vectors(vectors.model, order.tolist()), Bm25Index.load(index_dir / LEXICAL),
                vectors.sample_keys, vectors.sample_vectors, embed, references)


def build_digest(store: Store, topics: Sequence[Topic], pool: Pool, first: str, last: str, *,
                 show_seen: bool = False, include_all: bool = False) -> Digest:
    """Rank every topic over the pool; papers earlier digests showed are dropped (or marked)."""
    results = []
    for topic in topics:
        seen = store.seen_before(topic.name, first)
        results.append(TopicDigest(topic, rank_topic(topic, pool, seen=seen, show_seen=show_seen,
                                                     include_all=include_all)))
    return Digest(first, last, results)


def remember(store: Store, digest: Digest) -> None:
    """Record what each topic showed, so later digests do not repeat it."""
    for result in digest.topics:
        fresh = [(item.paper.id, item.score, item.reason) for item in result.papers if not item.seen_on]
        store.record_shown(result.topic.name, digest.first, fresh)


def write_digest(store: Store, digest: Digest, out_dir: Path) -> Path:
    """Topic pages, the day's index page, the archive and one Atom feed per topic; returns the index page."""
    folder = out_dir / digest.label
    summaries = []
    for result in digest.topics:
        page = f"{slug(result.topic.name)}.md"
        atomic_write_text(folder / page, topic_page(result.topic, result.papers, digest.label))
        summaries.append(TopicSummary(result.topic.name, len(result.papers), result.semantic_matches, page))
        _write_feed(store, result.topic, out_dir)
    atomic_write_text(folder / "README.md", index_page(digest.label, summaries))
    atomic_write_text(folder / SUMMARY_FILE, json.dumps(digest_json(digest), indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(out_dir / "README.md", archive_page(_archive(out_dir)))
    return folder / "README.md"


def digest_json(digest: Digest) -> dict[str, object]:
    """The ranked lists as data: what `--json` prints and `digest.json` keeps."""
    return {
        "date": digest.label, "from": digest.first, "to": digest.last,
        "topics": [{"name": result.topic.name, "papers": [_paper_json(item) for item in result.papers]}
                   for result in digest.topics],
    }


def _paper_json(item: RankedPaper) -> dict[str, object]:
    paper = item.paper
    return {"id": paper.id, "title": paper.title, "score": round(item.score, 4), "relevance": round(item.relevance, 4),
            "keyword_hits": [{"keyword": hit.label, "where": hit.where} for hit in item.keyword_hits],
            "reason": item.reason, "nearest_example": item.nearest_example and
            {"id": item.nearest_example[0], "cosine": round(item.nearest_example[1], 4)},
            "seen_on": item.seen_on, "authors": list(paper.authors), "categories": list(paper.categories),
            "listed": paper.listed, "url": paper.url}


def _write_feed(store: Store, topic: Topic, out_dir: Path) -> None:
    history = store.shown_history(topic.name, FEED_ENTRIES)
    papers = store.get_many([paper_id for paper_id, *_ in history])
    entries = [(papers[pid], day, score, reason) for pid, day, score, reason in history if pid in papers]
    atomic_write_text(out_dir / "feeds" / f"{slug(topic.name)}.xml", topic_feed(topic.name, entries))


def _archive(out_dir: Path) -> list[tuple[str, list[TopicSummary]]]:
    days = []
    for summary in sorted(out_dir.glob(f"*/{SUMMARY_FILE}")):
        try:
            data = json.loads(summary.read_text(encoding="utf-8"))
            topics = [TopicSummary(t["name"], len(t["papers"]), sum(1 for p in t["papers"] if not p["keyword_hits"]),
                                   f"{slug(t['name'])}.md") for t in data["topics"]]
        except (ValueError, KeyError, TypeError):
            continue  # a digest.json someone edited by hand does not break the archive
        days.append((summary.parent.name, topics))
    return days
