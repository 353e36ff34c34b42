"""What the application's methods return: plain frozen dataclasses, easy to print or serialise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..indexes.directory import IndexCheck, IndexReport
from ..paper import Paper
from ..ranking.digest import Digest
from ..ranking.rank import Move, RankedPaper
from ..ranking.search import Hit
from ..ranking.topics import Topic
from ..sources.snapshot import BadLine
from ..store import UpsertCounts


@dataclass(frozen=True)
class FetchReport:
    counts: UpsertCounts
    day: date | None = None  # the listing day (RSS) or the day asked for (API)
    missing: tuple[str, ...] = ()  # ids arXiv does not know (fetch by id)

    @property
    def total(self) -> int:
        return self.counts.new + self.counts.updated + self.counts.unchanged


@dataclass(frozen=True)
class IngestReport:
    counts: UpsertCounts
    lines: int
    bad: tuple[BadLine, ...] = ()


@dataclass(frozen=True)
class CheckReport:
    """`Home.check`: the store's integrity_check and every index file verified whole."""

    database: Path
    database_problem: str | None  # with the way to recover; None when SQLite found nothing wrong
    index: IndexCheck

    @property
    def damaged(self) -> bool:
        return bool(self.database_problem or self.index.problems)


@dataclass(frozen=True)
class IndexResult:
    embedded: int  # texts embedded now (the others had cached vectors)
    report: IndexReport


@dataclass(frozen=True)
class Similar:
    """The papers most like one query: a stored paper (`paper`) or a free text (`paper` is None)."""

    query: str
    paper: Paper | None
    hits: list[Hit]


@dataclass(frozen=True)
class DigestResult:
    digest: Digest
    index_page: Path | None = None  # the day's README.md; None when nothing was written (include_all)


@dataclass(frozen=True)
class RunResult:
    fetched: FetchReport
    digest: DigestResult | None  # None: nothing was announced today


@dataclass(frozen=True)
class DemoResult:
    ingested: IngestReport
    imported: tuple[Topic, ...]  # the seed topics, when the data directory had no topics yet
    digest: DigestResult


@dataclass(frozen=True)
class Preview:
    """A topic's digest of one day before and after a change."""

    topic: str
    day: date
    before: list[RankedPaper]
    after: list[RankedPaper]
    moves: list[Move]
    saved: Path | None = None  # the topics file, when the change was saved

    def count(self, kind: str) -> int:
        return sum(1 for move in self.moves if move.kind == kind)


@dataclass(frozen=True)
class Location:
    name: str
    path: Path
    exists: bool
    what: str


@dataclass(frozen=True)
class Paths:
    """Where a Home keeps everything, and why its data directory is the one it is."""

    home: Path
    source: str  # why this data directory: --home, $SEMDIGEST_HOME, found upwards, the per-user default
    exists: bool
    locations: tuple[Location, ...]


@dataclass(frozen=True)
class InitResult:
    home: Path
    written: tuple[Path, ...]
    kept: tuple[Path, ...]  # there already, left as they were


@dataclass(frozen=True)
class HistoryReport:
    path: Path
    rows: int  # rows written (export) or read (import)
    changed: int = 0  # import: rows new to the store, or moved to an earlier day
