"""Public-snapshot JSONL files (the Kaggle/OAI arXiv metadata format), streamed as Papers; bad lines are
counted with their numbers, never fatal."""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import re
import signal
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from email.utils import parsedate_to_datetime
from importlib.resources import files
from pathlib import Path
from typing import IO

from ..errors import InputFileError, SemdigestError
from ..paper import Paper, collapse
from .ids import parse_id
from .limits import RAW_LIMITS, cut_raw

EMBEDDED_DAY = "day-2025-08-18.jsonl"  # 367 real papers of one listing day, shipped for the demo
SEED_TOPICS = "seed-topics.json"  # the keyword digest's topics, which the demo imports
NOT_A_SNAPSHOT = 20  # bad lines before any paper that make a file "not a snapshot"
BLOCK = 1_000  # lines parsed at a time: ~2 MB of the public snapshot
PARALLEL_FROM = 32 << 20  # bytes of a file worth parsing in worker processes (~16,000 papers)
MAX_WORKERS = 4
AHEAD = 6  # blocks in flight: the workers parse on while the writer commits a batch
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# "Mon, 2 Apr 2007 19:18:42 GMT": how every version date of the public snapshot is written
_GMT = re.compile(
    r"[A-Z][a-z]{2}, (?P<day>\d{1,2}) (?P<month>[A-Z][a-z]{2}) (?P<year>\d{4})"
    r" (?P<time>(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d) GMT"
)
_MONTHS = {name: number for number, name in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str


@dataclass(frozen=True)
class CutLine:
    line: int
    paper_id: str
    cuts: tuple[str, ...]  # `abstract 50000000 -> 20000 characters`


@dataclass
class SnapshotReading:
    """What reading a snapshot found besides its papers: the lines read and the bad ones."""

    bad: list[BadLine] = field(default_factory=list)
    lines: int = 0
    cut: list[CutLine] = field(default_factory=list)  # lines whose fields were over their size limits


def read_snapshot(path: Path, reading: SnapshotReading) -> Iterator[Paper]:
    """The papers of a `.jsonl` / `.jsonl.gz` snapshot, streamed; bad lines are noted in `reading`.

    A file none of whose first NOT_A_SNAPSHOT lines is a paper (a binary file, another JSON format) is
    an InputFileError, not an ingest of nothing with hundreds of bad lines. A large file is parsed by worker
    processes, a block of lines each, while this process stores what they parsed (`_parsed`)."""
    papers = 0
    with _open(path) as handle:
        for parsed in _parsed(_blocks(handle, path), workers=_workers(path)):
            reading.lines = parsed.last
            reading.cut.extend(parsed.cut)
            if not papers and not parsed.papers and len(reading.bad) + len(parsed.bad) >= NOT_A_SNAPSHOT:
                reading.bad.extend(parsed.bad[: NOT_A_SNAPSHOT - len(reading.bad)])
                reading.lines = reading.bad[-1].line
                break
            reading.bad.extend(parsed.bad)
            papers += len(parsed.papers)
            yield from parsed.papers
    if reading.bad and not papers:
        first = reading.bad[0]
        raise InputFileError(
            f"{path} is not an arXiv metadata snapshot: none of its first {len(reading.bad)} records is a paper"
            f" (line {first.line}: {first.reason})"
        )


@dataclass(frozen=True)
class _Block:
    first: int  # the number of its first line
    lines: list[bytes]


@dataclass(frozen=True)
class _Parsed:
    last: int  # the number of the block's last line
    papers: list[Paper]
    bad: list[BadLine]
    cut: list[CutLine]


def _blocks(handle: IO[bytes], path: Path) -> Iterator[_Block]:
    """The file's lines, BLOCK at a time; a file that cannot be read to its end (a truncated .gz) gives the
    lines before the damage, then an InputFileError."""
    number, lines = 1, []
    try:
        for raw in handle:
            lines.append(raw)
            if len(lines) == BLOCK:
                yield _Block(number, lines)
                number, lines = number + BLOCK, []
    except (EOFError, gzip.BadGzipFile, OSError) as error:
        yield _Block(number, lines)
        raise InputFileError(f"{path}: unreadable after line {number + len(lines) - 1} ({error})") from None
    yield _Block(number, lines)


def _parsed(blocks: Iterator[_Block], workers: int) -> Iterator[_Parsed]:
    """Each block parsed, in file order: here, or by `workers` processes with a few blocks in flight (a bounded
    window: Executor.map would read the whole file ahead). What was read before a read error comes out first."""
    if not workers:
        yield from map(_parse_block, blocks)
        return
    context = multiprocessing.get_context("forkserver")  # no copy of the store's connection in the workers
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_ignore_interrupts)
    pending: deque[Future[_Parsed]] = deque()
    try:
        try:
            for block in blocks:
                pending.append(pool.submit(_parse_block, block))
                if len(pending) > AHEAD:
                    yield pending.popleft().result()
        except InputFileError:
            while pending:
                yield pending.popleft().result()
            raise
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(cancel_futures=True)


