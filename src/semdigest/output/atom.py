"""An Atom feed per topic, so a feed reader can follow a topic instead of the Markdown pages (feedgen
writes the XML; every text passes text.xml_text, since XML allows no control characters at all).

Entries keep the rank order: feed readers sort by `updated`, so the entries of a day are a second apart,
the best ranked latest. Ids are URNs with the topic name percent-encoded (a name may hold spaces or `|`).
The feed's `updated` is its newest entry's, or the digest's day for an empty feed: a rerun changes no byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote

from feedgen.feed import FeedGenerator

from ..paper import Paper
from .text import xml_text

FeedEntry = tuple[Paper, date, float, str]  # paper, the digest day that showed it, score, reason
NOT_AUTHORS = frozenset({"et al", "et al.", "others"})  # the listing's "... et al." is no person


def feed_id(topic: str) -> str:
    return f"urn:semdigest:topic:{quote(topic, safe='')}"


def topic_feed(topic: str, entries: Sequence[FeedEntry], *, day: date, self_link: str, page_link: str = "") -> str:
    """Atom XML for (paper, digest day, score, reason) entries, newest day first, each day in rank order."""
    feed = FeedGenerator()
    feed.id(feed_id(topic))
    feed.title(xml_text(f"{topic} · semdigest"))
    feed.author({"name": "semdigest"})
    feed.link(href=self_link, rel="self", type="application/atom+xml")
    if page_link:
        feed.link(href=page_link, rel="alternate", type="text/markdown")
    stamps = _stamps(entries)
    feed.updated(max(stamps, default=_midnight(day)))
    for (paper, _, score, reason), stamp in zip(entries, stamps):
        entry = feed.add_entry(order="append")
        entry.id(f"{feed_id(topic)}:{quote(paper.id, safe='')}")
        entry.title(xml_text(paper.title))
        entry.link(href=paper.url, rel="alternate")
        entry.updated(stamp)
        for name in paper.authors:
            if name.strip().lower() not in NOT_AUTHORS:
                entry.author({"name": xml_text(name)})
        for category in paper.categories:
            entry.category(term=xml_text(category))
        entry.summary(xml_text(f"[score {score:.3f}; {reason}] {paper.abstract}"))
    return feed.atom_str(pretty=True, encoding="utf-8").decode("utf-8")


def _stamps(entries: Sequence[FeedEntry]) -> list[datetime]:
    """Each entry's `updated`: its day at midnight plus as many seconds as papers of that day rank below it."""
    per_day: dict[date, int] = {}
    for _, day, _, _ in entries:
        per_day[day] = per_day.get(day, 0) + 1
    seen: dict[date, int] = {}
    stamps = []
    for _, day, _, _ in entries:
        seen[day] = seen.get(day, 0) + 1
        stamps.append(_midnight(day) + timedelta(seconds=per_day[day] - seen[day]))
    return stamps


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
