"""Into the store: public-snapshot JSONL files (streamed) and arXiv listings (through the client)."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from email.utils import parsedate_to_datetime
from importlib.resources import files
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING

from .errors import InputFileError, SemdigestError
from .ids import parse_id
from .paper import Paper, collapse
from .store import Store, UpsertCounts

if TYPE_CHECKING:
    from .arxiv import Client

EMBEDDED_DAY = "day-2025-08-18.jsonl"  # 367 real papers of one listing day, shipped for the demo
BATCH = 1000  # papers per transaction: an interrupted run loses at most this much work, never data


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str


@dataclass
class IngestReport:
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    bad: list[BadLine] = field(default_factory=list)
    lines: int = 0


def ingest_file(store: Store, path: Path, *, progress: Callable[[int], None] | None = None) -> IngestReport:
    """Stream a `.jsonl` / `.jsonl.gz` snapshot into the store in bounded memory, one batch per transaction."""
    report = IngestReport()
    records = _parse_lines(path, report)
    while batch := list(islice(records, BATCH)):
        report.counts.add(store.upsert(batch))
        if progress:
            progress(len(batch))
    return report


def snapshot_paper(record: dict) -> Paper:
    """A Paper from one record of the public arXiv metadata snapshot (Kaggle/OAI field names)."""
    missing = [name for name in ("id", "title", "abstract") if not isinstance(record.get(name), str)]
    if missing:
        raise ValueError(f"missing or non-text field {missing[0]!r}")
    arxiv_id = parse_id(record["id"])
    versions = record.get("versions") or []
    version = _version_number(versions[-1]) if versions else arxiv_id.version
    listed = record.get("update_date") or None
    return Paper(
        id=arxiv_id.id,
        title=record["title"],
        abstract=record["abstract"],
        authors=split_authors(record.get("authors") or ""),
        categories=tuple((record.get("categories") or "").split()),
        version=version,
        published=_version_date(versions[0]) if versions else None,
        updated=_version_date(versions[-1]) if versions else listed,
        listed=listed,
        comment=_optional(record.get("comments")),
        journal_ref=_optional(record.get("journal-ref")),
        doi=(_optional(record.get("doi")) or "").split(" ")[0] or None,
    )


def embedded_data(name: str = EMBEDDED_DAY) -> Path:
    """A file of the default data shipped inside the package."""
    return Path(str(files("semdigest") / "data" / name))


def split_authors(text: str) -> tuple[str, ...]:
    """`"A, B and C"` -> (A, B, C); a list cut short with `et al.` keeps it as its last element."""
    text = collapse(text)
    et_al = text.endswith("et al.")
    text = text.removesuffix("et al.").strip().rstrip(",").strip()
    names = [name for name in re.split(r",\s*|\s+and\s+", text) if name]
    return tuple(names + ["et al."] if et_al else names)


def fetch_into(store: Store, papers: Iterable[Paper]) -> UpsertCounts:
    """Store papers from arXiv in batches, so an interrupted fetch keeps what it had and a rerun resumes."""
    counts = UpsertCounts()
    iterator = iter(papers)
    while batch := list(islice(iterator, BATCH)):
        counts.add(store.upsert(batch))
    return counts


def fetch_day(client: Client, categories: list[str], day: date | None,
              on_page: Callable[[int, int], None] | None = None) -> Iterator[Paper]:
    """Today's listing from the RSS feed, or a past day through the API's submittedDate range."""
    if day is None:
        yield from client.listing(categories).papers
    else:
        yield from client.submitted_on(categories, day, on_page=on_page)


def _parse_lines(path: Path, report: IngestReport) -> Iterator[Paper]:
    with _open(path) as handle:
        try:
            for number, raw in enumerate(handle, start=1):
                report.lines = number
                if raw.strip():
                    paper = _parse_line(raw, number, report)
                    if paper is not None:
                        yield paper
        except (EOFError, gzip.BadGzipFile, OSError) as error:
            raise InputFileError(f"{path}: unreadable after line {report.lines} ({error})") from None


def _parse_line(raw: bytes, number: int, report: IngestReport) -> Paper | None:
    try:
        record = json.loads(raw.decode("utf-8"))
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
        return snapshot_paper(record)
    except (ValueError, SemdigestError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        report.bad.append(BadLine(number, str(error).splitlines()[0][:200]))
        return None


def _open(path: Path) -> IO[bytes]:
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rb")
        return open(path, "rb")
    except OSError as error:
        raise InputFileError(f"cannot read {path}: {error.strerror or error}") from None


def _version_number(entry: dict) -> int | None:
    match = re.fullmatch(r"v(\d+)", str(entry.get("version", "")))
    return int(match[1]) if match else None


def _version_date(entry: dict) -> str | None:
    try:
        return parsedate_to_datetime(entry["created"]).isoformat()
    except (KeyError, TypeError, ValueError):
        return None


def _optional(value: object) -> str | None:
    return collapse(value) if isinstance(value, str) and value.strip() else None
