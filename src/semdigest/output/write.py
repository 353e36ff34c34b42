"""Writing a digest: topic pages, the day's index page, `digest.json`, the archive and one Atom feed per topic.

Everything is rendered in memory first and then written file by file, each atomically; a failure to write
raises OutputError, so the caller (the application) can leave the seen-history untouched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

from ..errors import OutputError
from ..files import atomic_write_text
from ..ranking.digest import Digest
from .atom import FeedEntry, topic_feed
from .entries import OPEN_ABSTRACTS, TopicPage, abstract_homes, plan_pages, top_picks
from .json import digest_json
from .markdown import TopicSummary, archive_page, index_page, topic_page
from .text import page_names

SUMMARY_FILE = "digest.json"
FEED_ENTRIES = 100  # a feed's length: the latest entries, but never less than the latest day's in full

__all__ = ["FEED_ENTRIES", "FeedEntry", "render_digest", "write_files"]


def render_digest(
    digest: Digest,
    out_dir: Path,
    feeds: Mapping[str, Sequence[FeedEntry]],
    open_abstracts: int = OPEN_ABSTRACTS,
) -> dict[Path, str]:
    """Every file of the digest, by path: the topic pages, the index page, digest.json, the feeds, the archive."""
    folder = out_dir / digest.label
    pages = plan_pages(digest, page_names(result.topic.name for result in digest.topics))
    homes = abstract_homes(pages)
    files: dict[Path, str] = {}
    for page in pages:
        feed = f"../feeds/{page.stem}.xml"
        files[folder / f"{page.stem}.md"] = topic_page(page, digest.label, homes, open_abstracts, feed)
        files[out_dir / "feeds" / f"{page.stem}.xml"] = topic_feed(
            page.topic.name,
            _in_page_order(feeds.get(page.topic.name, ()), page, digest.first),
            day=digest.first,
            self_link=f"{page.stem}.xml",
            page_link=f"../{digest.label}/{page.stem}.md",
        )
    feed_links = {page.stem: f"../feeds/{page.stem}.xml" for page in pages}
    files[folder / "README.md"] = index_page(digest.label, pages, top_picks(pages), feed_links)
    files[folder / SUMMARY_FILE] = json.dumps(digest_json(digest), indent=1, ensure_ascii=False) + "\n"
    summaries = [_summary(page) for page in pages]
    files[out_dir / "README.md"] = archive_page(_archive(out_dir, digest.label, summaries))
    return files


def _in_page_order(entries: Sequence[FeedEntry], page: TopicPage, day: date) -> list[FeedEntry]:
    """The digest day's entries as the page orders them (the history sorts them by score only)."""
    place = {item.paper.id: number for number, item in page.numbered}
    return sorted(entries, key=lambda entry: (entry[1] != day, place.get(entry[0].id, 0) if entry[1] == day else 0))


def _summary(page: TopicPage) -> TopicSummary:
    return TopicSummary(page.topic.name, len(page.result.papers), page.result.semantic_matches, f"{page.stem}.md")


def write_files(files: Mapping[Path, str]) -> list[Path]:
    """Write each file atomically; OutputError names the first that cannot be written."""
    for path, text in files.items():
        try:
            atomic_write_text(path, text)
        except OSError as error:
            raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    return list(files)


def _archive(out_dir: Path, label: str, summaries: list[TopicSummary]) -> list[tuple[str, list[TopicSummary]]]:
    """Every digest in the folder (from their digest.json files), with this one as it is being written."""
    days = {label: summaries}
    for summary in sorted(out_dir.glob(f"*/{SUMMARY_FILE}")):
        if summary.parent.name == label:
            continue
        try:
            data = json.loads(summary.read_text(encoding="utf-8"))
            stems = page_names(t["name"] for t in data["topics"])
            topics = [
                TopicSummary(
                    t["name"],
                    len(t["papers"]),
                    sum(1 for p in t["papers"] if not p["keyword_hits"]),
                    f"{stems[t['name']]}.md",
                )
                for t in data["topics"]
            ]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a digest.json someone edited by hand does not break the archive
        days[summary.parent.name] = topics
    return list(days.items())
