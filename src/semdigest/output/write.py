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
from ..paper import Paper
from ..ranking.digest import Digest
from .atom import topic_feed
from .json import digest_json
from .markdown import TopicSummary, archive_page, index_page, slug, topic_page

SUMMARY_FILE = "digest.json"
FEED_ENTRIES = 100

FeedEntry = tuple[Paper, date, float, str]  # paper, the digest day that showed it, score, reason


def render_digest(digest: Digest, out_dir: Path, feeds: Mapping[str, Sequence[FeedEntry]]) -> dict[Path, str]:
    """Every file of the digest, by path: the topic pages, the index page, digest.json, the feeds, the archive."""
    folder = out_dir / digest.label
    files: dict[Path, str] = {}
    summaries = []
    for result in digest.topics:
        page = f"{slug(result.topic.name)}.md"
        files[folder / page] = topic_page(result.topic, result.papers, digest.label)
        summaries.append(TopicSummary(result.topic.name, len(result.papers), result.semantic_matches, page))
        files[out_dir / "feeds" / f"{slug(result.topic.name)}.xml"] = topic_feed(
            result.topic.name, feeds.get(result.topic.name, ())
        )
    files[folder / "README.md"] = index_page(digest.label, summaries)
    files[folder / SUMMARY_FILE] = json.dumps(digest_json(digest), indent=1, ensure_ascii=False) + "\n"
    files[out_dir / "README.md"] = archive_page(_archive(out_dir, digest.label, summaries))
    return files


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
            topics = [
                TopicSummary(
                    t["name"],
                    len(t["papers"]),
                    sum(1 for p in t["papers"] if not p["keyword_hits"]),
                    f"{slug(t['name'])}.md",
                )
                for t in data["topics"]
            ]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a digest.json someone edited by hand does not break the archive
        days[summary.parent.name] = topics
    return list(days.items())
