"""arXiv's daily RSS listings (rss.arxiv.org): what was announced today, with each paper's announce type."""

from __future__ import annotations

import email.utils
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..errors import ArxivError, MalformedResponse
from ..paper import Paper, collapse
from .feedxml import entry_id, first_doi, optional, parse_xml, unique


@dataclass(frozen=True)
class Listing:
    """One day's RSS listing."""

    date: date | None  # the announcement day (US Eastern), from the channel pubDate
    papers: list[Paper]
    skipped: tuple[str, ...] = ()  # why items without a readable arXiv id were left out, one line each

    def counts(self) -> dict[str, int]:
        """Papers per announce type: new, cross, replace, replace-cross."""
        return dict(Counter(paper.announce_type or "unknown" for paper in self.papers))


def parse_rss(body: bytes) -> Listing:
    """Parse an rss.arxiv.org listing; an empty channel (weekends, holidays) is an empty Listing."""
    feed = parse_xml(body, "rss")
    title = feed.feed.get("title", "")
    if title.startswith("Feed error for query:"):
        raise ArxivError(f"arXiv RSS: {collapse(feed.feed.get('description'))} ({title})")
    day = _listing_date(feed.feed.get("published"))
    papers, skipped = [], []
    for number, item in enumerate(feed.entries, start=1):
        try:
            papers.append(_rss_paper(item, day))
        except MalformedResponse as problem:  # one odd item must not cost the day's listing
            skipped.append(f"item {number} ({collapse(item.get('title'))[:80]!r}): {problem}")
    return Listing(day, papers, tuple(skipped))


def _rss_paper(item: Any, listed: date | None) -> Paper:
    # the guid, oai:arXiv.org:<id>vN, carries the version; the link, arxiv.org/abs/<id>, is the fallback
    ident = entry_id(item.get("id") or item.get("link") or "")
    description = item.get("summary", "")
    _, found, abstract = description.partition("Abstract: ")
    return Paper(
        id=ident.id,
        title=item.get("title", ""),
        abstract=abstract if found else description,
        authors=split_creators(item.get("author", "")),
        categories=unique([tag.get("term") for tag in item.get("tags", [])]),
        version=ident.version,
        listed=listed,
        announce_type=item.get("arxiv_announce_type"),
        journal_ref=optional(item.get("arxiv_journal_reference")),
        doi=first_doi(item.get("arxiv_doi")),
    )


_PARENTHESISED = re.compile(r"\([^()]*\)")


def split_creators(creator: str) -> tuple[str, ...]:
    """Split the RSS `dc:creator` string into names, dropping affiliations: "A (X, Y), B" -> ("A", "B")."""
    while (stripped := _PARENTHESISED.sub("", creator)) != creator:
        creator = stripped  # innermost first, so nested parentheses go too
    return tuple(name for part in creator.split(",") if (name := collapse(part)))


def _listing_date(pub_date: str | None) -> date | None:
    try:
        return email.utils.parsedate_to_datetime(pub_date).date() if pub_date else None
    except (TypeError, ValueError):
        return None
