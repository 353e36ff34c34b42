"""What the export API's Atom and the RSS listings share: feedparser, entry ids, small field cleaners."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import feedparser

from ..errors import InvalidIdError, MalformedResponse
from ..paper import collapse
from .ids import ArxivId, parse_id


def parse_xml(body: bytes, kind: str) -> Any:
    """A feedparser result for an `atom` or `rss` body; MalformedResponse for anything else."""
    if not body.strip():
        raise MalformedResponse("arXiv sent an empty response")
    # BytesIO, because feedparser treats a bytes or str argument as a possible file name or URL first;
    # no sanitizing, because abstracts are plain text where "$1<p<2$" is maths, not a tag
    feed = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    if feed.bozo:
        raise MalformedResponse(f"arXiv sent malformed XML ({feed.bozo_exception})")
    if not feed.get("version", "").startswith(kind):  # feedparser sets no version on some non-feeds
        raise MalformedResponse(f"arXiv sent something other than an {kind.upper()} feed")
    return feed


def entry_id(raw: str) -> ArxivId:
    if not raw.strip():
        raise MalformedResponse("arXiv sent an entry without an id")
    try:
        return parse_id(raw)
    except InvalidIdError as exc:
        raise MalformedResponse(f"arXiv sent an entry with an unexpected id: {raw[:100]!r}") from exc


def unique(values: Sequence[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def optional(text: str | None) -> str | None:
    return collapse(text) or None


def first_doi(text: str | None) -> str | None:
    # several DOIs arrive space-separated in one element
    return text.split()[0] if text and text.split() else None
