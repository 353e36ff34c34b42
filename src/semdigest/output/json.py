"""The one JSON form of papers, hits, ranked papers and digests: what `--json` prints and `digest.json` keeps.
Days are YYYY-MM-DD strings here, as everywhere at the edges."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from typing import Any

from ..paper import Paper
from ..ranking.digest import Digest
from ..ranking.rank import RankedPaper
from ..ranking.search import Hit
from ..ranking.topics import Topic
from .entries import announcement


def plain(value: Any) -> Any:
    """A value as JSON holds it: days as ISO strings, tuples as lists."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    return value


def paper_json(paper: Paper) -> dict[str, object]:
    """Every field of a paper, plus its abs URL."""
    record = {field.name: plain(getattr(paper, field.name)) for field in fields(paper)}
    return record | {"url": paper.url}


def first_released(paper: Paper) -> str | None:
    """The day a paper first appeared: its v1 date, else its listing day, else its latest version's."""
    if paper.published:
        return paper.published[:10]
    if paper.listed:
        return paper.listed.isoformat()
    return paper.updated[:10] if paper.updated else None


def hit_json(hit: Hit) -> dict[str, object]:
    paper = hit.paper
    return {
        "id": paper.id,
        "score": round(hit.score, 4),
        "cosine": round(hit.cosine, 4),
        "title": paper.title,
        "authors": list(paper.authors),
        "categories": list(paper.categories),
        "date": first_released(paper),
        "url": paper.url,
    }


def ranked_json(item: RankedPaper) -> dict[str, object]:
    paper = item.paper
    return {
        "id": paper.id,
        "title": paper.title,
        "score": round(item.score, 4),
        "relevance": round(item.relevance, 4),
        "keyword_hits": [
            {"keyword": hit.label, "where": hit.where, "snippet": "".join(hit.context)} for hit in item.keyword_hits
        ],
        "reason": item.reason,
        "topic_cosine": None if item.topic_cosine is None else round(item.topic_cosine, 4),
        "topic_words": list(item.topic_words),
        "example": item.example,
        "nearest_example": item.nearest_example
        and {"id": item.nearest_example[0], "cosine": round(item.nearest_example[1], 4), "title": item.nearest_title},
        "announcement": announcement(paper),
        "version": paper.version,
        "seen_on": plain(item.seen_on),
        "authors": list(paper.authors),
        "categories": list(paper.categories),
        "listed": plain(paper.listed),
        "url": paper.url,
    }


def digest_json(digest: Digest) -> dict[str, object]:
    return {
        "date": digest.label,
        "from": digest.first.isoformat(),
        "to": digest.last.isoformat(),
        "topics": [
            {"name": result.topic.name, "papers": [ranked_json(item) for item in result.papers]}
            for result in digest.topics
        ],
    }


def topic_json(topic: Topic) -> dict[str, object]:
    record: dict[str, object] = {}
    for field in fields(topic):
        if field.name.startswith("_"):
            continue
        value = getattr(topic, field.name)
        if field.name in ("keywords", "filters"):
            value = ["+".join(keyword) for keyword in value]
        record[field.name] = plain(value)
    return record
