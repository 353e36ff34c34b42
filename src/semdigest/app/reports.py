"""What the application's methods return: plain frozen dataclasses, easy to print or serialise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from ..indexes.directory import IndexCheck, IndexReport
from ..paper import Paper
from ..ranking.digest import Digest
from ..ranking.rank import Move, RankedPaper
from ..ranking.search import Hit
from ..ranking.topics import Topic
from ..sources.library import Unresolved
from ..sources.snapshot import BadLine, CutLine
from ..store import UpsertCounts

if TYPE_CHECKING:  # the OAI-PMH client loads httpx: only a harvest imports it
    from ..sources.oai import BadRecord, OaiPage


@dataclass(frozen=True)
class FetchReport:
    counts: UpsertCounts
    day: date | None = None  # the listing day (RSS) or the day asked for (API)
    missing: tuple[str, ...] = ()  # ids arXiv does not know (fetch by id)

    @property
    def total(self) -> int:
        """Every paper arXiv sent, the incomplete ones (not stored) included."""
        return self.counts.new + self.counts.updated + self.counts.unchanged + len(self.counts.incomplete)


@dataclass(frozen=True)
class IngestReport:
    counts: UpsertCounts
    lines: int
    bad: tuple[BadLine, ...] = ()
    cut: tuple[CutLine, ...] = ()  # papers whose fields were cut to their size limits


@dataclass
class HarvestReport:
    """An OAI-PMH harvest, filled in page by page."""

    prefix: str
    set_spec: str | None  # None: all of arXiv
    from_day: date | None  # what was asked for (by default where the last harvest stopped)
    until_day: date | None
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    deleted: int = 0  # deleted records that were stored, and are removed now
    records: int = 0  # records received: papers, deleted ones, bad ones
    pages: int = 0
    bad: list[BadRecord] = field(default_factory=list)  # records that are not a paper, skipped
    resumed: bool = False  # went on from an interrupted harvest's resumption token
    restarted: bool = False  # the token had expired, so the list was asked for again from its start
    last_datestamp: str | None = None  # the latest datestamp harvested so far: the next harvest starts there

    def add(self, page: OaiPage, counts: UpsertCounts, removed: int) -> None:
        self.counts.add(counts)
        self.deleted += removed
        self.records += page.records
        self.pages += 1
        self.bad += page.bad


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
class MailDelivery:
    """What `--email` did: the digests mailed now (earlier undelivered ones first) and, if the server
    failed, why, and the digests kept in the outbox for the next mailing."""

    sent: tuple[str, ...]  # digest labels
    to: tuple[str, ...]
    error: str | None = None
    waiting: tuple[Path, ...] = ()


@dataclass(frozen=True)
class DigestResult:
    digest: Digest
    index_page: Path | None = None  # the day's README.md; None when nothing was written (include_all)
    mail: MailDelivery | None = None  # None unless the digest was to be mailed


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


@dataclass(frozen=True)
class LibraryImport:
    """A topic's example papers taken from a reference library (`topics like NAME --from FILE`)."""

    topic: Topic  # as saved
    source: Path
    format: str  # BibTeX, RIS, CSL JSON or list
    entries: int
    added: tuple[str, ...]  # papers that became examples now
    kept: tuple[str, ...]  # papers that were examples already
    unresolved: tuple[Unresolved, ...]  # entries naming no arXiv paper, and ids arXiv does not know
