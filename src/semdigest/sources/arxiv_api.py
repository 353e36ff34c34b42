"""The export API's Atom responses (2016 legacy and current wire format alike)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ArxivAPIError, MalformedResponse
from ..paper import Paper, collapse
from .feedxml import entry_id, first_doi, optional, parse_xml, unique


@dataclass(frozen=True)
class ApiPage:
    """One page of query API results; `total_results` counts every match, not just this page."""

    papers: list[Paper]
    total_results: int
    start_index: int


def parse_api_feed(body: bytes) -> ApiPage:
    """Parse one page of the query API."""
    feed = parse_xml(body, "atom")
    for entry in feed.entries:
        # the error feed is a normal feed with one entry: never mistake it for a paper
        if entry.get("title") == "Error" and entry.get("author") == "arXiv api core":
            raise ArxivAPIError(f"arXiv API error: {collapse(entry.get('summary'))}")
    try:
        total = int(feed.feed["opensearch_totalresults"])
        start = int(feed.feed.get("opensearch_startindex", 0))
    except (KeyError, ValueError) as exc:
        raise MalformedResponse("arXiv API response without a valid opensearch:totalResults") from exc
    return ApiPage([_api_paper(entry) for entry in feed.entries], total, start)


def _api_paper(entry: Any) -> Paper:
    ident = entry_id(entry.get("id", ""))
    primary = entry.get("arxiv_primary_category", {}).get("term")
    tags = [tag.get("term") for tag in entry.get("tags", [])]
    return Paper(
        id=ident.id,
        title=entry.get("title", ""),
        abstract=entry.get("summary", ""),
        authors=tuple(collapse(author.get("name")) for author in entry.get("authors", [])),
        categories=unique([primary, *tags]),
        version=ident.version,
        published=entry.get("published"),
        updated=entry.get("updated"),
        comment=optional(entry.get("arxiv_comment")),
        journal_ref=optional(entry.get("arxiv_journal_ref")),
        doi=first_doi(entry.get("arxiv_doi")),
    )