def _parse_block(block: _Block) -> _Parsed:
    parsed = _Parsed(block.first + len(block.lines) - 1, [], [], [])
    for number, raw in enumerate(block.lines, start=block.first):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            cuts: list[str] = []
            paper = snapshot_paper(record, cuts)
            if cuts:
                parsed.cut.append(CutLine(number, paper.id, tuple(cuts)))
            parsed.papers.append(paper)
        except (ValueError, SemdigestError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            parsed.bad.append(BadLine(number, str(error).splitlines()[0][:200]))
    return parsed


def is_large(path: Path) -> bool:
    """A regular file of PARALLEL_FROM bytes or more (a FIFO or a pipe has no size: its lines come as written)."""
    try:
        return path.stat().st_size >= PARALLEL_FROM
    except OSError:
        return False


def _workers(path: Path) -> int:
    """Worker processes for a file: none for a small one (a day's papers: starting them costs more)."""
    return min(MAX_WORKERS, os.cpu_count() or 1) if is_large(path) else 0


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the writer's to handle: no traceback per worker


def snapshot_paper(record: dict, cuts: list[str] | None = None) -> Paper:
    """A Paper from one record of the public arXiv metadata snapshot (Kaggle/OAI field names); ValueError
    for a record whose fields are not what the snapshot holds. Fields over their size limit are cut and
    the cuts noted in `cuts`."""
    record = checked_record(record, [] if cuts is None else cuts)
    arxiv_id = parse_id(record["id"])
    versions = record["versions"]
    version = _version_number(versions[-1]) if versions else arxiv_id.version
    listed = _day(record.get("update_date"))
    return Paper(
        id=arxiv_id.id,
        title=record["title"],
        abstract=record["abstract"],
        authors=split_authors(record.get("authors") or ""),
        categories=tuple((record.get("categories") or "").split()),
        version=version,
        published=_version_date(versions[0]) if versions else None,
        updated=_version_date(versions[-1]) if versions else (listed.isoformat() if listed else None),
        listed=listed,
        comment=_optional(record.get("comment")),
        journal_ref=_optional(record.get("journal_ref")),
        doi=(_optional(record.get("doi")) or "").split(" ")[0] or None,
    )


# the snapshot's text fields, and the Paper fields they become
_REQUIRED = {"id": "id", "title": "title", "abstract": "abstract"}
_OPTIONAL = {
    "authors": "authors",
    "categories": "categories",
    "comments": "comment",
    "journal-ref": "journal_ref",
    "doi": "doi",
    "update_date": "update_date",
}


def checked_record(record: dict, cuts: list[str]) -> dict:
    """One snapshot record, validated: the fields semdigest reads (by Paper name), each of the type the
    snapshot gives it and cut to its size limit; ValueError naming the first field that is not.

    A field of the wrong type (`authors` a JSON list, `categories` a number, `versions` a string) makes its
    line a bad line; before, it raised out of the reader and stopped the ingest, losing the whole batch."""
    checked: dict = {}
    for source, name in (*_REQUIRED.items(), *_OPTIONAL.items()):
        value = record.get(source)
        if value is None and source not in _REQUIRED:
            continue
        if not isinstance(value, str):
            raise ValueError(f"{'missing or non-text' if source in _REQUIRED else 'non-text'} field {source!r}")
        checked[name] = cut_raw(name, value, cuts) if name in RAW_LIMITS else value
    versions = record.get("versions") or []
    if not isinstance(versions, list) or not all(isinstance(entry, dict) for entry in versions):
        raise ValueError("field 'versions' is not a list of {version, created} objects")
    checked["versions"] = versions
    return checked


def embedded_data(name: str = EMBEDDED_DAY) -> Path:
    """A file of the default data shipped inside the package."""
    return Path(str(files("semdigest") / "data" / name))


def split_authors(text: str) -> tuple[str, ...]:
    """`"A, B and C"` (or `"A, B, and C"`) -> (A, B, C); a list cut short with `et al.` keeps it as its last element."""
    text = collapse(text)
    et_al = text.endswith("et al.")
    text = text.removesuffix("et al.").strip().rstrip(",").strip()
    names = [name for name in re.split(r",\s*(?:and\s+)?|\s+and\s+", text) if name]
    return tuple(names + ["et al."] if et_al else names)


def _day(value: object) -> date | None:
    """The listing day: YYYY-MM-DD or absent; anything else is a bad line (it would name output folders)."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, str) and _DAY.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise ValueError(f"update_date is not a YYYY-MM-DD day: {str(value)[:40]!r}")


def _open(path: Path) -> IO[bytes]:
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rb")  # type: ignore[return-value]  # a GzipFile is a binary file
        return open(path, "rb")
    except OSError as error:
        raise InputFileError(f"cannot read {path}: {error.strerror or error}") from None


def _version_number(entry: dict) -> int | None:
    match = re.fullmatch(r"v(\d+)", str(entry.get("version", "")))
    return int(match[1]) if match else None


def _version_date(entry: dict) -> str | None:
    try:
        created = entry["created"]
        if (match := _GMT.fullmatch(created)) and (month := _MONTHS.get(match["month"])):
            # the snapshot's one form, read 7x faster than parsedate_to_datetime (a third of ingest's time)
            day = date(int(match["year"]), month, int(match["day"]))
            return f"{day.isoformat()}T{match['time']}+00:00"
        return parsedate_to_datetime(created).isoformat()
    except (KeyError, TypeError, ValueError):
        return None


def _optional(value: object) -> str | None:
    return collapse(value) if isinstance(value, str) and value.strip() else None
