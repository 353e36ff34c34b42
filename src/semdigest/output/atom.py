"""An Atom feed per topic, so a feed reader can follow a topic instead of the Markdown pages."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, date, datetime

from ..paper import Paper

ATOM = "http://www.w3.org/2005/Atom"


def topic_feed(topic: str, entries: Sequence[tuple[Paper, date, float, str]], *, link: str = "") -> str:
    """Atom XML for (paper, digest day, score, reason) entries, most recent first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", f"urn:semdigest:topic:{topic}")
    _text(feed, "title", f"{topic} · semdigest")
    _text(feed, "updated", _timestamp(entries[0][1]) if entries else datetime.now(UTC).isoformat())
    if link:
        ET.SubElement(feed, f"{{{ATOM}}}link", href=link)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "semdigest")
    for paper, day, score, reason in entries:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", f"urn:semdigest:{topic}:{paper.id}")
        _text(entry, "title", paper.title)
        ET.SubElement(entry, f"{{{ATOM}}}link", href=paper.url)
        _text(entry, "updated", _timestamp(day))
        for name in paper.authors:
            _text(ET.SubElement(entry, f"{{{ATOM}}}author"), "name", name)
        for category in paper.categories:
            ET.SubElement(entry, f"{{{ATOM}}}category", term=category)
        _text(entry, "summary", f"[score {score:.2f}; {reason}] {paper.abstract}")
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = value


def _timestamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"
