"""The seen-history as a text file: one JSON object a line, sorted, so that a repository can keep it (and
diff it) while the store it comes from lives in a cache that may be evicted.

    {"topic": "LLM", "paper": "2508.09958", "day": "2025-08-18", "score": 0.997, "reason": "keywords ..."}

Importing merges: a paper keeps the earliest day any digest showed it, so importing twice, or importing
into a store that has part of the history already, changes nothing.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

from ..errors import InputFileError, SemdigestError
from ..files import atomic_write_text
from ..sources.ids import parse_id
from ..store import Store
from .reports import HistoryReport

Row = tuple[str, str, date, float, str]


def export_history(store: Store, path: Path) -> HistoryReport:
    rows = store.all_shown()
    lines = [
        json.dumps(
            {"topic": topic, "paper": paper, "day": day.isoformat(), "score": round(score, 6), "reason": reason},
            ensure_ascii=False,
        )
        for topic, paper, day, score, reason in rows
    ]
    atomic_write_text(path, "".join(f"{line}\n" for line in lines))
    return HistoryReport(path, len(rows))


def import_history(store: Store, path: Path) -> HistoryReport:
    """All rows of the file or none: a bad line is an error naming it, and nothing is imported."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InputFileError(f"cannot read {path}: {reason}") from None
    rows = [_row(path, number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    return HistoryReport(path, len(rows), store.add_shown(rows))


def _row(path: Path, number: int, line: str) -> Row:
    where = f"{path}, line {number}"
    try:
        record = json.loads(line)
    except ValueError as error:
        raise InputFileError(f"{where}: not JSON ({error})") from None
    if not isinstance(record, dict) or set(record) != {"topic", "paper", "day", "score", "reason"}:
        raise InputFileError(f"{where}: expected an object with topic, paper, day, score and reason")
    topic, paper, day, score, reason = (record[key] for key in ("topic", "paper", "day", "score", "reason"))
    if not isinstance(topic, str) or not topic.strip() or not isinstance(reason, str):
        raise InputFileError(f"{where}: topic and reason must be text")
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise InputFileError(f"{where}: score must be a number, not {score!r}")
    try:
        canonical = parse_id(str(paper)).id
    except SemdigestError:
        raise InputFileError(f"{where}: {str(paper)[:40]!r} is not an arXiv id") from None
    return topic, canonical, _day(where, day), float(score), reason


def _day(where: str, value: object) -> date:
    """Only `YYYY-MM-DD`: a day from a file must never become part of a path as anything else."""
    try:
        if isinstance(value, str) and len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise InputFileError(f"{where}: day must be a YYYY-MM-DD date, not {str(value)[:40]!r}")
