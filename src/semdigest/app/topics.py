"""A topics file bound to a Home: reading it, and every edit as a read-modify-write under the writer lock,
so that two edits at once (a cron run, a `topics like` in a shell) never lose one another."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..errors import InputFileError, TopicsError
from ..ranking.topics import (
    Topic,
    find_topic,
    import_topics,
    load_topics,
    replace_topic,
    save_topics,
    with_examples,
    with_setting,
)
from ..sources.ids import parse_id
from ..sources.library import Unresolved, read_library
from .intake import ensure_stored, store_unknown
from .reports import LibraryImport

if TYPE_CHECKING:
    from .home import Home

R = TypeVar("R")


class TopicsFile:
    def __init__(self, home: Home, path: Path) -> None:
        self.home, self.path = home, path

    def all(self) -> list[Topic]:
        return load_topics(self.path)

    def get(self, name: str) -> Topic:
        return find_topic(self.all(), name)

    def add(self, topic: Topic) -> Topic:
        """A new topic; a name that exists already is an error."""
        if not topic.name.strip():
            raise TopicsError("a topic needs a name")

        def add(current: list[Topic]) -> tuple[list[Topic], Topic]:
            if any(known.name == topic.name for known in current):
                raise TopicsError(
                    f"a topic named {topic.name!r} exists already"
                    f" (change it with: semdigest topics set {topic.name} ...)"
                )
            return [*current, topic], topic

        return self._edit(add, missing_ok=True)

    def set(self, name: str, key: str, value: str) -> Topic:
        """One field from its command-line form, e.g. ("threshold", "0.97") or ("keywords", "VLM,LLM+vision")."""
        return self._change(name, lambda topic: with_setting(topic, key, value))

    def remove(self, name: str) -> Topic:
        def remove(current: list[Topic]) -> tuple[list[Topic], Topic]:
            gone = find_topic(current, name)
            return [topic for topic in current if topic.name != name], gone

        return self._edit(remove)

    def like(self, name: str, paper_ids: Sequence[str]) -> Topic:
        """Add example papers (fetched from arXiv when the store lacks them): more like these."""
        return self._examples(name, liked=paper_ids)

    def like_from(self, name: str, source: Path) -> LibraryImport:
        """Every arXiv paper of a reference library (BibTeX, RIS, CSL JSON, a list of ids or URLs) as an
        example of the topic. The papers the store lacks are fetched in one lookup; entries that name no
        arXiv paper, and ids arXiv does not know, are reported, not fatal, unless nothing is left."""
        reading = read_library(source)  # a file that cannot be read fails before the lock is taken
        if not reading.ids:
            example = (
                f" (e.g. {reading.unresolved[0].entry}: {reading.unresolved[0].reason})" if reading.unresolved else ""
            )
            raise InputFileError(f"{source}: no arXiv paper in its {reading.entries} entries{example}")
        with self.home._writing():
            before = self.get(name)  # an unknown topic fails before anything is fetched
            missing = set(store_unknown(self.home.store, self.home.events, self.home.settings, reading.ids))
            found = [paper_id for paper_id in reading.ids if paper_id not in missing]
            if not found:
                raise InputFileError(f"{source}: arXiv knows none of its {len(reading.ids)} ids")
            topic = self._change(name, lambda topic: with_examples(topic, found))
        unknown = tuple(
            Unresolved(paper_id, "arXiv does not know it") for paper_id in reading.ids if paper_id in missing
        )
        return LibraryImport(
            topic,
            source,
            reading.format,
            reading.entries,
            added=tuple(paper_id for paper_id in found if paper_id not in before.examples),
            kept=tuple(paper_id for paper_id in found if paper_id in before.examples),
            unresolved=reading.unresolved + unknown,
        )

    def unlike(self, name: str, paper_ids: Sequence[str]) -> Topic:
        """Mark papers as not wanted: they leave the topic and push their look-alikes down."""
        return self._examples(name, unliked=paper_ids)

    def import_from(self, source: Path) -> list[Topic]:
        """The keyword digest's config.yml or seed-topics.json; keywords and filters of known topics are replaced."""
        incoming = import_topics(source)

        def merge(current: list[Topic]) -> tuple[list[Topic], list[Topic]]:
            for topic in incoming:
                known = next((t for t in current if t.name == topic.name), None)
                current = replace_topic(
                    current, replace(known, keywords=topic.keywords, filters=topic.filters) if known else topic
                )
            return current, incoming

        return self._edit(merge, missing_ok=True)

    def _examples(self, name: str, liked: Sequence[str] = (), unliked: Sequence[str] = ()) -> Topic:
        ids = [parse_id(raw).id for raw in (*liked, *unliked)]  # malformed ids fail before anything else
        with self.home._writing():
            self.get(name)  # an unknown topic fails before anything is fetched
            ensure_stored(self.home.store, self.home.events, self.home.settings, ids)
            return self._change(name, lambda topic: with_examples(topic, liked, unliked))

    def _change(self, name: str, change: Callable[[Topic], Topic]) -> Topic:
        def apply(current: list[Topic]) -> tuple[list[Topic], Topic]:
            changed = change(find_topic(current, name))
            return replace_topic(current, changed), changed

        return self._edit(apply)

    def _edit(self, edit: Callable[[list[Topic]], tuple[list[Topic], R]], *, missing_ok: bool = False) -> R:
        """Read the file, edit, save: all under the writer lock (a new file may make the data directory)."""
        with self.home._writing(create=missing_ok):
            current = [] if missing_ok and not self.path.exists() else self.all()
            topics, result = edit(current)
            save_topics(self.path, topics)
            return result
